"""What a red team sent, over real gRPC to the real Auth, Tracking and Ingest (built as in
production, on port 0, against the session's PostgreSQL): NUL in strings, megabyte strings,
unknown enum numbers, a negative page size, times at the ends of the calendar. Every one is
INVALID_ARGUMENT with a field violation naming the field, never INTERNAL, and no traceback is
logged for any of them."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import grpc
import pytest
from google.protobuf import timestamp_pb2
from healthmesh.auth.v1 import auth_service_pb2
from healthmesh.ingest.v1 import ingest_service_pb2
from healthmesh.tracking.v1 import (
    activity_pb2, goal_pb2, nutrition_entry_pb2, sample_pb2, sleep_session_pb2, tracking_service_pb2 as pb,
)
from sqlalchemy import text

from tests.integration.mesh_harness import bad_request, mesh, traceback_free  # noqa: F401 (mesh: a fixture)
from tests.integration.test_auth_service import PASSWORD

START = dt.datetime(2026, 3, 1, 7, 0, tzinfo=dt.UTC)
MEGABYTE = "x" * (1 << 20)


def ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def seconds(value: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=value)


YEAR_1 = seconds(-62_135_596_800)  # 0001-01-01T00:00:00Z
YEAR_9999 = seconds(253_402_300_799)  # 9999-12-31T23:59:59Z


async def invalid(call, *fields: str) -> dict[str, str]:
    """The call fails INVALID_ARGUMENT with violations on exactly these fields, in a short message."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    found = bad_request(err.value)
    assert set(found) == set(fields), found
    assert len(err.value.details()) <= 2048  # never the value echoed whole
    return found


@pytest.fixture(autouse=True)
def no_tracebacks(caplog):
    caplog.set_level(logging.INFO)
    yield
    traceback_free(caplog)


def a_sample(**overrides) -> sample_pb2.Sample:
    values = dict(type="heart_rate", start_time=ts(START), value=60, unit="count/min", source="Apple Watch")
    values.update(overrides)
    return sample_pb2.Sample(**values)


# -- NUL ---------------------------------------------------------------------------------------------


async def test_nul_in_register_and_login_email(mesh):
    await invalid(mesh.auth.Register(auth_service_pb2.RegisterRequest(
        email="a\x00@example.org", password=PASSWORD, display_name="Ada")), "email")
    await invalid(mesh.auth.Login(auth_service_pb2.LoginRequest(email="a\x00@example.org", password=PASSWORD)),
                  "email")


async def test_nul_in_sample_strings_single_and_batched(mesh):
    await invalid(mesh.tracking.CreateSample(pb.CreateSampleRequest(
        parent="users/me", sample=a_sample(source="Apple\x00Watch")), metadata=mesh.md), "sample.source")
    await invalid(mesh.tracking.BatchCreateSamples(pb.BatchCreateSamplesRequest(
        parent="users/me", samples=[a_sample(), a_sample(), a_sample(), a_sample(source="\x00")]),
        metadata=mesh.md), "samples[3].source")


async def test_nul_in_activity_sleep_nutrition_and_goal_text(mesh):
    activity = activity_pb2.Activity(type="running", display_name="Run\x00", start_time=ts(START),
                                     end_time=ts(START + dt.timedelta(minutes=30)))
    await invalid(mesh.tracking.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=activity),
                                               metadata=mesh.md), "activity.display_name")
    night = sleep_session_pb2.SleepSession(start_time=ts(START - dt.timedelta(hours=8)), end_time=ts(START),
                                           notes="slept \x00 well")
    await invalid(mesh.tracking.CreateSleepSession(pb.CreateSleepSessionRequest(parent="users/me", sleep_session=night),
                                                   metadata=mesh.md), "sleep_session.notes")
    entry = nutrition_entry_pb2.NutritionEntry(food_name="Apple\x00", consume_time=ts(START), calories_kcal=80)
    await invalid(mesh.tracking.CreateNutritionEntry(pb.CreateNutritionEntryRequest(
        parent="users/me", nutrition_entry=entry), metadata=mesh.md), "nutrition_entry.food_name")
    goal = goal_pb2.Goal(display_name="Walk\x00", metric="step_count", target_value=10_000, period=goal_pb2.Goal.DAILY)
    await invalid(mesh.tracking.CreateGoal(pb.CreateGoalRequest(parent="users/me", goal=goal), metadata=mesh.md),
                  "goal.display_name")


