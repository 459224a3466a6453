"""Samples over real gRPC and a real PostgreSQL: checks, units, natural keys, rollups, streams."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc, user_pb2
from healthmesh.tracking.v1 import (
    sample_pb2, sample_type_pb2, tracking_internal_service_pb2, tracking_internal_service_pb2_grpc, tracking_service_pb2,
    tracking_service_pb2_grpc,
)

from services.common.convert import from_micros
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.test_auth_service import bearer, register_and_login
from tests.integration.tracking_harness import start_tracking, stop_tracking

T0 = dt.datetime(2026, 3, 1, 7, 0, tzinfo=dt.UTC)


def ts(t: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(t)
    return out


def sample(type: str, start: dt.datetime, value: float, unit: str, source: str = "Apple Watch", offset=60,
           **extra) -> sample_pb2.Sample:
    s = sample_pb2.Sample(type=type, start_time=ts(start), value=value, unit=unit, source=source, **extra)
    if offset is not None:
        s.utc_offset_minutes = offset
    return s


@pytest.fixture
async def tracking(migrated_dsn, auth_harness):
    server = await start_tracking(migrated_dsn, auth_harness.port)
    auth = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    _, session = await register_and_login(auth)
    channel = server.channel
    yield tracking_service_pb2_grpc.TrackingServiceStub(channel), bearer(session.access_token), session, channel, auth
    await stop_tracking(server)


async def test_catalog_lists_the_design_types(tracking):
    stub, md, *_ = tracking
    types = {t.type: t for t in (await stub.ListSampleTypes(tracking_service_pb2.ListSampleTypesRequest(),
                                                             metadata=md)).sample_types}
    for key in ("heart_rate", "hrv", "step_count", "blood_pressure", "blood_glucose", "spo2", "weight", "water",
                "mindful_minutes", "vo2_max", "wrist_temperature"):
        assert key in types
    assert types["heart_rate"].unit == "/min" and types["heart_rate"].loinc == "8867-4"
    assert types["step_count"].aggregation == sample_type_pb2.SUM
    assert types["heart_rate"].aggregation == sample_type_pb2.SAMPLE
    assert "lb" in types["weight"].input_units and types["blood_pressure"].value2_meaning == "diastolic"


async def test_create_converts_units_and_keeps_the_original(tracking):
    stub, md, *_ = tracking
    weight = await stub.CreateSample(tracking_service_pb2.CreateSampleRequest(
        parent="users/me", sample=sample("weight", T0, 154.0, "lb")), metadata=md)
    assert weight.unit == "kg" and weight.value == pytest.approx(69.853, abs=1e-3)
    assert weight.original_value == 154.0 and weight.original_unit == "lb" and weight.utc_offset_minutes == 60
    glucose = await stub.CreateSample(tracking_service_pb2.CreateSampleRequest(parent="users/me", sample=sample(
        "blood_glucose", T0, 5.5, "mmol<180.1558800000541>/L", meal_context=sample_pb2.AFTER_MEAL)), metadata=md)
    assert glucose.unit == "mg/dL" and glucose.value == pytest.approx(99.09, abs=0.01)
    assert glucose.meal_context == sample_pb2.AFTER_MEAL
    spo2 = await stub.CreateSample(tracking_service_pb2.CreateSampleRequest(
        parent="users/me", sample=sample("spo2", T0, 0.97, "%")), metadata=md)
    assert spo2.value == pytest.approx(97.0)
    got = await stub.GetSample(tracking_service_pb2.GetSampleRequest(name=weight.name), metadata=md)
    assert got == weight


async def test_bad_single_sample_is_invalid_argument_with_a_field(tracking):
    stub, md, *_ = tracking
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateSample(tracking_service_pb2.CreateSampleRequest(
            parent="users/me", sample=sample("heart_rate", T0, 900, "count/min")), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "sample.value" in err.value.details()


async def test_batch_keeps_good_items_and_reports_each_bad_one(tracking):
    stub, md, *_ = tracking
    items = [
        sample("heart_rate", T0, 64, "count/min", min=60, max=71),
        sample("nope", T0, 1, "x"),
        sample("weight", T0, 70, "furlongs"),
        sample("heart_rate", T0 + dt.timedelta(minutes=1), 9999, "count/min"),
        sample("step_count", T0, 10, "count", end_time=ts(T0 - dt.timedelta(minutes=1))),
        sample("step_count", dt.datetime(1899, 12, 31, tzinfo=dt.UTC), 10, "count"),
        sample("blood_pressure", T0, 120, "mmHg"),
        sample("blood_pressure", T0, 120, "mmHg", value2=80),
    ]
    reply = await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(
        parent="users/me", samples=items), metadata=md)
    assert [(e.index, e.reason) for e in reply.errors] == [
        (1, "UNKNOWN_TYPE"), (2, "UNKNOWN_UNIT"), (3, "VALUE_OUT_OF_RANGE"), (4, "END_BEFORE_START"),
        (5, "TIME_OUT_OF_RANGE"), (6, "MISSING_FIELD")]
    assert (reply.accepted, reply.duplicate, reply.updated, reply.rejected) == (2, 0, 0, 6)
    assert [s.type for s in reply.samples] == ["heart_rate", "blood_pressure"]
    assert reply.samples[0].min == 60 and reply.samples[0].max == 71 and reply.samples[1].value2 == 80


async def test_natural_key_makes_writes_idempotent_and_reports_updates(tracking):
    stub, md, *_ = tracking
    items = [sample("step_count", T0 + dt.timedelta(minutes=i), 100, "count") for i in range(5)]
    request = tracking_service_pb2.BatchCreateSamplesRequest(parent="users/me", samples=items)
    first = await stub.BatchCreateSamples(request, metadata=md)
    again = await stub.BatchCreateSamples(request, metadata=md)
    assert (first.accepted, again.accepted, again.duplicate) == (5, 0, 5)
    assert [s.name for s in first.samples] == [s.name for s in again.samples]
    request.samples[4].value = 150  # the app resends the current hour as it grows
    grown = await stub.BatchCreateSamples(request, metadata=md)
    assert (grown.duplicate, grown.updated) == (4, 1)
    same_key_twice = await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(
        parent="users/me", samples=[sample("step_count", T0 + dt.timedelta(hours=5), 1, "count"),
                                    sample("step_count", T0 + dt.timedelta(hours=5), 2, "count")]), metadata=md)
    assert (same_key_twice.accepted, same_key_twice.updated) == (1, 1)
    assert [s.value for s in same_key_twice.samples] == [2, 2]


async def test_daily_steps_merge_sources_per_hour_on_local_days(tracking):
    stub, md, *_ = tracking
    # 23:30 UTC at +01:00 is 00:30 on the next local day.
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(parent="users/me", samples=[
        sample("step_count", T0, 1000, "count", source="Ada's Apple Watch"),
        sample("step_count", T0 + dt.timedelta(minutes=10), 1200, "count", source="Ada's iPhone"),  # same hour
        sample("step_count", T0 + dt.timedelta(hours=2), 300, "count", source="Ada's iPhone"),  # phone only
        sample("step_count", late, 50, "count", source="Ada's iPhone"),
    ]), metadata=md)
    reply = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="step_count", interval=tracking_service_pb2.DAY,
        start_time=ts(T0 - dt.timedelta(days=1)), end_time=ts(T0 + dt.timedelta(days=2))), metadata=md)
    days = [(b.local_date, b.sum, list(b.sources)) for b in reply.buckets]
    assert days == [("2026-03-01", 1300, ["Ada's Apple Watch", "Ada's iPhone"]), ("2026-03-02", 50, ["Ada's iPhone"])]
    assert reply.buckets[0].start_time.ToDatetime() == dt.datetime(2026, 2, 28, 23, 0)  # local midnight at +01:00
    watch_only = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="step_count", interval=tracking_service_pb2.DAY, source="Ada's iPhone",
        start_time=ts(T0 - dt.timedelta(days=1)), end_time=ts(T0 + dt.timedelta(days=2))), metadata=md)
    assert [b.sum for b in watch_only.buckets] == [1500, 50]


async def test_heart_rate_aggregate_keeps_min_and_max_and_follows_deletes(tracking):
    stub, md, *_ = tracking
    reply = await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(parent="users/me", samples=[
        sample("heart_rate", T0, 60, "count/min", min=50, max=70),
        sample("heart_rate", T0 + dt.timedelta(minutes=1), 80, "count/min", min=75, max=120),
    ]), metadata=md)
    request = tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="heart_rate", interval=tracking_service_pb2.HOUR,
        start_time=ts(T0), end_time=ts(T0 + dt.timedelta(hours=1)))
    hour = (await stub.AggregateSamples(request, metadata=md)).buckets[0]
    assert (hour.count, hour.avg, hour.min, hour.max) == (2, 70, 50, 120)
    await stub.DeleteSample(tracking_service_pb2.DeleteSampleRequest(name=reply.samples[1].name), metadata=md)
    hour = (await stub.AggregateSamples(request, metadata=md)).buckets[0]
    assert (hour.count, hour.avg, hour.min, hour.max) == (1, 60, 50, 70)
    await stub.DeleteSample(tracking_service_pb2.DeleteSampleRequest(name=reply.samples[0].name), metadata=md)
    assert not (await stub.AggregateSamples(request, metadata=md)).buckets
    week = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="heart_rate", interval=tracking_service_pb2.WEEK,
        start_time=ts(T0 - dt.timedelta(days=7)), end_time=ts(T0 + dt.timedelta(days=7))), metadata=md)
    assert not week.buckets  # the daily rollups followed the deletes too
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetSample(tracking_service_pb2.GetSampleRequest(name=reply.samples[0].name), metadata=md)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_list_pages_and_filters(tracking):
    stub, md, *_ = tracking
    await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(parent="users/me", samples=[
        sample("heart_rate", T0 + dt.timedelta(minutes=i), 60 + i, "count/min") for i in range(5)
    ] + [sample("weight", T0, 70, "kg", source="Scale")]), metadata=md)
    request = tracking_service_pb2.ListSamplesRequest(parent="users/me", type="heart_rate", page_size=2)
    seen, token = [], ""
    while True:
        request.page_token = token
        page = await stub.ListSamples(request, metadata=md)
        seen += [s.value for s in page.samples]
        token = page.next_page_token
        if not token:
            break
    assert seen == [64, 63, 62, 61, 60]  # newest first
    by_source = await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(parent="users/me", source="Scale"),
                                       metadata=md)
    assert [s.type for s in by_source.samples] == ["weight"]
    first = await stub.ListSamples(request.__class__(parent="users/me", type="heart_rate", page_size=2), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
            parent="users/me", type="weight", page_token=first.next_page_token), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    latest = await stub.GetLatestSamples(tracking_service_pb2.GetLatestSamplesRequest(parent="users/me"), metadata=md)
    assert [(s.type, s.value) for s in latest.samples] == [("heart_rate", 64), ("weight", 70)]


async def test_list_is_newest_first_and_order_by_start_time_is_oldest_first_page_by_page(tracking):
    """ListSamples' contract: newest start_time first; samples of one start follow type, then source,
    in the same direction; `start_time` (AIP-132 order_by) turns it round; a page token keeps its order."""
    stub, md, *_ = tracking
    at = [T0 + dt.timedelta(minutes=m) for m in (3, 0, 2, 1)]  # written out of order
    await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(parent="users/me", samples=[
        sample("heart_rate", t, 60 + i, "count/min") for i, t in enumerate(at)] + [
        sample("weight", T0 + dt.timedelta(minutes=2), 70, "kg", source="Scale"),
        sample("weight", T0 + dt.timedelta(minutes=2), 71, "kg", source="Bathroom scale")]), metadata=md)

    async def walk(order_by: str = "", page_size: int = 2) -> list[tuple[int, str, str]]:
        request = tracking_service_pb2.ListSamplesRequest(parent="users/me", page_size=page_size, order_by=order_by)
        seen = []
        while True:
            page = await stub.ListSamples(request, metadata=md)
            seen += [(int((s.start_time.ToDatetime(dt.UTC) - T0).total_seconds() // 60), s.type, s.source)
                     for s in page.samples]
            if not page.next_page_token:
                return seen
            request.page_token = page.next_page_token

    newest = [(3, "heart_rate", "Apple Watch"), (2, "weight", "Scale"), (2, "weight", "Bathroom scale"),
              (2, "heart_rate", "Apple Watch"), (1, "heart_rate", "Apple Watch"), (0, "heart_rate", "Apple Watch")]
    assert await walk() == newest
    assert await walk("start_time desc", page_size=4) == newest
    assert await walk("start_time") == list(reversed(newest))
    assert await walk("start_time  ASC", page_size=5) == list(reversed(newest))
    # A full last page has no token: the next page would be empty.
    exact = await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(parent="users/me", page_size=6), metadata=md)
    assert len(exact.samples) == 6 and exact.next_page_token == ""

    first = await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(parent="users/me", page_size=2), metadata=md)
    for order_by in ("start_time", "start_time asc"):  # a token is bound to its order
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
                parent="users/me", page_size=2, order_by=order_by, page_token=first.next_page_token), metadata=md)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for bad in ("value desc", "start_time sideways", "start_time desc, type", "-start_time"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(parent="users/me", order_by=bad),
                                   metadata=md)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
        assert "order_by" in err.value.details(), bad


async def test_samples_across_years_land_in_partitions_made_on_demand(tracking):
    stub, md, *_ = tracking
    times = [dt.datetime(2019, 12, 31, 23, 59, tzinfo=dt.UTC), dt.datetime(1950, 6, 1, tzinfo=dt.UTC), T0]
    reply = await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(
        parent="users/me", samples=[sample("weight", t, 70, "kg") for t in times]), metadata=md)
    assert reply.accepted == 3
    for s in reply.samples:
        got = await stub.GetSample(tracking_service_pb2.GetSampleRequest(name=s.name), metadata=md)
        assert got.start_time == s.start_time


async def test_offset_defaults_to_the_profile_time_zone(tracking):
    stub, md, _, _, auth = tracking
    await auth.UpdateUser(auth_service_pb2.UpdateUserRequest(
        user=user_pb2.User(name="users/me", time_zone="America/Los_Angeles"),
        update_mask=field_mask_pb2.FieldMask(paths=["time_zone"])), metadata=md)
    created = await stub.CreateSample(tracking_service_pb2.CreateSampleRequest(
        parent="users/me", sample=sample("weight", T0, 70, "kg", offset=None)), metadata=md)
    assert created.utc_offset_minutes == -480  # PST on 1 March


async def test_another_users_samples_are_forbidden(tracking, auth_harness):
    stub, md, session, *_ = tracking
    _, other = await register_and_login(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel))
    theirs = f"{other.user.name}"
    calls = [
        (stub.ListSamples, tracking_service_pb2.ListSamplesRequest(parent=theirs)),
        (stub.CreateSample, tracking_service_pb2.CreateSampleRequest(parent=theirs, sample=sample("weight", T0, 70, "kg"))),
        (stub.GetSample, tracking_service_pb2.GetSampleRequest(name=f"{theirs}/samples/{uuid.uuid4()}")),
        (stub.DeleteSample, tracking_service_pb2.DeleteSampleRequest(name=f"{theirs}/samples/{uuid.uuid4()}")),
        (stub.AggregateSamples, tracking_service_pb2.AggregateSamplesRequest(parent=theirs, type="weight")),
        (stub.GetLatestSamples, tracking_service_pb2.GetLatestSamplesRequest(parent=theirs)),
    ]
    for call, request in calls:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request, metadata=md)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, call


async def test_write_samples_acks_each_batch_in_order(tracking):
    stub, md, session, channel, _ = tracking
    internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
    user = session.user.name
    service_md = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", user.split("/")[1]))

    def batch(seq: int, start: int) -> tracking_internal_service_pb2.WriteSamplesRequest:
        return tracking_internal_service_pb2.WriteSamplesRequest(sequence=seq, user=user, default_source="Band", samples=[
            sample("heart_rate", T0 + dt.timedelta(minutes=start + i), 70, "count/min", source="") for i in range(100)])

    acks = [a async for a in internal.WriteSamples(iter([batch(1, 0), batch(2, 50), batch(3, 1000)]),
                                                   metadata=service_md)]
    assert [(a.sequence, a.accepted, a.duplicate) for a in acks] == [(1, 100, 0), (2, 50, 50), (3, 100, 0)]
    listed = await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
        parent="users/me", type="heart_rate", source="Band", page_size=1000), metadata=md)
    assert len(listed.samples) == 250
    with pytest.raises(grpc.aio.AioRpcError) as err:
        [a async for a in internal.WriteSamples(iter([batch(5, 0), batch(5, 0)]), metadata=service_md)]
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    other = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", str(uuid.uuid4())))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        [a async for a in internal.WriteSamples(iter([batch(1, 0)]), metadata=other)]
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_write_samples_is_internal_only(tracking):
    _, md, session, channel, _ = tracking
    internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        [a async for a in internal.WriteSamples(iter([tracking_internal_service_pb2.WriteSamplesRequest(
            sequence=1, user=session.user.name)]), metadata=md)]
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_concurrent_writers_leave_exact_rollups(tracking):
    stub, md, *_ = tracking
    start = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
    batches = [[sample("step_count", start + dt.timedelta(seconds=10 * (j * 30 + i)), 1, "count")
                for i in range(30)] for j in range(6)]  # six writers, the same hour
    await asyncio.gather(*[stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(
        parent="users/me", samples=b), metadata=md) for b in batches])
    reply = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="step_count", interval=tracking_service_pb2.HOUR,
        start_time=ts(start), end_time=ts(start + dt.timedelta(hours=2))), metadata=md)
    assert [(b.count, b.sum) for b in reply.buckets] == [(180, 180)]


async def test_a_retried_batch_with_its_request_id_gets_the_first_answer(tracking):
    stub, md, *_ = tracking
    request = tracking_service_pb2.BatchCreateSamplesRequest(
        parent="users/me", request_id=str(uuid.uuid4()),
        samples=[sample("water", T0 + dt.timedelta(minutes=i), 250, "mL") for i in range(3)])
    first = await stub.BatchCreateSamples(request, metadata=md)
    retry = await stub.BatchCreateSamples(request, metadata=md)
    assert first.accepted == 3 and retry == first
    request.request_id = "not-a-uuid"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.BatchCreateSamples(request, metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_bulk_writes_move_rollups_when_a_sample_changes_its_offset(tracking):
    stub, md, session, channel, _ = tracking
    internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
    service_md = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", session.user.name.split("/")[1]))
    at = dt.datetime(2026, 5, 1, 23, 30, tzinfo=dt.UTC)

    def batch(seq: int, offset: int) -> tracking_internal_service_pb2.WriteSamplesRequest:
        return tracking_internal_service_pb2.WriteSamplesRequest(
            sequence=seq, user=session.user.name, samples=[sample("step_count", at, 500, "count", offset=offset)])

    acks = [a async for a in internal.WriteSamples(iter([batch(1, 120), batch(2, 0), batch(3, 0)]),
                                                   metadata=service_md)]
    assert [(a.accepted, a.updated, a.duplicate) for a in acks] == [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
    days = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="step_count", interval=tracking_service_pb2.DAY,
        start_time=ts(at - dt.timedelta(days=2)), end_time=ts(at + dt.timedelta(days=2))), metadata=md)
    # At +02:00 it was 2 May; at UTC it is 1 May. Only the new local day holds it now.
    assert [(b.local_date, b.sum) for b in days.buckets] == [("2026-05-01", 500)]


async def test_resent_hours_are_duplicates_and_a_deleted_or_changed_sample_is_still_restored(tracking):
    """Bulk writes skip hours already stored exactly as sent; anything that differs is written."""
    stub, md, session, channel, _ = tracking
    internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
    service_md = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", session.user.name.split("/")[1]))
    start = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    points = [(start + dt.timedelta(minutes=i), 60 + i % 7) for i in range(180)]  # three whole hours

    def batch(seq: int) -> tracking_internal_service_pb2.WriteSamplesRequest:
        return tracking_internal_service_pb2.WriteSamplesRequest(sequence=seq, user=session.user.name, samples=[
            sample("heart_rate", t, v, "count/min") for t, v in points],
            ingest_id=f"run-{seq}")

    async def write(*batches):
        return [(a.accepted, a.duplicate, a.updated) async for a in internal.WriteSamples(iter(batches),
                                                                                        metadata=service_md)]

    async def stored() -> list[sample_pb2.Sample]:
        return list((await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
            parent="users/me", type="heart_rate", start_time=ts(start),
            end_time=ts(start + dt.timedelta(hours=3)), page_size=1000, order_by="start_time"), metadata=md)).samples)

    assert await write(batch(1)) == [(180, 0, 0)]
    first = await stored()
    assert await write(batch(2)) == [(0, 180, 0)]
    assert [s.update_time for s in await stored()] == [s.update_time for s in first]  # nothing rewritten

    await stub.DeleteSample(tracking_service_pb2.DeleteSampleRequest(name=first[70].name), metadata=md)
    assert await write(batch(3)) == [(1, 179, 0)]  # the deleted one comes back
    assert len(await stored()) == 180

    await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(parent="users/me", samples=[
        sample("heart_rate", points[130][0], 99, "count/min")]), metadata=md)
    assert await write(batch(4)) == [(0, 179, 1)]  # the value changed elsewhere is set back
    assert [s.value for s in await stored()] == [v for _, v in points]
    hours = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="heart_rate", interval=tracking_service_pb2.HOUR, start_time=ts(start),
        end_time=ts(start + dt.timedelta(hours=3))), metadata=md)
    assert [b.count for b in hours.buckets] == [60, 60, 60]


async def test_write_samples_acks_a_stored_batch_before_the_next_one_comes(tracking):
    """Tracking reads ahead while it stores, but never holds an ack back waiting for more input."""
    _, _, session, channel, _ = tracking
    internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
    service_md = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", session.user.name.split("/")[1]))
    call = internal.WriteSamples(metadata=service_md)

    def batch(seq: int) -> tracking_internal_service_pb2.WriteSamplesRequest:
        return tracking_internal_service_pb2.WriteSamplesRequest(sequence=seq, user=session.user.name, samples=[
            sample("heart_rate", T0 + dt.timedelta(days=40, minutes=seq * 10 + i), 70, "count/min") for i in range(10)])

    for seq in (1, 2):
        await call.write(batch(seq))
        ack = await asyncio.wait_for(call.read(), timeout=20)  # the stream stays open meanwhile
        assert (ack.sequence, ack.accepted) == (seq, 10)
    await call.done_writing()
    assert await call.read() == grpc.aio.EOF


async def test_a_batch_on_new_ground_adds_to_the_rollups_of_hours_already_holding_samples(tracking):
    """The second batch's span holds nothing yet, so it is inserted without an upsert and added to
    the hour the first batch began: the rollup must count both, and a resend of both must match it."""
    stub, md, session, channel, _ = tracking
    internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
    service_md = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", session.user.name.split("/")[1]))
    start = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)
    first = [(start + dt.timedelta(minutes=i), 60.0 + i) for i in range(20)]
    second = [(start + dt.timedelta(minutes=30 + i), 100.0 + i) for i in range(20)]

    def batch(seq: int, points) -> tracking_internal_service_pb2.WriteSamplesRequest:
        return tracking_internal_service_pb2.WriteSamplesRequest(sequence=seq, user=session.user.name, samples=[
            sample("heart_rate", t, v, "count/min") for t, v in points])

    async def write(*batches):
        return [(a.accepted, a.duplicate, a.updated) async for a in internal.WriteSamples(iter(batches),
                                                                                        metadata=service_md)]

    async def aggregate(interval):
        reply = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
            parent="users/me", type="heart_rate", interval=interval, start_time=ts(start),
            end_time=ts(start + dt.timedelta(hours=1))), metadata=md)
        return [(b.count, b.sum, b.min, b.max) for b in reply.buckets]

    assert await write(batch(1, first), batch(2, second)) == [(20, 0, 0), (20, 0, 0)]
    expected = [(40, sum(v for _, v in first + second), 60.0, 119.0)]
    assert await aggregate(tracking_service_pb2.HOUR) == expected
    assert await aggregate(tracking_service_pb2.DAY) == expected
    assert await write(batch(3, first + second)) == [(0, 40, 0)]  # the added hash sums match the rows


async def test_a_key_stored_after_the_new_ground_check_falls_back_to_the_upsert(migrated_dsn, monkeypatch):
    """Another writer may store one of a batch's keys between the check and the insert: the plain
    insert then fails on the key, and the batch is upserted instead, every row counted once."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.common.convert import to_micros
    from services.tracking.samples import repository
    from services.tracking.samples.bulk import check_columns
    from services.tracking.samples.columns import SampleColumns

    engine = create_async_engine("postgresql+asyncpg://" + migrated_dsn.removeprefix("postgresql://"))
    repo = repository.SqlSampleRepository(engine, lambda type_: "/min")
    user, now = uuid.uuid4(), dt.datetime(2026, 8, 1, 12, 0, tzinfo=dt.UTC)  # a fixed clock: the rows are its past
    start = to_micros(dt.datetime(2026, 8, 1, 10, 0, tzinfo=dt.UTC))

    def rows(minutes: range):
        n = len(minutes)
        return check_columns(SampleColumns(
            strings=["heart_rate", "count/min", "Band"], type=[0] * n, unit=[1] * n, source=[2] * n,
            start_us=[start + m * 60_000_000 for m in minutes], end_us=[None] * n, offset=[0] * n,
            value=[70.0] * n, min=[None] * n, max=[None] * n, value2=[None] * n, meal_context=[0] * n),
            now, lambda t: 0).rows

    try:
        assert await repo.write_counts(user, rows(range(5, 6)), "", now) == (1, 0, 0)
        real = repository._unchanged

        async def racing(raw, user_id, batch):
            await real(raw, user_id, batch)
            return None  # "nothing stored here", as a check that ran before the other writer committed

        monkeypatch.setattr(repository, "_unchanged", racing)
        assert await repo.write_counts(user, rows(range(0, 10)), "", now) == (9, 1, 0)
        hours = await repo.hour_rows(user, "heart_rate", from_micros(start), from_micros(start + 3_600_000_000))
        assert [(h.count, h.sum) for h in hours] == [(10, 700.0)]
    finally:
        await engine.dispose()


