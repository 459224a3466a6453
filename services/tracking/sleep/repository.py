"""Sleep's storage. SQL stays here; callers get domain objects back.

Stages are written set-based (one INSERT ... SELECT FROM unnest(arrays)) and replaced whole.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import bindparam, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.tracking.imports import ACCEPTED, ImportOutcome, merge_in_order
from services.tracking.outbox import SLEEP_ASLEEP, record_in
from services.tracking.sleep.domain import SleepFields, SleepFilter, SleepSession, StagePeriod
from services.tracking.sleep.tables import SleepSessionRow, SleepStageRow

S = SleepSessionRow.__table__
T = SleepStageRow.__table__

Cursor = tuple[dt.datetime, uuid.UUID]  # (end_time, id) of the last session of a page
# What to make of a session sent again (stored, incoming): the session to store instead of the
# stored one, or the outcome when there is nothing to store (DUPLICATE, REJECTED).
Merge = Callable[[SleepSession, SleepSession], "SleepSession | ImportOutcome"]


class SleepRepository(Protocol):
    async def create(self, session: SleepSession, request_id: str | None) -> SleepSession:
        """Stores the session; with a request_id this user already used, returns that first one."""
        ...

    async def create_many(self, sessions: list[tuple[SleepSession, str]], merge: Merge) -> list[ImportOutcome]:
        """Stores those whose request id is new (ACCEPTED); one whose request id was used before
        goes through merge with the stored session of that request id (UPDATED when merge gives a
        session to store). Per item, its outcome."""
        ...

    async def get(self, user_id: uuid.UUID, session_id: uuid.UUID) -> SleepSession | None: ...

    async def list(self, user_id: uuid.UUID, where: SleepFilter, limit: int,
                   after: Cursor | None) -> list[SleepSession]:
        """Newest end_time first (then id), strictly after the cursor, with their stages."""
        ...

    async def update(self, session: SleepSession, replace_stages: bool) -> SleepSession | None: ...

    async def delete(self, user_id: uuid.UUID, session_id: uuid.UUID) -> bool: ...

    async def asleep_by_night(self, user_id: uuid.UUID, first: dt.date, last: dt.date) -> dict[dt.date, int]:
        """Seconds asleep per local date (sessions ending that date), for dates in [first, last]."""
        ...


def _values(s: SleepSession) -> dict:
    f = s.fields
    return dict(start_time=f.start_time, end_time=f.end_time, utc_offset_minutes=f.utc_offset_minutes or 0,
                local_date=s.local_date, time_in_bed_seconds=s.figures.time_in_bed_seconds,
                asleep_seconds=s.figures.asleep_seconds, score=f.score, notes=f.notes, source=f.source,
                reported_time_in_bed_seconds=f.reported_time_in_bed_seconds,
                reported_asleep_seconds=f.reported_asleep_seconds, update_time=s.update_time)


def _span(s: SleepSession) -> tuple[dt.datetime, dt.datetime]:
    return s.fields.start_time, s.fields.end_time


def _session(row, stages: list[StagePeriod]) -> SleepSession:
    fields = SleepFields(row.start_time, row.end_time, row.utc_offset_minutes, tuple(stages), row.score,
                         row.notes, row.source, row.reported_time_in_bed_seconds, row.reported_asleep_seconds)
    return SleepSession(row.id, row.user_id, fields, row.create_time, row.update_time)


_INSERT_STAGES = text(
    "INSERT INTO tracking.sleep_stages (user_id, sleep_session_id, idx, stage, start_time, end_time)"
    " SELECT CAST(:user_id AS uuid), p.*"
    " FROM unnest(CAST(:session_id AS uuid[]), CAST(:idx AS integer[]), CAST(:stage AS smallint[]),"
    "             CAST(:start AS timestamptz[]), CAST(:end AS timestamptz[])) AS p")


async def _write_stages(conn: AsyncConnection, sessions: list[SleepSession]) -> None:
    ids, idx, stages = [], [], []
    for s in sessions:
        ids += [s.id] * len(s.fields.stages)
        idx += range(len(s.fields.stages))
        stages += s.fields.stages
    if stages:
        await conn.execute(_INSERT_STAGES, dict(
            user_id=sessions[0].user_id, session_id=ids, idx=idx, stage=[int(p.stage) for p in stages],
            start=[p.start_time for p in stages], end=[p.end_time for p in stages]))


async def _with_stages(conn: AsyncConnection, user_id: uuid.UUID, rows) -> list[SleepSession]:
    """Sessions with their stages: one query for the stages of all of them."""
    stages: dict[uuid.UUID, list[StagePeriod]] = defaultdict(list)
    if rows:
        for r in await conn.execute(
                select(T).where(T.c.user_id == user_id, T.c.sleep_session_id.in_([r.id for r in rows]))
                .order_by(T.c.sleep_session_id, T.c.idx)):
            stages[r.sleep_session_id].append(StagePeriod(r.stage, r.start_time, r.end_time))
    return [_session(r, stages[r.id]) for r in rows]


class SqlSleepRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, session: SleepSession, request_id: str | None) -> SleepSession:
        values = _values(session) | dict(user_id=session.user_id, id=session.id, request_id=request_id,
                                         create_time=session.create_time)
        async with self._engine.begin() as conn:
            # ON CONFLICT on (user_id, request_id): of two concurrent retries only one inserts.
            row = (await conn.execute(
                pg_insert(S).values(**values)
                .on_conflict_do_nothing(constraint="uq_sleep_sessions_user_id_request_id")
                .returning(S.c.id))).one_or_none()
            if row is None:
                first = (await conn.execute(select(S).where(
                    S.c.user_id == session.user_id, S.c.request_id == request_id))).one()
                return (await _with_stages(conn, session.user_id, [first]))[0]
            await _write_stages(conn, [session])
            await record_in(conn, session.user_id, SLEEP_ASLEEP, [_span(session)])
        return session

    async def create_many(self, sessions: list[tuple[SleepSession, str]], merge: Merge) -> list[ImportOutcome]:
        """Stores, in one transaction, the sessions (of one user) whose request id is new, and
        merges each one whose request id was used before into the session stored under it."""
        rows = [_values(s) | dict(user_id=s.user_id, id=s.id, request_id=request_id, create_time=s.create_time)
                for s, request_id in sessions]
        rows.sort(key=lambda row: row["request_id"])  # one lock order for every writer: no deadlock
        async with self._engine.begin() as conn:
            # Many parameter sets to one statement: compiled once and cached (a multi-row VALUES
            # would be compiled anew for every call), sent as multi-row inserts all the same.
            stored = set((await conn.execute(
                pg_insert(S).on_conflict_do_nothing(constraint="uq_sleep_sessions_user_id_request_id")
                .returning(S.c.id), rows)).scalars())
            new = [s for s, _ in sessions if s.id in stored]
            await _write_stages(conn, new)
            outcomes: list[ImportOutcome | None] = [ACCEPTED if s.id in stored else None for s, _ in sessions]
            again = [(i, s, request_id) for i, (s, request_id) in enumerate(sessions) if s.id not in stored]
            spans = [_span(s) for s in new]
            if again:
                # A changed night is told to the outbox with its old times and its new ones.
                spans += [span for old, now in await self._merge(conn, again, merge, outcomes)
                          for span in (_span(old), _span(now))]
            if spans:
                await record_in(conn, sessions[0][0].user_id, SLEEP_ASLEEP, spans)
        return [o or ImportOutcome("REJECTED", "no stored record of its request id") for o in outcomes]

    async def _merge(self, conn: AsyncConnection, again: list[tuple[int, SleepSession, str]], merge: Merge,
                     outcomes: list[ImportOutcome | None]) -> list[tuple[SleepSession, SleepSession]]:
        """Merges each (index, session, request id) into the session stored under its request id
        (locked, so two imports of one night merge one after the other) and writes those that
        changed, row and stages. Returns (as stored before, as stored now) of each one written."""
        user_id = again[0][1].user_id
        found = (await conn.execute(
            select(S).where(S.c.user_id == user_id, S.c.request_id.in_(sorted({r for _, _, r in again})))
            .order_by(S.c.request_id).with_for_update())).all()
        current = {r.request_id: s for r, s in zip(found, await _with_stages(conn, user_id, found), strict=True)}
        changed = merge_in_order(current, again, merge, outcomes)
        if changed:
            await conn.execute(
                update(S).where(S.c.user_id == bindparam("key_user_id"), S.c.id == bindparam("key_id")),
                [_values(s) | dict(key_user_id=s.user_id, key_id=s.id) for _, s in changed])
            await conn.execute(delete(T).where(T.c.user_id == user_id,
                                               T.c.sleep_session_id.in_([s.id for _, s in changed])))
            await _write_stages(conn, [s for _, s in changed])
        return changed

    async def get(self, user_id: uuid.UUID, session_id: uuid.UUID) -> SleepSession | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(S).where(S.c.user_id == user_id, S.c.id == session_id))).one_or_none()
            return (await _with_stages(conn, user_id, [row]))[0] if row else None

    async def list(self, user_id: uuid.UUID, where: SleepFilter, limit: int,
                   after: Cursor | None) -> list[SleepSession]:
        query = select(S).where(S.c.user_id == user_id)
        if where.source:
            query = query.where(S.c.source == where.source)
        if where.start_time is not None:
            query = query.where(S.c.end_time >= where.start_time)
        if where.end_time is not None:
            query = query.where(S.c.end_time < where.end_time)
        if after is not None:
            query = query.where(tuple_(S.c.end_time, S.c.id) < tuple_(*after))
        query = query.order_by(S.c.end_time.desc(), S.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            return await _with_stages(conn, user_id, rows)

    async def update(self, session: SleepSession, replace_stages: bool) -> SleepSession | None:
        old = S.alias("old")  # the row as it was: the outbox names the old times and the new
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                update(S).where(S.c.user_id == session.user_id, S.c.id == session.id,
                                old.c.user_id == S.c.user_id, old.c.id == S.c.id)
                .values(**_values(session))
                .returning(*S.c, old.c.start_time.label("old_start"), old.c.end_time.label("old_end")))
                   ).one_or_none()
            if row is None:
                return None
            if replace_stages:
                await conn.execute(delete(T).where(T.c.user_id == session.user_id,
                                                   T.c.sleep_session_id == session.id))
                await _write_stages(conn, [session])
            await record_in(conn, session.user_id, SLEEP_ASLEEP,
                            [(row.old_start, row.old_end), (row.start_time, row.end_time)])
            return (await _with_stages(conn, session.user_id, [row]))[0]

    async def delete(self, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        # Stages go with it (ON DELETE CASCADE).
        async with self._engine.begin() as conn:
            row = (await conn.execute(delete(S).where(S.c.user_id == user_id, S.c.id == session_id)
                                      .returning(S.c.start_time, S.c.end_time))).one_or_none()
            if row is not None:
                await record_in(conn, user_id, SLEEP_ASLEEP, [(row.start_time, row.end_time)])
        return row is not None

    async def asleep_by_night(self, user_id: uuid.UUID, first: dt.date, last: dt.date) -> dict[dt.date, int]:
        query = (select(S.c.local_date, func.sum(S.c.asleep_seconds))
                 .where(S.c.user_id == user_id, S.c.local_date.between(first, last)).group_by(S.c.local_date))
        async with self._engine.connect() as conn:
            return {day: int(total) for day, total in await conn.execute(query)}
