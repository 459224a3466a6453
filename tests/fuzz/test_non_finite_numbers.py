"""NaN, inf and -inf in every number a client may store: each valid create request below, with one
double or float field at a time set to one of them (JSON accepts "NaN" for a double, and a
domain rule such as `value < 0` lets NaN through), is INVALID_ARGUMENT with a field violation on
exactly that field (in a batch too, as for NUL in its strings), and nothing is stored. The fuzz
suite finds these by chance; this finds every one on every run. Fields the server does not read
(OUTPUT_ONLY) are left out."""

from __future__ import annotations

import datetime as dt
import math

import grpc
import pytest
from google.api import field_behavior_pb2
from google.protobuf import descriptor, message
from healthmesh.ingest.v1 import ingest_service_pb2
from healthmesh.tracking.v1 import (
    activity_pb2, goal_pb2, nutrition_entry_pb2, sample_pb2, sleep_session_pb2, tracking_service_pb2 as pb,
)

from tests.fuzz.harness import START, Mesh, ts
from tests.integration.mesh_harness import bad_request

NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_T = descriptor.FieldDescriptor


def _sample(**extra) -> sample_pb2.Sample:
    return sample_pb2.Sample(type="heart_rate", unit="count/min", value=61, min=55, max=70, source="Watch",
                             start_time=ts(START), end_time=ts(START + dt.timedelta(minutes=1)), **extra)


def _activity() -> activity_pb2.Activity:
    at = [START + dt.timedelta(minutes=m) for m in range(3)]
    return activity_pb2.Activity(
        type="running", display_name="Run", start_time=ts(START), end_time=ts(START + dt.timedelta(minutes=30)),
        distance_meters=5000, active_energy_kcal=300, total_energy_kcal=350, elevation_ascent_meters=20,
        elevation_descent_meters=20, pace_seconds_per_km=360, speed_meters_per_second=2.8,
        heart_rate=activity_pb2.HeartRateSummary(min_bpm=90, avg_bpm=140, max_bpm=170),
        heart_rate_series=[activity_pb2.HeartRatePoint(time=ts(t), bpm=140, min_bpm=130, max_bpm=150) for t in at],
        route=[activity_pb2.RoutePoint(time=ts(t), latitude=52.5, longitude=13.4, altitude_meters=40,
                                       speed_meters_per_second=2.8, course_degrees=90, horizontal_accuracy_meters=5,
                                       vertical_accuracy_meters=5) for t in at])


def _requests():
    """(rpc name, valid request) for every create whose resource holds numbers."""
    yield "tracking", "CreateSample", pb.CreateSampleRequest(parent="users/me", sample=_sample())
    yield "tracking", "BatchCreateSamples", pb.BatchCreateSamplesRequest(parent="users/me", samples=[_sample()])
    yield "tracking", "CreateSample", pb.CreateSampleRequest(parent="users/me", sample=sample_pb2.Sample(
        type="blood_pressure", unit="mmHg", value=120, value2=80, start_time=ts(START)))
    yield "tracking", "CreateActivity", pb.CreateActivityRequest(parent="users/me", activity=_activity())
    yield "tracking", "CreateNutritionEntry", pb.CreateNutritionEntryRequest(
        parent="users/me", nutrition_entry=nutrition_entry_pb2.NutritionEntry(
            food_name="Apple", consume_time=ts(START), calories_kcal=80, protein_grams=1, carbs_grams=20,
            fat_grams=0.5, fiber_grams=3, sugar_grams=15, water_ml=100, caffeine_mg=0))
    yield "tracking", "CreateGoal", pb.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
        display_name="Walk", metric="step_count", target_value=10_000, period=goal_pb2.Goal.DAILY))
    yield "tracking", "CreateSleepSession", pb.CreateSleepSessionRequest(
        parent="users/me", sleep_session=sleep_session_pb2.SleepSession(
            start_time=ts(START - dt.timedelta(hours=8)), end_time=ts(START)))
    yield "ingest", "IngestBatch", ingest_service_pb2.IngestBatchRequest(parent="users/me", samples=[_sample()])


def _output_only(fd: descriptor.FieldDescriptor) -> bool:
    behaviours = fd.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    return field_behavior_pb2.OUTPUT_ONLY in behaviours


def _number_fields(msg: message.Message, prefix: str = ""):
    """(path, holder, field) for every double/float field set in msg or below (first item of a list)."""
    for fd in msg.DESCRIPTOR.fields:
        if _output_only(fd):
            continue
        path = prefix + fd.name
        if fd.type in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT) and not fd.is_repeated:
            yield path, msg, fd
        elif fd.type == _T.TYPE_MESSAGE and not fd.message_type.GetOptions().map_entry:
            if fd.is_repeated:
                items = getattr(msg, fd.name)
                if items:
                    yield from _number_fields(items[0], f"{path}[0].")
            elif msg.HasField(fd.name):
                yield from _number_fields(getattr(msg, fd.name), path + ".")


def _cases():
    for owner, rpc, request in _requests():
        for path, _, _ in _number_fields(request):
            yield pytest.param(owner, rpc, request, path, id=f"{rpc}:{path}")


@pytest.fixture(scope="module")
def mesh(migrated_dsn):
    mesh = Mesh(migrated_dsn)
    user = mesh.new_user("n")
    yield mesh, user
    mesh.close()


def test_the_valid_requests_are_valid(mesh):
    """Else every case below would pass for the wrong reason."""
    mesh, user = mesh
    for owner, rpc, request in _requests():
        getattr(getattr(mesh, owner), rpc)(request, metadata=user.md)


@pytest.mark.parametrize(("owner", "rpc", "request_", "path"), list(_cases()))
@pytest.mark.parametrize("value", list(NON_FINITE), ids=list(NON_FINITE))
def test_a_non_finite_number_is_refused_on_its_field(mesh, owner, rpc, request_, path, value):
    mesh, user = mesh
    request = type(request_)()
    request.CopyFrom(request_)
    for at, holder, fd in _number_fields(request):
        if at == path:
            setattr(holder, fd.name, NON_FINITE[value])
    with pytest.raises(grpc.RpcError) as err:
        getattr(getattr(mesh, owner), rpc)(request, metadata=user.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert set(bad_request(err.value)) == {path}
    assert _stored_non_finite(mesh, user) == []


def _non_finite(msg: message.Message, prefix: str = "") -> list[str]:
    found = []
    for fd, value in msg.ListFields():
        path = prefix + fd.name
        if fd.type in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
            found += [path for v in (value if fd.is_repeated else [value]) if not math.isfinite(v)]
        elif fd.type == _T.TYPE_MESSAGE and not fd.message_type.GetOptions().map_entry:
            for item in value if fd.is_repeated else [value]:
                found += _non_finite(item, path + ".")
    return found


def _stored_non_finite(mesh: Mesh, user) -> list[str]:
    """What the user's stored samples and activities hold that is not a finite number."""
    samples = mesh.tracking.ListSamples(pb.ListSamplesRequest(parent="users/me", page_size=1000), metadata=user.md)
    activities = mesh.tracking.ListActivities(pb.ListActivitiesRequest(parent="users/me", page_size=100,
                                                                       view=activity_pb2.FULL), metadata=user.md)
    return _non_finite(samples) + _non_finite(activities)