async def test_each_sample_keeps_what_produced_it_by_the_fast_and_the_upsert_path(migrated_dsn):
    """The producing ingestion's name is stored once and each sample refers to it: rows of a
    batch on new ground (COPY) and rows of an upserted batch alike."""
    import asyncpg
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.common.convert import to_micros
    from services.tracking.samples import repository
    from services.tracking.samples.bulk import check_columns
    from services.tracking.samples.columns import SampleColumns

    engine = create_async_engine("postgresql+asyncpg://" + migrated_dsn.removeprefix("postgresql://"))
    repo = repository.SqlSampleRepository(engine, lambda type_: "/min")
    user, now = uuid.uuid4(), dt.datetime(2026, 9, 1, 16, 0, tzinfo=dt.UTC)  # a fixed clock: the rows are its past
    start = to_micros(dt.datetime(2026, 9, 1, 10, 0, tzinfo=dt.UTC))

    def rows(minutes: range, value: float):
        n = len(minutes)
        return check_columns(SampleColumns(
            strings=["heart_rate", "count/min", "Band"], type=[0] * n, unit=[1] * n, source=[2] * n,
            start_us=[start + m * 60_000_000 for m in minutes], end_us=[None] * n, offset=[0] * n,
            value=[value] * n, min=[None] * n, max=[None] * n, value2=[None] * n, meal_context=[0] * n),
            now, lambda t: 0).rows

    first, second = f"users/{user}/ingestions/first", f"users/{user}/ingestions/second"
    try:
        assert await repo.write_counts(user, rows(range(0, 100), 70.0), first, now) == (100, 0, 0)
        assert await repo.write_counts(user, rows(range(50, 150), 71.0), second, now) == (50, 0, 50)
        assert await repo.write_counts(user, rows(range(200, 210), 72.0), "", now) == (10, 0, 0)
        connection = await asyncpg.connect(migrated_dsn)
        try:
            stored = await connection.fetch(
                "SELECT o.name, count(*) AS n FROM tracking.samples s LEFT JOIN tracking.sample_origins o "
                "ON o.id = s.origin WHERE s.user_id = $1 GROUP BY o.name ORDER BY o.name", user)
        finally:
            await connection.close()
        assert [(r["name"], r["n"]) for r in stored] == [(first, 50), (second, 100), (None, 10)]
    finally:
        await engine.dispose()



