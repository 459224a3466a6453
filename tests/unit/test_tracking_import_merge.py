"""A record imported again under its request id (issue 17, item 1): merged field by field, a field
sent replacing one that was not, one not sent kept; nothing new is a DUPLICATE."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from services.tracking.activities import domain as activities
from services.tracking.activities.domain import ActivityFields, HeartRatePoint, HeartRateSummary, RoutePoint, Weather
from services.tracking.activities.service import ActivityService
from services.tracking.imports import ImportOutcome
from services.tracking.ports import Profile
from services.tracking.sleep import domain as sleep
from services.tracking.sleep.domain import SleepFields, SleepStage, StagePeriod
from services.tracking.sleep.service import SleepService

T0 = dt.datetime(2026, 7, 10, 12, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
USER = uuid.UUID("00000000-0000-7000-8000-000000000001")
ROUTE = tuple(RoutePoint(T0 + i * 10 * MINUTE, 40.7 + i * 1e-3, -74.0) for i in range(5))


def walk(**fields) -> ActivityFields:
    return ActivityFields(type="walking", display_name="Outdoor Walk", start_time=T0, end_time=T0 + 45 * MINUTE,
                          utc_offset_minutes=-240, **fields)


def test_a_route_sent_first_is_kept_and_a_heart_rate_sent_second_is_added():
    first = walk(route=ROUTE)
    again = walk(heart_rate=HeartRateSummary(avg_bpm=112), distance_meters=4023.36, duration_seconds=2640)
    merged = activities.merge_import(first, again)
    assert merged.route == ROUTE
    assert merged.heart_rate == HeartRateSummary(avg_bpm=112)
    assert (merged.distance_meters, merged.duration_seconds) == (4023.36, 2640)
    assert activities.merge_import(again, first) == merged  # the other order: the same walk


def test_a_field_sent_with_another_value_replaces_it_and_leaves_merge_leaf_by_leaf():
    stored = walk(heart_rate=HeartRateSummary(min_bpm=90, avg_bpm=112), weather=Weather(21.0, None, "sunny"),
                  indoor=False, notes="park")
    again = walk(heart_rate=HeartRateSummary(avg_bpm=118, max_bpm=150), weather=Weather(None, 40.0, ""),
                 indoor=True)
    merged = activities.merge_import(stored, again)
    assert merged.heart_rate == HeartRateSummary(90, 118, 150)
    assert merged.weather == Weather(21.0, 40.0, "sunny")
    assert merged.indoor is True  # False is a value, replaced by the new one; not "not given"
    assert merged.notes == "park"
    assert activities.merge_import(merged, walk(indoor=False)).indoor is False


def test_the_same_content_or_less_merges_to_what_is_stored():
    stored = walk(route=ROUTE, heart_rate_series=(HeartRatePoint(T0, 100.0),), steps=4000, indoor=False)
    assert activities.merge_import(stored, stored) == stored
    assert activities.merge_import(stored, walk()) == stored
    assert activities.merge_import(stored, walk(steps=4001)) != stored


def test_a_night_keeps_its_stages_and_takes_the_totals_sent_later():
    stages = (StagePeriod(SleepStage.CORE, T0, T0 + 90 * MINUTE), StagePeriod(SleepStage.REM, T0 + 90 * MINUTE,
                                                                               T0 + 420 * MINUTE))
    first = SleepFields(T0, T0 + 420 * MINUTE, 60, stages, source="Watch")
    again = SleepFields(T0, T0 + 420 * MINUTE, 60, source="Watch", reported_asleep_seconds=24_000,
                        reported_time_in_bed_seconds=25_000, score=0)
    merged = sleep.merge_import(first, again)
    assert merged.stages == stages and merged.reported_asleep_seconds == 24_000 and merged.score == 0
    assert sleep.merge_import(merged, first) == merged and sleep.merge_import(merged, again) == merged


class Profiles:
    async def profile(self, user_id):
        return Profile(None, "", "")


class MergingRepository:
    """create_many as the SQL repositories do it: a request id used before goes through merge."""

    def __init__(self) -> None:
        self.by_request: dict[str, object] = {}

    async def create_many(self, items, merge):
        outcomes = []
        for record, request_id in items:
            stored = self.by_request.get(request_id)
            if stored is None:
                self.by_request[request_id] = record
                outcomes.append(ImportOutcome("ACCEPTED"))
                continue
            result = merge(stored, record)
            if isinstance(result, ImportOutcome):
                outcomes.append(result)
            else:
                self.by_request[request_id] = result
                outcomes.append(ImportOutcome("UPDATED"))
        return outcomes


@pytest.fixture
def repo():
    return MergingRepository()


async def test_activity_imports_are_accepted_updated_duplicate_or_rejected_when_the_merge_breaks(repo):
    service = ActivityService(repo, Profiles(), clock=lambda: NOW)
    rid = str(uuid.uuid4())
    outcomes = await service.create_many(USER, [
        (walk(route=ROUTE), rid), (walk(heart_rate=HeartRateSummary(avg_bpm=112)), rid), (walk(), rid),
        (dataclasses.replace(walk(), end_time=T0 + 20 * MINUTE), rid)])
    assert [o.outcome for o in outcomes] == ["ACCEPTED", "UPDATED", "DUPLICATE", "REJECTED"]
    assert "route" in outcomes[3].message  # points after the new end
    (stored,) = repo.by_request.values()
    assert stored.fields.route == ROUTE and stored.fields.heart_rate.avg_bpm == 112
    assert stored.create_time == stored.update_time == NOW


async def test_an_updated_activity_keeps_its_id_and_sums_its_merged_series_again(repo):
    service = ActivityService(repo, Profiles(), clock=lambda: NOW)
    rid = str(uuid.uuid4())
    await service.create_many(USER, [(walk(route=ROUTE), rid)])
    (first,) = repo.by_request.values()
    series = (HeartRatePoint(T0, 100.0), HeartRatePoint(T0 + MINUTE, 120.0))
    await service.create_many(USER, [(walk(heart_rate_series=series), rid)])
    (now,) = repo.by_request.values()
    assert now.id == first.id and now.series_summary == HeartRateSummary(100.0, 110.0, 120.0)


async def test_sleep_imports_merge_the_same_way(repo):
    service = SleepService(repo, Profiles(), clock=lambda: NOW)
    rid = str(uuid.uuid4())
    night = SleepFields(T0, T0 + 420 * MINUTE, 0, source="Watch")
    outcomes = await service.create_many(USER, [
        (night, rid), (dataclasses.replace(night, reported_asleep_seconds=24_000), rid), (night, rid),
        (dataclasses.replace(night, reported_asleep_seconds=90_000), rid)])
    assert [o.outcome for o in outcomes] == ["ACCEPTED", "UPDATED", "DUPLICATE", "REJECTED"]
    (stored,) = repo.by_request.values()
    assert stored.fields.reported_asleep_seconds == 24_000 and stored.figures.asleep_seconds == 24_000