async def test_nul_in_query_filters(mesh):
    await invalid(mesh.tracking.ListSamples(pb.ListSamplesRequest(parent="users/me", source="\x00"),
                                            metadata=mesh.md), "source")
    await invalid(mesh.tracking.ListGoals(pb.ListGoalsRequest(parent="users/me", metric="step\x00count"),
                                          metadata=mesh.md), "metric")


async def test_nul_in_an_ingest_batch_source(mesh):
    await invalid(mesh.ingest.IngestBatch(ingest_service_pb2.IngestBatchRequest(
        parent="users/me", samples=[a_sample(), a_sample(source="W\x00atch")]), metadata=mesh.md),
        "samples[1].source")


# -- huge strings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["type", "unit", "source"])
async def test_a_megabyte_string_is_refused_without_being_echoed(mesh, field):
    found = await invalid(mesh.tracking.CreateSample(pb.CreateSampleRequest(
        parent="users/me", sample=a_sample(**{field: MEGABYTE})), metadata=mesh.md), f"sample.{field}")
    assert found[f"sample.{field}"] == "must have at most 256 characters, got 1,048,576"


async def test_a_megabyte_source_in_a_batch_and_an_email(mesh):
    await invalid(mesh.tracking.BatchCreateSamples(pb.BatchCreateSamplesRequest(
        parent="users/me", samples=[a_sample(source=MEGABYTE)]), metadata=mesh.md), "samples[0].source")
    await invalid(mesh.auth.Login(auth_service_pb2.LoginRequest(email=MEGABYTE, password=PASSWORD)), "email")


async def test_an_unknown_type_is_echoed_as_a_short_prefix_only(mesh):
    """Within the length limit the domain's own message quotes the value: 40 characters at most."""
    long_type = "t" * 250
    reply = await mesh.tracking.BatchCreateSamples(pb.BatchCreateSamplesRequest(
        parent="users/me", samples=[a_sample(type=long_type)]), metadata=mesh.md)
    [error] = reply.errors
    assert error.reason == "UNKNOWN_TYPE" and "t" * 41 not in error.message and "t" * 40 in error.message


# -- enums, page sizes -------------------------------------------------------------------------------


async def test_an_unknown_enum_number_is_invalid(mesh):
    await invalid(mesh.tracking.AggregateSamples(pb.AggregateSamplesRequest(
        parent="users/me", type="step_count", interval=99, start_time=ts(START),
        end_time=ts(START + dt.timedelta(days=1))), metadata=mesh.md), "interval")
    await invalid(mesh.tracking.CreateSample(pb.CreateSampleRequest(
        parent="users/me", sample=a_sample(type="blood_glucose", unit="mg/dL", value=90, meal_context=77)),
        metadata=mesh.md), "sample.meal_context")


async def test_a_negative_page_size_is_invalid_everywhere(mesh):
    await invalid(mesh.tracking.ListSampleTypes(pb.ListSampleTypesRequest(page_size=-1), metadata=mesh.md),
                  "page_size")
    await invalid(mesh.ingest.ListIngestions(ingest_service_pb2.ListIngestionsRequest(parent="users/me", page_size=-5),
                                             metadata=mesh.md), "page_size")


# -- the ends of the calendar --------------------------------------------------------------------------


