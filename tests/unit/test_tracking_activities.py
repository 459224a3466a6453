"""Activities' rules and use cases against an in-memory repository and profiles."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.tracking import local_time
from services.tracking.activities import domain
from services.tracking.activities.domain import (
    Activity, ActivityFields, ActivityFilter, HeartRatePoint, HeartRateSummary, RoutePoint, Weather,
)
from services.tracking.activities.service import ActivityService
from services.tracking.ports import Profile

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 2, 28, 7, 0, tzinfo=dt.UTC)
USER = uuid.uuid4()


class FakeProfiles:
    def __init__(self, time_zone: str = "Europe/Paris") -> None:
        self.time_zone = time_zone
        self.calls = 0

    async def profile(self, user_id):
        self.calls += 1
        return Profile(None, "", self.time_zone)


class FakeActivityRepository:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], Activity] = {}
        self.requests: dict[tuple[uuid.UUID, str], uuid.UUID] = {}

    async def create(self, activity, request_id):
        if request_id and (activity.user_id, request_id) in self.requests:
            return self.rows[(activity.user_id, self.requests[(activity.user_id, request_id)])]
        self.rows[(activity.user_id, activity.id)] = activity
        if request_id:
            self.requests[(activity.user_id, request_id)] = activity.id
        return activity

    def _view(self, a: Activity, full: bool) -> Activity:
        if full:
            return a
        return dataclasses.replace(a, fields=dataclasses.replace(a.fields, heart_rate_series=(), route=()),
                                   full=False)

    async def get(self, user_id, activity_id, full):
        a = self.rows.get((user_id, activity_id))
        return self._view(a, full) if a else None

    async def list(self, user_id, where, limit, after, full):
        items = [a for (u, _), a in self.rows.items() if u == user_id
                 and (not where.type or a.fields.type == where.type)
                 and (not where.source or a.fields.source == where.source)
                 and (where.start_time is None or a.start_time >= where.start_time)
                 and (where.end_time is None or a.start_time < where.end_time)
                 and (after is None or (a.start_time, a.id) < after)]
        items.sort(key=lambda a: (a.start_time, a.id), reverse=True)
        return [self._view(a, full) for a in items[:limit]]

    async def update(self, activity, replace_series, replace_route):
        if (activity.user_id, activity.id) not in self.rows:
            return None
        self.rows[(activity.user_id, activity.id)] = activity
        return activity

    async def delete(self, user_id, activity_id):
        return self.rows.pop((user_id, activity_id), None) is not None


def run(**overrides) -> ActivityFields:
    values = dict(type="running", start_time=START, end_time=START + dt.timedelta(minutes=50),
                  distance_meters=10_000.0)
    values.update(overrides)
    return ActivityFields(**values)


@pytest.fixture
def profiles():
    return FakeProfiles()


@pytest.fixture
def service(profiles):
    return ActivityService(FakeActivityRepository(), profiles, lambda: NOW)


def fields_of(err: pytest.ExceptionInfo) -> set[str]:
    return {v.field for v in err.value.violations}


async def test_create_derives_duration_pace_speed_and_heart_rate(service):
    series = tuple(HeartRatePoint(START + dt.timedelta(minutes=i), bpm, None, bpm + 5 if i == 2 else None)
                   for i, bpm in enumerate([120.0, 150.0, 160.0]))
    a = await service.create(USER, run(heart_rate_series=series[::-1], heart_rate=HeartRateSummary(min_bpm=100)))
    assert a.duration_seconds == 3000 and a.pace_seconds_per_km == 300 and a.speed_meters_per_second == 10_000 / 3000
    assert a.heart_rate == HeartRateSummary(100, 143.3, 165)  # min as given, avg and max from the series
    assert [p.bpm for p in a.fields.heart_rate_series] == [120, 150, 160]  # stored oldest first


async def test_given_figures_win_over_derived_ones(service):
    a = await service.create(USER, run(duration_seconds=2400, pace_seconds_per_km=250.0))
    assert a.duration_seconds == 2400 and a.pace_seconds_per_km == 250 and a.speed_meters_per_second == 10_000 / 2400


async def test_missing_offset_comes_from_the_users_time_zone(service, profiles):
    a = await service.create(USER, run())
    assert a.fields.utc_offset_minutes == 60  # Paris in winter
    b = await service.create(USER, run(utc_offset_minutes=-300))
    assert b.fields.utc_offset_minutes == -300 and profiles.calls == 1


async def test_validation_names_every_bad_field(service):
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, run(
            type="quidditch", end_time=START - dt.timedelta(seconds=1), distance_meters=-1.0, steps=-5,
            display_name="x" * 201, utc_offset_minutes=2000, heart_rate=HeartRateSummary(150, 120, 140),
            weather=Weather(humidity_percent=120.0)))
    assert fields_of(err) == {
        "activity.type", "activity.end_time", "activity.distance_meters", "activity.steps",
        "activity.display_name", "activity.utc_offset_minutes", "activity.heart_rate",
        "activity.weather.humidity_percent"}


async def test_missing_required_fields(service):
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, ActivityFields())
    assert fields_of(err) == {"activity.type", "activity.start_time", "activity.end_time"}


async def test_activity_over_seven_days_and_duration_over_elapsed_are_rejected(service):
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, run(end_time=START + dt.timedelta(days=8)))
    assert fields_of(err) == {"activity.end_time"}
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, run(duration_seconds=4000))
    assert fields_of(err) == {"activity.duration_seconds"}


async def test_route_points_off_the_globe_or_outside_the_activity(service):
    route = (RoutePoint(START, 91.0, 0.0), RoutePoint(START, 0.0, -181.0),
             RoutePoint(START + dt.timedelta(hours=2), 48.8, 2.3), RoutePoint(START, 48.8, 2.3, course_degrees=400))
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, run(route=route))
    assert fields_of(err) == {"activity.route[0].latitude", "activity.route[1].longitude", "activity.route[2].time",
                              "activity.route[3].course_degrees"}


@pytest.mark.parametrize("accuracy", [float("nan"), float("inf"), -1.0])
async def test_a_route_point_accuracy_is_a_finite_number_not_negative(service, accuracy):
    route = (RoutePoint(START, 48.8, 2.3, horizontal_accuracy_meters=accuracy),
             RoutePoint(START, 48.8, 2.3, vertical_accuracy_meters=accuracy),
             RoutePoint(START, 48.8, 2.3, 0.0, 0.0, 0.0, 0.0, 0.0))  # zeros are fine
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, run(route=route))
    assert fields_of(err) == {"activity.route[0].horizontal_accuracy_meters",
                              "activity.route[1].vertical_accuracy_meters"}


async def test_too_many_points_is_one_violation(service):
    route = tuple(RoutePoint(START, 0.0, 0.0) for _ in range(domain.MAX_ROUTE_POINTS + 1))
    series = tuple(HeartRatePoint(START, 500.0) for _ in range(50))
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, run(route=route, heart_rate_series=series))
    violations = err.value.violations
    assert [v.field for v in violations if v.field == "activity.route"] == ["activity.route"]
    # 50 bad heart-rate points: ten listed, then one line for the rest.
    series_violations = [v for v in violations if v.field.startswith("activity.heart_rate_series")]
    assert len(series_violations) == 11 and "40 more" in series_violations[-1].description


async def test_request_id_makes_create_idempotent(service):
    rid = str(uuid.uuid4())
    first = await service.create(USER, run(), rid)
    again = await service.create(USER, run(distance_meters=1.0), rid)
    assert again.id == first.id and again.fields.distance_meters == 10_000
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, run(), "not-a-uuid")
    assert fields_of(err) == {"request_id"}


async def test_update_changes_only_masked_fields_and_derives_again(service):
    a = await service.create(USER, run(notes="easy", heart_rate_series=(HeartRatePoint(START, 130.0),)))
    patch = ActivityFields(distance_meters=5_000.0, notes="ignored", heart_rate=HeartRateSummary(max_bpm=190.0))
    b = await service.update(USER, a.id, patch, ["distance_meters", "heart_rate.max_bpm"])
    assert b.fields.notes == "easy" and b.pace_seconds_per_km == 600
    assert b.heart_rate == HeartRateSummary(130, 130, 190)
    c = await service.update(USER, a.id, ActivityFields(heart_rate_series=(HeartRatePoint(START, 100.0),)),
                             ["heart_rate_series"])
    assert c.heart_rate == HeartRateSummary(100, 100, 190)


async def test_update_mask_rules(service):
    a = await service.create(USER, run())
    for paths, field in ([[], "update_mask"], [["create_time"], "update_mask"], [["name"], "update_mask"],
                         [["colour"], "update_mask"]):
        with pytest.raises(InvalidArgument) as err:
            await service.update(USER, a.id, ActivityFields(), paths)
        assert fields_of(err) == {field}
    with pytest.raises(InvalidArgument) as err:  # the result is checked as a whole
        await service.update(USER, a.id, ActivityFields(end_time=START - dt.timedelta(minutes=1)), ["end_time"])
    assert fields_of(err) == {"activity.end_time"}
    with pytest.raises(NotFound):
        await service.update(USER, uuid.uuid4(), ActivityFields(notes="x"), ["notes"])


async def test_list_get_delete(service):
    created = [await service.create(USER, run(start_time=START + dt.timedelta(hours=i),
                                              end_time=START + dt.timedelta(hours=i, minutes=30),
                                              type="cycling" if i % 2 else "running"))
               for i in range(4)]
    assert [a.id for a in await service.list(USER, ActivityFilter(), 10, None)] == [a.id for a in created[::-1]]
    rides = await service.list(USER, ActivityFilter(type="cycling"), 10, None)
    assert [a.id for a in rides] == [created[3].id, created[1].id]
    with pytest.raises(InvalidArgument) as err:
        await service.list(USER, ActivityFilter(start_time=NOW, end_time=START), 10, None)
    assert fields_of(err) == {"end_time"}
    await service.delete(USER, created[0].id)
    with pytest.raises(NotFound):
        await service.get(USER, created[0].id)
    with pytest.raises(NotFound):
        await service.delete(USER, created[0].id)


def test_offset_minutes_handles_unknown_zones():
    assert local_time.offset_minutes("", NOW) == 0
    assert local_time.offset_minutes("Not/AZone", NOW) == 0
    assert local_time.offset_minutes("America/New_York", dt.datetime(2026, 7, 1, tzinfo=dt.UTC)) == -240
