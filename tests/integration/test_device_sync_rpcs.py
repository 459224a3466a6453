"""TriggerSync, GetSync, ListSyncs and RetrySync over real gRPC, with Device wired as in production
(services/device/app.py: its sync worker running), a real Tracking and PostgreSQL, and the local
Oura server (HEALTHMESH_OURA_API_URL) serving recorded responses. Device's clock is set to the day
after the recorded data."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from healthmesh.auth.v1 import auth_service_pb2_grpc
from healthmesh.device.v1 import device_pb2, device_service_pb2 as pb, device_service_pb2_grpc, sync_pb2
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc

from services.common.server import stop_server
from tests.integration.device_harness import DeviceHarness, MovableClock, start_device
from tests.integration.oura_server import FakeOura
from tests.integration.test_auth_service import bearer, details, register_and_login
from tests.integration.test_tracking_samples import ts
from tests.integration.tracking_harness import stop_tracking

NOW = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)
Sync = sync_pb2.Sync


@pytest.fixture
async def world(migrated_dsn, auth_harness):
    with FakeOura() as oura:
        built, server, port, tracking, clock = await start_device(migrated_dsn, auth_harness.port, MovableClock(NOW),
                                                                  oura_api_url=oura.url)
        auth = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
        _, session = await register_and_login(auth)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        harness = DeviceHarness(built, server, port, channel, device_service_pb2_grpc.DeviceServiceStub(channel),
                                tracking, auth, bearer(session.access_token), session, clock)
        yield harness, oura
        await channel.close()
        await stop_server(server, built.runtime, 0.5)
        await built.close()
        await stop_tracking(tracking)


def violations(err: grpc.aio.AioRpcError) -> list[str]:
    for detail in details(err).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return [v.field for v in bad.field_violations]
    return []


async def ring(h: DeviceHarness, access_token: str = "access-1", refresh_token: str = "", md=None):
    return await h.stub.CreateDevice(pb.CreateDeviceRequest(parent="users/me", device=device_pb2.Device(
        display_name="Ring", integration="oura", sample_source="Oura Ring",
        sync_settings=device_pb2.SyncSettings(backfill_days=10),
        credentials=device_pb2.DeviceCredentials(access_token=access_token, refresh_token=refresh_token))),
        metadata=md or h.md)


async def finished(h: DeviceHarness, name: str) -> sync_pb2.Sync:
    """The sync once the worker has ended it (the worker runs in the background, as in production)."""
    for _ in range(300):
        sync = await h.stub.GetSync(pb.GetSyncRequest(name=name), metadata=h.md)
        if sync.state not in (Sync.PENDING, Sync.RUNNING):
            return sync
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} did not finish: {sync}")


async def test_an_oura_sync_through_the_rpcs_and_a_second_one_over_the_same_window_adds_nothing(world):
    h, oura = world
    device = await ring(h)
    first = await h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name), metadata=h.md)
    assert first.name.startswith(device.name + "/syncs/") and first.trigger == Sync.MANUAL
    assert first.data_start_time == ts(NOW - dt.timedelta(days=10)) and first.data_end_time == ts(NOW)
    done = await finished(h, first.name)
    assert done.state == Sync.SUCCEEDED and done.failure_reason == ""
    assert (done.accepted, done.duplicate, done.updated, done.rejected) == (11, 0, 0, 1)
    assert done.errors[0].reason == "INVALID_VALUE" and done.end_time.seconds > 0
    assert (await h.stub.GetDevice(pb.GetDeviceRequest(name=device.name), metadata=h.md)).last_sync_time == ts(NOW)

    h.clock.advance(hours=1)
    again = await h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name, start_time=first.data_start_time),
                                     metadata=h.md)
    again = await finished(h, again.name)
    assert (again.accepted, again.duplicate, again.updated, again.rejected) == (0, 11, 0, 1)

    listed = await h.stub.ListSyncs(pb.ListSyncsRequest(parent=device.name, page_size=1), metadata=h.md)
    assert [s.name for s in listed.syncs] == [again.name] and listed.next_page_token
    rest = await h.stub.ListSyncs(pb.ListSyncsRequest(parent=device.name, page_size=1,
                                                      page_token=listed.next_page_token), metadata=h.md)
    assert [s.name for s in rest.syncs] == [first.name] and not rest.next_page_token
    tracking = tracking_service_pb2_grpc.TrackingServiceStub(h.tracking.channel)
    heart = await tracking.ListSamples(tracking_service_pb2.ListSamplesRequest(
        parent="users/me", type="heart_rate", page_size=100), metadata=h.md)
    assert len(heart.samples) == 6 and {s.source for s in heart.samples} == {"Oura Ring"}


async def test_expired_credentials_fail_the_sync_the_device_shows_error_and_retry_sync_keeps_the_window(world):
    h, oura = world
    oura.refresh_works = False
    device = await ring(h, access_token="stale", refresh_token="refresh-1")
    failed = await finished(h, (await h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name),
                                                         metadata=h.md)).name)
    assert (failed.state, failed.failure_reason) == (Sync.FAILED, "CREDENTIALS_EXPIRED") and failed.failure_message
    got = await h.stub.GetDevice(pb.GetDeviceRequest(name=device.name), metadata=h.md)
    assert got.state == device_pb2.Device.ERROR
    oura.refresh_works = True
    retried = await h.stub.RetrySync(pb.RetrySyncRequest(name=failed.name), metadata=h.md)
    assert (retried.trigger, retried.retry_of) == (Sync.RETRY, failed.name)
    assert (retried.data_start_time, retried.data_end_time) == (failed.data_start_time, failed.data_end_time)
    assert (await finished(h, retried.name)).state == Sync.SUCCEEDED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.stub.RetrySync(pb.RetrySyncRequest(name=retried.name), metadata=h.md)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_push_device_without_a_stream_waits_pending(world):
    h, _ = world
    device = await h.stub.CreateDevice(pb.CreateDeviceRequest(parent="users/me", device=device_pb2.Device(
        display_name="Band")), metadata=h.md)
    sync = await h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name), metadata=h.md)
    await asyncio.sleep(0.3)  # (the worker has seen it by now; it waits for a stream)
    assert (await h.stub.GetSync(pb.GetSyncRequest(name=sync.name), metadata=h.md)).state == Sync.PENDING
    same = await h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name), metadata=h.md)
    assert same.name == sync.name  # one open sync per device


async def test_bad_sync_calls_are_client_errors(world):
    h, _ = world
    device = await ring(h)

    async def code(call) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        return err.value

    future = await code(h.stub.TriggerSync(pb.TriggerSyncRequest(
        name=device.name, start_time=ts(NOW + dt.timedelta(hours=1))), metadata=h.md))
    assert future.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(future) == ["start_time"]
    old = await code(h.stub.TriggerSync(pb.TriggerSyncRequest(
        name=device.name, start_time=ts(NOW - dt.timedelta(days=400))), metadata=h.md))
    assert old.code() == grpc.StatusCode.INVALID_ARGUMENT
    other_md, _ = await h.another_user()
    assert (await code(h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name), metadata=other_md))
            ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await code(h.stub.ListSyncs(pb.ListSyncsRequest(parent=device.name), metadata=other_md))
            ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await code(h.stub.GetSync(pb.GetSyncRequest(name=device.name + "/syncs/0190e2a4-0000-7000-8000-000000000000"),
                                      metadata=h.md))).code() == grpc.StatusCode.NOT_FOUND
    assert (await code(h.stub.GetSync(pb.GetSyncRequest(name=device.name + "/syncs/x"), metadata=h.md))
            ).code() == grpc.StatusCode.NOT_FOUND
    unknown = device.name.rsplit("/", 1)[0] + "/0190e2a4-0000-7000-8000-000000000000"
    assert (await code(h.stub.TriggerSync(pb.TriggerSyncRequest(name=unknown), metadata=h.md))
            ).code() == grpc.StatusCode.NOT_FOUND
    assert (await code(h.stub.ListSyncs(pb.ListSyncsRequest(parent=device.name, page_token="forged"), metadata=h.md))
            ).code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_pausing_or_deleting_a_device_cancels_its_open_sync(world, migrated_dsn):
    h, _ = world
    for stop in ("pause", "delete"):
        device = await h.stub.CreateDevice(pb.CreateDeviceRequest(parent="users/me", device=device_pb2.Device(
            display_name=f"Band to {stop}")), metadata=h.md)
        sync = await h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name), metadata=h.md)
        if stop == "pause":
            await h.stub.UpdateDevice(pb.UpdateDeviceRequest(
                device=device_pb2.Device(name=device.name, state=device_pb2.Device.PAUSED),
                update_mask=field_mask_pb2.FieldMask(paths=["state"])), metadata=h.md)
            assert (await h.stub.GetSync(pb.GetSyncRequest(name=sync.name), metadata=h.md)).state == Sync.CANCELLED
        else:
            await h.stub.DeleteDevice(pb.DeleteDeviceRequest(name=device.name), metadata=h.md)
            with pytest.raises(grpc.aio.AioRpcError) as err:  # the device is gone, and its syncs with it
                await h.stub.GetSync(pb.GetSyncRequest(name=sync.name), metadata=h.md)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            conn = await asyncpg.connect(migrated_dsn)
            try:  # kept as history, ended
                state = await conn.fetchval("SELECT state FROM device.syncs WHERE id = $1",
                                            uuid.UUID(sync.name.rsplit("/", 1)[1]))
            finally:
                await conn.close()
            assert state == Sync.CANCELLED