@pytest.mark.parametrize("start, end, fields", [
    (YEAR_1, ts(START), {"start_time"}),
    (ts(START), YEAR_9999, {"end_time"}),
    (YEAR_1, seconds(-62_135_000_000), {"start_time", "end_time"}),  # a week in year 1
    (seconds(253_402_000_000), YEAR_9999, {"start_time", "end_time"}),  # the last days of 9999
])
async def test_windows_at_the_ends_of_the_calendar(mesh, start, end, fields):
    await invalid(mesh.tracking.AggregateSamples(pb.AggregateSamplesRequest(
        parent="users/me", type="step_count", interval=pb.DAY, start_time=start, end_time=end), metadata=mesh.md),
        *fields)
    await invalid(mesh.tracking.GetHeartRateZones(pb.GetHeartRateZonesRequest(
        parent="users/me", start_time=start, end_time=end), metadata=mesh.md), *fields)


@pytest.mark.parametrize("start_date, end_date, fields", [
    ("0001-01-01", "0001-01-31", {"start_date", "end_date"}),
    ("9999-12-01", "9999-12-31", {"start_date", "end_date"}),
    ("", "9999-12-31", {"end_date"}),
    ("2026-03-01", "2200-01-02", {"end_date"}),
])
async def test_nutrition_summaries_at_the_ends_of_the_calendar(mesh, start_date, end_date, fields):
    await invalid(mesh.tracking.SummarizeNutrition(pb.SummarizeNutritionRequest(
        parent="users/me", start_date=start_date, end_date=end_date), metadata=mesh.md), *fields)


async def test_an_activity_is_at_most_seven_days_long_whatever_its_end(mesh):
    for end in (YEAR_9999, ts(START + dt.timedelta(days=7, seconds=1))):
        activity = activity_pb2.Activity(type="running", start_time=ts(START), end_time=end)
        await invalid(mesh.tracking.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=activity),
                                                   metadata=mesh.md), "activity.end_time")
    week = activity_pb2.Activity(type="hiking", start_time=ts(START), end_time=ts(START + dt.timedelta(days=7)))
    made = await mesh.tracking.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=week),
                                              metadata=mesh.md)
    assert made.duration_seconds == 7 * 86400


async def test_a_sample_name_whose_id_is_past_the_calendar_is_not_found(mesh):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.tracking.GetSample(pb.GetSampleRequest(name="users/me/samples/ffffffff-ffff-8fff-bfff-ffffffffffff"),
                                      metadata=mesh.md)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_goal_target_date_at_the_end_of_the_calendar(mesh):
    goal = goal_pb2.Goal(metric="step_count", target_value=10_000, period=goal_pb2.Goal.MONTHLY,
                         target_date="9999-12-31")
    await invalid(mesh.tracking.CreateGoal(pb.CreateGoalRequest(parent="users/me", goal=goal), metadata=mesh.md),
                  "goal.target_date")


@pytest.mark.parametrize("period", [goal_pb2.Goal.DAILY, goal_pb2.Goal.WEEKLY, goal_pb2.Goal.MONTHLY])
async def test_progress_of_a_goal_stored_before_the_bound_still_answers(mesh, period):
    """A goal whose target date was taken before dates were bounded (9999-12-31) still has a
    progress, history included."""
    goal = await mesh.tracking.CreateGoal(pb.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
        metric="step_count", target_value=10_000, period=period, target_date="2030-01-01")), metadata=mesh.md)
    async with mesh.engine.begin() as conn:
        updated = await conn.execute(text("UPDATE tracking.goals SET target_date = '9999-12-31' WHERE id = :id"),
                                     {"id": uuid.UUID(goal.name.rsplit("/", 1)[1])})
        assert updated.rowcount == 1
    progress = await mesh.tracking.GetGoalProgress(pb.GetGoalProgressRequest(name=goal.name, history_periods=366),
                                                   metadata=mesh.md)
    assert progress.goal == goal.name or progress.goal.endswith(goal.name.rsplit("/", 1)[1])


async def test_a_string_that_is_not_utf8_over_raw_grpc_is_invalid_argument(mesh):
    """protobuf refuses to decode it; the answer is still the client's error, not INTERNAL."""
    call = mesh.raw_channel.unary_unary("/healthmesh.tracking.v1.TrackingService/ListSampleTypes",
                                        request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(b"\x12\x01\xff", metadata=mesh.md)  # page_token (field 2) = the byte 0xff
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
