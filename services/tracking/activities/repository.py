"""Activities' storage. SQL stays here; callers get domain objects back.

Series and route points are written set-based: one INSERT ... SELECT FROM unnest(arrays) per
list, whatever its length, and replaced whole on update.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import bindparam, delete, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.tracking.activities.domain import (
    Activity, ActivityFields, ActivityFilter, HeartRatePoint, HeartRateSummary, RoutePoint, Weather,
)
from services.tracking.activities.tables import ActivityHeartRatePointRow, ActivityRoutePointRow, ActivityRow
from services.tracking.imports import ACCEPTED, ImportOutcome, merge_in_order
from services.tracking.outbox import ACTIVITY, record_in

A = ActivityRow.__table__
H = ActivityHeartRatePointRow.__table__
R = ActivityRoutePointRow.__table__

Cursor = tuple[dt.datetime, uuid.UUID]  # (start_time, id) of the last activity of a page
# What to make of an activity sent again (stored, incoming): the activity to store instead of the
# stored one, or the outcome when there is nothing to store (DUPLICATE, REJECTED).
Merge = Callable[[Activity, Activity], "Activity | ImportOutcome"]


class ActivityRepository(Protocol):
    async def create(self, activity: Activity, request_id: str | None) -> Activity:
        """Stores the activity; with a request_id this user already used, returns that first one."""
        ...

    async def create_many(self, activities: list[tuple[Activity, str]], merge: Merge) -> list[ImportOutcome]:
        """Stores those whose request id is new (ACCEPTED); one whose request id was used before
        goes through merge with the stored activity of that request id (UPDATED when merge gives
        an activity to store). Per item, its outcome."""
        ...

    async def get(self, user_id: uuid.UUID, activity_id: uuid.UUID, full: bool) -> Activity | None: ...

    async def list(self, user_id: uuid.UUID, where: ActivityFilter, limit: int, after: Cursor | None,
                   full: bool) -> list[Activity]:
        """Newest start_time first (then id), strictly after the cursor."""
        ...

    async def update(self, activity: Activity, replace_series: bool, replace_route: bool) -> Activity | None: ...

    async def delete(self, user_id: uuid.UUID, activity_id: uuid.UUID) -> bool: ...


def _values(a: Activity) -> dict:
    f, hr, s, w = a.fields, a.fields.heart_rate, a.series_summary, a.fields.weather
    return dict(
        type=f.type, display_name=f.display_name, start_time=f.start_time, end_time=f.end_time,
        utc_offset_minutes=f.utc_offset_minutes or 0, duration_seconds=f.duration_seconds,
        distance_meters=f.distance_meters, active_energy_kcal=f.active_energy_kcal,
        total_energy_kcal=f.total_energy_kcal, steps=f.steps, elevation_ascent_meters=f.elevation_ascent_meters,
        elevation_descent_meters=f.elevation_descent_meters, pace_seconds_per_km=f.pace_seconds_per_km,
        speed_meters_per_second=f.speed_meters_per_second,
        hr_min_bpm=hr.min_bpm, hr_avg_bpm=hr.avg_bpm, hr_max_bpm=hr.max_bpm,
        series_min_bpm=s.min_bpm, series_avg_bpm=s.avg_bpm, series_max_bpm=s.max_bpm, indoor=f.indoor,
        weather_temperature_celsius=w.temperature_celsius if w else None,
        weather_humidity_percent=w.humidity_percent if w else None,
        weather_conditions=w.conditions if w else None,
        notes=f.notes, source=f.source, update_time=a.update_time,
    )


def _span(a: Activity) -> tuple[dt.datetime, dt.datetime]:
    return a.fields.start_time, a.fields.end_time


def _activity(row, series: tuple[HeartRatePoint, ...] = (), route: tuple[RoutePoint, ...] = (),
              full: bool = False) -> Activity:
    weather = None if row.weather_conditions is None else Weather(
        row.weather_temperature_celsius, row.weather_humidity_percent, row.weather_conditions)
    fields = ActivityFields(
        type=row.type, display_name=row.display_name, start_time=row.start_time, end_time=row.end_time,
        utc_offset_minutes=row.utc_offset_minutes, duration_seconds=row.duration_seconds,
        distance_meters=row.distance_meters, active_energy_kcal=row.active_energy_kcal,
        total_energy_kcal=row.total_energy_kcal, steps=row.steps,
        elevation_ascent_meters=row.elevation_ascent_meters, elevation_descent_meters=row.elevation_descent_meters,
        pace_seconds_per_km=row.pace_seconds_per_km, speed_meters_per_second=row.speed_meters_per_second,
        heart_rate=HeartRateSummary(row.hr_min_bpm, row.hr_avg_bpm, row.hr_max_bpm),
        heart_rate_series=series, route=route, indoor=row.indoor, weather=weather, notes=row.notes,
        source=row.source,
    )
    return Activity(row.id, row.user_id, fields,
                    HeartRateSummary(row.series_min_bpm, row.series_avg_bpm, row.series_max_bpm),
                    row.create_time, row.update_time, full)


_INSERT_SERIES = text(
    "INSERT INTO tracking.activity_heart_rate_points (user_id, activity_id, idx, time, bpm, min_bpm, max_bpm)"
    " SELECT CAST(:user_id AS uuid), p.*"
    " FROM unnest(CAST(:activity_id AS uuid[]), CAST(:idx AS integer[]), CAST(:time AS timestamptz[]),"
    "             CAST(:bpm AS float8[]), CAST(:min_bpm AS float8[]), CAST(:max_bpm AS float8[])) AS p")

_INSERT_ROUTE = text(
    "INSERT INTO tracking.activity_route_points (user_id, activity_id, idx, time, latitude, longitude,"
    " altitude_meters, speed_meters_per_second, course_degrees, horizontal_accuracy_meters,"
    " vertical_accuracy_meters)"
    " SELECT CAST(:user_id AS uuid), p.*"
    " FROM unnest(CAST(:activity_id AS uuid[]), CAST(:idx AS integer[]), CAST(:time AS timestamptz[]),"
    "             CAST(:latitude AS float8[]), CAST(:longitude AS float8[]), CAST(:altitude AS float8[]),"
    "             CAST(:speed AS float8[]), CAST(:course AS float8[]), CAST(:hacc AS float8[]),"
    "             CAST(:vacc AS float8[])) AS p")


def _owned(activities: list[Activity], points_of) -> tuple[list[uuid.UUID], list[int], list]:
    """(activity id, index, point) of every point of these activities, as three columns."""
    ids, idx, points = [], [], []
    for a in activities:
        mine = points_of(a)
        ids += [a.id] * len(mine)
        idx += range(len(mine))
        points += mine
    return ids, idx, points


async def _write_series(conn: AsyncConnection, activities: list[Activity]) -> None:
    ids, idx, points = _owned(activities, lambda a: a.fields.heart_rate_series)
    if points:
        await conn.execute(_INSERT_SERIES, dict(
            user_id=activities[0].user_id, activity_id=ids, idx=idx, time=[p.time for p in points],
            bpm=[p.bpm for p in points], min_bpm=[p.min_bpm for p in points], max_bpm=[p.max_bpm for p in points]))


async def _write_route(conn: AsyncConnection, activities: list[Activity]) -> None:
    ids, idx, points = _owned(activities, lambda a: a.fields.route)
    if points:
        await conn.execute(_INSERT_ROUTE, dict(
            user_id=activities[0].user_id, activity_id=ids, idx=idx, time=[p.time for p in points],
            latitude=[p.latitude for p in points], longitude=[p.longitude for p in points],
            altitude=[p.altitude_meters for p in points], speed=[p.speed_meters_per_second for p in points],
            course=[p.course_degrees for p in points], hacc=[p.horizontal_accuracy_meters for p in points],
            vacc=[p.vertical_accuracy_meters for p in points]))


async def _children(conn: AsyncConnection, user_id: uuid.UUID, ids: list[uuid.UUID]):
    """Series and route of several activities, two queries whatever their number."""
    series: dict[uuid.UUID, list[HeartRatePoint]] = defaultdict(list)
    route: dict[uuid.UUID, list[RoutePoint]] = defaultdict(list)
    if not ids:
        return series, route
    for r in await conn.execute(select(H).where(H.c.user_id == user_id, H.c.activity_id.in_(ids))
                                .order_by(H.c.activity_id, H.c.idx)):
        series[r.activity_id].append(HeartRatePoint(r.time, r.bpm, r.min_bpm, r.max_bpm))
    for r in await conn.execute(select(R).where(R.c.user_id == user_id, R.c.activity_id.in_(ids))
                                .order_by(R.c.activity_id, R.c.idx)):
        route[r.activity_id].append(RoutePoint(
            r.time, r.latitude, r.longitude, r.altitude_meters, r.speed_meters_per_second, r.course_degrees,
            r.horizontal_accuracy_meters, r.vertical_accuracy_meters))
    return series, route


class SqlActivityRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, activity: Activity, request_id: str | None) -> Activity:
        values = _values(activity) | dict(user_id=activity.user_id, id=activity.id, request_id=request_id,
                                          create_time=activity.create_time)
        async with self._engine.begin() as conn:
            # ON CONFLICT on (user_id, request_id): of two concurrent retries only one inserts.
            row = (await conn.execute(
                pg_insert(A).values(**values).on_conflict_do_nothing(constraint="uq_activities_user_id_request_id")
                .returning(A.c.id))).one_or_none()
            if row is None:
                first = (await conn.execute(select(A.c.id).where(
                    A.c.user_id == activity.user_id, A.c.request_id == request_id))).scalar_one()
                found = await self._get(conn, activity.user_id, first, True)
                assert found is not None
                return found
            await _write_series(conn, [activity])
            await _write_route(conn, [activity])
            await record_in(conn, activity.user_id, ACTIVITY, [_span(activity)])
        return activity

    async def create_many(self, activities: list[tuple[Activity, str]], merge: Merge) -> list[ImportOutcome]:
        """Stores, in one transaction, the activities (of one user) whose request id is new, and
        merges each one whose request id was used before into the activity stored under it."""
        rows = [_values(a) | dict(user_id=a.user_id, id=a.id, request_id=request_id, create_time=a.create_time)
                for a, request_id in activities]
        rows.sort(key=lambda row: row["request_id"])  # one lock order for every writer: no deadlock
        async with self._engine.begin() as conn:
            # Many parameter sets to one statement: compiled once and cached (a multi-row VALUES
            # would be compiled anew for every call), sent as multi-row inserts all the same.
            stored = set((await conn.execute(
                pg_insert(A).on_conflict_do_nothing(constraint="uq_activities_user_id_request_id").returning(A.c.id),
                rows)).scalars())
            new = [a for a, _ in activities if a.id in stored]
            await _write_series(conn, new)
            await _write_route(conn, new)
            outcomes: list[ImportOutcome | None] = [ACCEPTED if a.id in stored else None for a, _ in activities]
            again = [(i, a, request_id) for i, (a, request_id) in enumerate(activities) if a.id not in stored]
            spans = [_span(a) for a in new]
            if again:
                # A changed activity is told to the outbox with its old times and its new ones.
                spans += [span for old, now in await self._merge(conn, again, merge, outcomes)
                          for span in (_span(old), _span(now))]
            if spans:
                await record_in(conn, activities[0][0].user_id, ACTIVITY, spans)
        return [o or ImportOutcome("REJECTED", "no stored record of its request id") for o in outcomes]

    async def _merge(self, conn: AsyncConnection, again: list[tuple[int, Activity, str]], merge: Merge,
                     outcomes: list[ImportOutcome | None]) -> list[tuple[Activity, Activity]]:
        """Merges each (index, activity, request id) into the activity stored under its request id
        (locked, so two imports of one workout merge one after the other) and writes those that
        changed, row and points. Returns (as stored before, as stored now) of each one written."""
        user_id = again[0][1].user_id
        found = (await conn.execute(
            select(A).where(A.c.user_id == user_id, A.c.request_id.in_(sorted({r for _, _, r in again})))
            .order_by(A.c.request_id).with_for_update())).all()
        series, route = await _children(conn, user_id, [r.id for r in found])
        current = {r.request_id: _activity(r, tuple(series[r.id]), tuple(route[r.id]), True) for r in found}
        changed = merge_in_order(current, again, merge, outcomes)
        if changed:
            ids = [a.id for _, a in changed]
            await conn.execute(
                update(A).where(A.c.user_id == bindparam("key_user_id"), A.c.id == bindparam("key_id")),
                [_values(a) | dict(key_user_id=a.user_id, key_id=a.id) for _, a in changed])
            await conn.execute(delete(H).where(H.c.user_id == user_id, H.c.activity_id.in_(ids)))
            await conn.execute(delete(R).where(R.c.user_id == user_id, R.c.activity_id.in_(ids)))
            await _write_series(conn, [a for _, a in changed])
            await _write_route(conn, [a for _, a in changed])
        return changed

    async def get(self, user_id: uuid.UUID, activity_id: uuid.UUID, full: bool) -> Activity | None:
        async with self._engine.connect() as conn:
            return await self._get(conn, user_id, activity_id, full)

    async def _get(self, conn: AsyncConnection, user_id: uuid.UUID, activity_id: uuid.UUID,
                   full: bool) -> Activity | None:
        row = (await conn.execute(select(A).where(A.c.user_id == user_id, A.c.id == activity_id))).one_or_none()
        if row is None:
            return None
        if not full:
            return _activity(row)
        series, route = await _children(conn, user_id, [row.id])
        return _activity(row, tuple(series[row.id]), tuple(route[row.id]), True)

    async def list(self, user_id: uuid.UUID, where: ActivityFilter, limit: int, after: Cursor | None,
                   full: bool) -> list[Activity]:
        query = select(A).where(A.c.user_id == user_id)
        if where.type:
            query = query.where(A.c.type == where.type)
        if where.source:
            query = query.where(A.c.source == where.source)
        if where.start_time is not None:
            query = query.where(A.c.start_time >= where.start_time)
        if where.end_time is not None:
            query = query.where(A.c.start_time < where.end_time)
        if after is not None:
            query = query.where(tuple_(A.c.start_time, A.c.id) < tuple_(*after))
        query = query.order_by(A.c.start_time.desc(), A.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            if not full:
                return [_activity(r) for r in rows]
            series, route = await _children(conn, user_id, [r.id for r in rows])
        return [_activity(r, tuple(series[r.id]), tuple(route[r.id]), True) for r in rows]

    async def update(self, activity: Activity, replace_series: bool, replace_route: bool) -> Activity | None:
        key = (A.c.user_id == activity.user_id, A.c.id == activity.id)
        old = A.alias("old")  # the row as it was: the outbox names the old times and the new
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                update(A).where(*key, old.c.user_id == A.c.user_id, old.c.id == A.c.id)
                .values(**_values(activity)).returning(old.c.start_time, old.c.end_time))).one_or_none()
            if row is None:
                return None
            await record_in(conn, activity.user_id, ACTIVITY, [(row.start_time, row.end_time), _span(activity)])
            if replace_series:
                await conn.execute(delete(H).where(H.c.user_id == activity.user_id, H.c.activity_id == activity.id))
                await _write_series(conn, [activity])
            if replace_route:
                await conn.execute(delete(R).where(R.c.user_id == activity.user_id, R.c.activity_id == activity.id))
                await _write_route(conn, [activity])
            return await self._get(conn, activity.user_id, activity.id, True)

    async def delete(self, user_id: uuid.UUID, activity_id: uuid.UUID) -> bool:
        # Series and route go with it (ON DELETE CASCADE).
        async with self._engine.begin() as conn:
            row = (await conn.execute(delete(A).where(A.c.user_id == user_id, A.c.id == activity_id)
                                      .returning(A.c.start_time, A.c.end_time))).one_or_none()
            if row is not None:
                await record_in(conn, user_id, ACTIVITY, [(row.start_time, row.end_time)])
        return row is not None
