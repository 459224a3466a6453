"""Every v2 workout field Health Auto Export documents (issue 17, item 4): stored in the Activity
Tracking gets, or listed in workouts.V2_SKIPPED with its reason; and a workout's identity (its
request id) is the app's own id when it sends one."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest

from services.common.errors import Violations
from services.ingest import convert
from services.ingest.hae import workouts as hae_workouts
from services.ingest.records import WorkoutRecord
from services.ingest.tracking_sink import _request_id
from services.tracking.activities import convert as activity_convert
from services.tracking.activities import domain as activity_domain

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hae"
WORKOUTS = json.loads((FIXTURES / "workout_v2_all_fields.json").read_text())["data"]["workouts"]
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
USER = uuid.UUID("00000000-0000-7000-8000-000000000017")


def record(w: dict) -> WorkoutRecord:
    r = hae_workouts.workout_record(w, "$.data.workouts[0]")
    assert isinstance(r, WorkoutRecord), r
    return r


def stored(w: dict) -> activity_domain.ActivityFields:
    """The workout as Tracking takes it: Ingest's Activity message, read and checked by Tracking."""
    v = Violations()
    fields = activity_domain.validate(activity_convert.activity_fields(convert.activity(record(w)), v), NOW, v)
    assert not v.items, v.summary
    return fields


def test_every_documented_field_is_mapped_or_skipped_with_a_reason_and_the_fixture_sends_each():
    documented = set(hae_workouts.V2_FIELDS) | set(hae_workouts.V2_SKIPPED)
    assert not set(hae_workouts.V2_FIELDS) & set(hae_workouts.V2_SKIPPED)
    assert all(reason.strip() for reason in hae_workouts.V2_SKIPPED.values())
    walks = [json.loads((FIXTURES / f"walk_{n}.json").read_text())["data"]["workouts"][0] for n in ("first", "again")]
    sent = {key for w in [*WORKOUTS, *walks] for key in w}
    assert sent == documented  # each documented field is sent once at least, and nothing else is


def test_the_indoor_run_keeps_every_field_activity_has():
    run = stored(WORKOUTS[0])
    assert (run.type, run.display_name) == ("running", "Indoor Run")
    assert run.start_time == dt.datetime(2026, 7, 11, 16, 0, tzinfo=dt.UTC) and run.utc_offset_minutes == 120
    assert run.end_time == dt.datetime(2026, 7, 11, 16, 40, tzinfo=dt.UTC)
    assert run.indoor is True
    assert run.duration_seconds == 2280  # the app's moving time, whole seconds
    assert run.active_energy_kcal == pytest.approx(350.0)  # 1464.4 kJ
    assert run.total_energy_kcal == pytest.approx(420.0)
    assert run.distance_meters == pytest.approx(6200.0)
    assert run.speed_meters_per_second == pytest.approx(9.79 / 3.6)  # speed, not maxSpeed
    assert run.steps == 5900
    assert (run.elevation_ascent_meters, run.elevation_descent_meters) == (12, 11)
    assert run.weather is not None and (run.weather.temperature_celsius, run.weather.humidity_percent) == (21, 45)
    assert run.heart_rate == activity_domain.HeartRateSummary(98, 151, 172)
    assert [(p.bpm, p.min_bpm, p.max_bpm) for p in run.heart_rate_series] == [
        (145 + m, 140 + m, 150 + m) for m in range(0, 40, 10)]
    assert run.route == ()  # none sent


def test_the_walks_route_keeps_each_point():
    first = stored(json.loads((FIXTURES / "walk_first.json").read_text())["data"]["workouts"][0])
    assert len(first.route) == 5 and first.indoor is None and first.heart_rate == activity_domain.HeartRateSummary()
    p = first.route[4]
    assert (p.time, p.latitude, p.longitude, p.altitude_meters, p.speed_meters_per_second, p.course_degrees,
            p.horizontal_accuracy_meters) == (dt.datetime(2026, 7, 10, 12, 40, tzinfo=dt.UTC), pytest.approx(40.7168),
                                              pytest.approx(-74.004), 14, 1.4, 45, 5)


def test_the_pool_swim_takes_the_alternate_names():
    swim = stored(WORKOUTS[1])
    assert swim.type == "swimming" and swim.indoor is None  # "Pool" says neither indoors nor out
    assert swim.total_energy_kcal == 300 and swim.active_energy_kcal == 250
    assert swim.speed_meters_per_second == pytest.approx(2.4 / 3.6)  # avgSpeed
    assert swim.heart_rate == activity_domain.HeartRateSummary(101, 131, 150)
    assert swim.duration_seconds == 1500 and swim.distance_meters == 1000


@pytest.mark.parametrize(("fields", "indoor"), [
    ({"location": "Indoor"}, True), ({"location": "Outdoor"}, False), ({"location": "Open Water"}, False),
    ({"location": "Pool"}, None), ({}, None), ({"isIndoor": False, "location": "Indoor"}, False),
    ({"isIndoor": True}, True), ({"isIndoor": "yes", "location": "Outdoor"}, False),
])
def test_indoor_comes_from_is_indoor_else_from_location(fields, indoor):
    w = {"name": "Walk", "start": "2026-07-10 08:00:00 -0400", "end": "2026-07-10 08:45:00 -0400", **fields}
    assert record(w).indoor is indoor
    assert stored(w).indoor is indoor


def test_a_duration_longer_than_the_window_by_rounding_is_held_to_it_and_units_are_read():
    w = {"name": "Walk", "start": "2026-07-10 08:00:00 -0400", "end": "2026-07-10 08:45:00 -0400"}
    assert stored({**w, "duration": 2700.4}).duration_seconds == 2700
    assert stored({**w, "duration": {"qty": 40, "units": "min"}}).duration_seconds == 2400
    assert stored(w).duration_seconds == 0  # none given: Tracking reads end minus start
    assert stored({**w, "speed": {"qty": 3, "units": "mph"}}).speed_meters_per_second == pytest.approx(1.34112)


def test_the_apps_id_is_the_identity_and_without_one_type_start_and_source_are():
    first = record(json.loads((FIXTURES / "walk_first.json").read_text())["data"]["workouts"][0])
    again = record(json.loads((FIXTURES / "walk_again.json").read_text())["data"]["workouts"][0])
    assert first.app_id == again.app_id == "walk-1"
    assert _request_id(USER, first) == _request_id(USER, again)
    other = WorkoutRecord(**{**first.__dict__, "app_id": "walk-2"})
    assert _request_id(USER, other) != _request_id(USER, first)
    moved = WorkoutRecord(**{**first.__dict__, "start_time": first.start_time + dt.timedelta(minutes=1)})
    assert _request_id(USER, moved) == _request_id(USER, first)  # the id holds when the app moves its start
    no_id = WorkoutRecord(**{**first.__dict__, "app_id": ""})
    assert _request_id(USER, no_id) != _request_id(USER, first)
    assert _request_id(USER, no_id) == _request_id(USER, WorkoutRecord(**{**no_id.__dict__, "name": "Walk"}))
    assert _request_id(USER, no_id) != _request_id(USER, WorkoutRecord(**{**no_id.__dict__, "source": "Phone"}))
    assert _request_id(uuid.uuid4(), first) != _request_id(USER, first)