@pytest.mark.parametrize("left", ["in_transaction", "begin_cut_short"])
async def test_a_connection_left_in_a_transaction_is_not_handed_on(migrated_dsn, left):
    """A bulk write cut short inside asyncpg's own transaction (a call cancelled while a query is in
    flight, as when a device is killed mid-stream) can leave its connection in that transaction,
    or, cut short while its BEGIN was on the wire, with asyncpg's transaction registered though
    none is reported yet (`begin_cut_short`: the next write's transaction was then a SAVEPOINT
    inside it, its rows acked and never committed: the kill -9 of Device losing one batch),
    which SQLAlchemy's pool cannot roll back. Handed on, every later write on it would sit in the
    uncommitted transaction holding the user's rollups lock: seen as a telemetry stream that hung,
    its acked rows never visible. The repository closes such a connection instead."""
    import asyncpg
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.common.convert import to_micros
    from services.tracking.samples import repository
    from services.tracking.samples.bulk import check_columns
    from services.tracking.samples.columns import SampleColumns

    engine = create_async_engine("postgresql+asyncpg://" + migrated_dsn.removeprefix("postgresql://"),
                                 pool_size=1, max_overflow=0)  # the next write gets the same connection
    repo = repository.SqlSampleRepository(engine, lambda type_: "/min")
    user, now = uuid.uuid4(), dt.datetime(2026, 8, 1, 12, 0, tzinfo=dt.UTC)
    start = to_micros(dt.datetime(2026, 8, 1, 10, 0, tzinfo=dt.UTC))
    n = 5
    rows = check_columns(SampleColumns(
        strings=["heart_rate", "count/min", "Band"], type=[0] * n, unit=[1] * n, source=[2] * n,
        start_us=[start + m * 60_000_000 for m in range(n)], end_us=[None] * n, offset=[0] * n,
        value=[70.0] * n, min=[None] * n, max=[None] * n, value2=[None] * n, meal_context=[0] * n),
        now, lambda t: 0).rows
    other = await asyncpg.connect(migrated_dsn)
    try:
        async with repo._connection() as raw:  # what a cut-short write leaves: a transaction never ended
            if left == "in_transaction":
                await raw.transaction().start()
                await raw.execute("SELECT pg_advisory_xact_lock(hashtext('tracking.rollups'), hashtext($1))",
                                  str(user))
            else:  # what asyncpg's Transaction.start() leaves when cancelled during its BEGIN:
                raw._top_xact = raw.transaction()  # registered, and no transaction reported yet
        # (bounded: a write on the connection left behind waits for ever on a lock of its own)
        assert await asyncio.wait_for(repo.write_counts(user, rows, "", now), 30) == (5, 0, 0)
        assert await other.fetchval("SELECT count(*) FROM tracking.samples WHERE user_id = $1", user) == 5
        assert await other.fetchval("SELECT pg_try_advisory_lock(hashtext('tracking.rollups'), hashtext($1))",
                                    str(user))
    finally:
        await other.close()
        await engine.dispose()


async def test_batch_aggregate_samples_answers_each_request_as_aggregate_samples_does(tracking):
    stub, md, session, channel, _ = tracking
    internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
    service_md = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", session.user.name.split("/")[1]))
    await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(parent="users/me", samples=[
        *[sample("step_count", T0 + dt.timedelta(days=d), 1000 + d, "count") for d in range(3)],
        *[sample("heart_rate", T0 + dt.timedelta(days=d, minutes=m), 60 + m, "/min") for d in range(2) for m in range(3)],
    ]), metadata=md)

    def request(type: str, interval=tracking_service_pb2.DAY) -> tracking_service_pb2.AggregateSamplesRequest:
        return tracking_service_pb2.AggregateSamplesRequest(
            parent="users/me", type=type, interval=interval, start_time=ts(T0 - dt.timedelta(days=1)),
            end_time=ts(T0 + dt.timedelta(days=5)))

    wanted = [request("step_count"), request("heart_rate"), request("weight"), request("heart_rate",
                                                                                       tracking_service_pb2.HOUR)]
    batch = await internal.BatchAggregateSamples(
        tracking_internal_service_pb2.BatchAggregateSamplesRequest(requests=wanted), metadata=service_md)
    singles = [await stub.AggregateSamples(r, metadata=md) for r in wanted]
    assert list(batch.responses) == singles
    assert [b.sum for b in batch.responses[0].buckets] == [1000, 1001, 1002] and not batch.responses[2].buckets

    bad = [request("step_count"), request("moonlight")]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await internal.BatchAggregateSamples(tracking_internal_service_pb2.BatchAggregateSamplesRequest(requests=bad),
                                             metadata=service_md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "requests[1].type" in err.value.details()
    for n in (0, 51):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await internal.BatchAggregateSamples(tracking_internal_service_pb2.BatchAggregateSamplesRequest(
                requests=[request("step_count")] * n), metadata=service_md)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as err:  # a user's own credential may not call it
        await internal.BatchAggregateSamples(tracking_internal_service_pb2.BatchAggregateSamplesRequest(
            requests=[request("step_count")]), metadata=md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_day_totals_from_the_database_make_the_buckets_the_hourly_rows_make(migrated_dsn):
    """A level type's DAY buckets come from hourly rows the database adds up per local day: they
    must be what merge_buckets() makes of those hourly rows, with several sources, values that do
    not add up exactly in floating point, a day travelled across two offsets, a local midnight
    reached at two offsets, and a window that starts and ends inside local days."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.common.convert import to_micros
    from services.tracking.samples import repository
    from services.tracking.samples.bulk import check_columns
    from services.tracking.samples.columns import SampleColumns
    from services.tracking.samples.domain import Interval, day_buckets, merge_buckets

    engine = create_async_engine("postgresql+asyncpg://" + migrated_dsn.removeprefix("postgresql://"))
    repo = repository.SqlSampleRepository(engine, lambda type_: "/min")
    user, now = uuid.uuid4(), dt.datetime(2026, 10, 20, 0, 0, tzinfo=dt.UTC)
    first = dt.datetime(2026, 10, 10, 0, 0, tzinfo=dt.UTC)
    starts, offsets, values, sources = [], [], [], []
    for k in range(5 * 24 * 4):  # every 15 minutes for five days
        start = first + dt.timedelta(minutes=15 * k)
        # From the third day on, the user is 5 h 30 ahead (the 10 and 12 o'clock UTC hours of that
        # day keep +0: the same local day at two offsets); a sample of the last day sits at local
        # midnight at +0 as well as at +330.
        offset = 330 if start >= first + dt.timedelta(days=2) and start.hour not in (10, 12) else 0
        for source in ("Apple Watch", "iPhone") if k % 3 else ("Apple Watch",):
            starts.append(to_micros(start))
            offsets.append(offset)
            values.append(60 + (k * 7919 % 600) / 10 + 0.1 * (source == "iPhone"))
            sources.append(1 if source == "Apple Watch" else 2)
    late_midnight = dt.datetime(2026, 10, 14, 0, 0, tzinfo=dt.UTC)  # local midnight at +0 of a +330 day
    starts.append(to_micros(late_midnight))
    offsets.append(0)
    values.append(61.3)
    sources.append(3)
    n = len(starts)
    rows = check_columns(SampleColumns(
        strings=["heart_rate", "count/min", "Apple Watch", "iPhone", "Polar"], type=[0] * n, unit=[1] * n,
        source=[s + 1 for s in sources], start_us=starts, end_us=[None] * n, offset=offsets, value=values,
        min=[None] * n, max=[None] * n, value2=[None] * n, meal_context=[0] * n), now, lambda t: 0).rows
    try:
        assert await repo.write_counts(user, rows, "", now) == (n, 0, 0)
        for start, end, source in [(first, first + dt.timedelta(days=5), ""),
                                   (first + dt.timedelta(hours=7, minutes=30), first + dt.timedelta(days=4, hours=3), ""),
                                   (first - dt.timedelta(days=1), first + dt.timedelta(days=9), "iPhone")]:
            hours = await repo.hour_rows(user, "heart_rate", start, end, source)
            expected = merge_buckets(hours, Interval.DAY, summing=False)
            assert len(expected) >= 4
            assert day_buckets(await repo.hour_days(user, "heart_rate", start, end, source)) == expected
    finally:
        await engine.dispose()
