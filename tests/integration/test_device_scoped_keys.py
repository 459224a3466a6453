"""Device-scoped API keys over real gRPC: Auth binds a key to a device, the device's own calls
accept it, every other call in every service is PERMISSION_DENIED, and deleting the device
revokes it."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
from healthmesh.auth.v1 import api_key_pb2, auth_service_pb2
from healthmesh.device.v1 import device_pb2, device_service_pb2 as pb
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc

from tests.integration.device_harness import device  # noqa: F401 (fixture)
from tests.integration.test_auth_service import bearer
from tests.integration.test_device_registry import create, fails, reason
from tests.integration.test_tracking_samples import T0, sample


async def scoped_key(harness, device_name: str, md=None) -> str:
    reply = await harness.auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="ring", device=device_name)),
        metadata=md or harness.md)
    assert reply.api_key.device == device_name.replace("users/me/", f"{harness.session.user.name}/")  # as stored
    return reply.secret


def upload(name: str, minute: int = 0) -> pb.UploadDeviceDataRequest:
    return pb.UploadDeviceDataRequest(name=name, samples=[
        sample("heart_rate", T0 + dt.timedelta(minutes=minute), 60, "count/min")])


async def test_a_device_key_sends_that_devices_data_and_nothing_else(device):
    ring, watch = await create(device, display_name="ring"), await create(device, display_name="watch")
    key = bearer(await scoped_key(device, ring.name.replace(device.session.user.name, "users/me")))
    stored = await device.stub.UploadDeviceData(upload(ring.name), metadata=key)
    assert stored.accepted == 1
    health = await device.stub.ReportDeviceHealth(pb.ReportDeviceHealthRequest(name=ring.name, battery_percent=50),
                                                  metadata=key)
    assert health.battery_percent == 50

    err = await fails(device.stub.UploadDeviceData(upload(watch.name), metadata=key), grpc.StatusCode.PERMISSION_DENIED)
    assert reason(err) == "DEVICE_SCOPED_KEY"
    await fails(device.stub.ReportDeviceHealth(pb.ReportDeviceHealthRequest(name=watch.name), metadata=key),
                grpc.StatusCode.PERMISSION_DENIED)
    tracking = tracking_service_pb2_grpc.TrackingServiceStub(device.tracking.channel)
    for call in (
        device.stub.GetDevice(pb.GetDeviceRequest(name=ring.name), metadata=key),
        device.stub.ListDevices(pb.ListDevicesRequest(parent="users/me"), metadata=key),
        device.stub.DeleteDevice(pb.DeleteDeviceRequest(name=ring.name), metadata=key),
        device.stub.GetDeviceHealth(pb.GetDeviceHealthRequest(name=ring.name + "/health"), metadata=key),
        device.stub.CreateDevice(pb.CreateDeviceRequest(parent="users/me", device=device_pb2.Device(display_name="x")),
                                 metadata=key),
        device.auth.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=key),
        device.auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
            parent="users/me", api_key=api_key_pb2.ApiKey(display_name="more")), metadata=key),
        tracking.ListSamples(tracking_service_pb2.ListSamplesRequest(parent="users/me"), metadata=key),
    ):
        err = await fails(call, grpc.StatusCode.PERMISSION_DENIED)
        assert reason(err) == "DEVICE_SCOPED_KEY"
    assert (await device.stub.GetDevice(pb.GetDeviceRequest(name=ring.name), metadata=device.md)).name == ring.name


async def test_deleting_the_device_revokes_its_keys(device):
    ring, other = await create(device, display_name="ring"), await create(device, display_name="other")
    doomed = bearer(await scoped_key(device, ring.name))
    kept = bearer(await scoped_key(device, other.name))
    await device.stub.UploadDeviceData(upload(ring.name), metadata=doomed)
    await device.stub.DeleteDevice(pb.DeleteDeviceRequest(name=ring.name), metadata=device.md)
    for _ in range(200):  # Device queues the revocation with the delete and hands it to Auth at once
        keys = await device.auth.ListApiKeys(auth_service_pb2.ListApiKeysRequest(parent="users/me"),
                                             metadata=device.md)
        if [k.device for k in keys.api_keys] == [other.name]:
            break
        await asyncio.sleep(0.05)
    assert [k.device for k in keys.api_keys] == [other.name]
    for _ in range(200):  # the revocation reaches Device's watcher (NOTIFY) and its key cache
        try:
            await device.stub.UploadDeviceData(upload(ring.name, 1), metadata=doomed)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                break
            assert exc.code() == grpc.StatusCode.NOT_FOUND  # until then: the device is gone
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the deleted device's key still authenticates")
    assert (await device.stub.UploadDeviceData(upload(other.name, 5), metadata=kept)).accepted == 1


async def test_a_key_for_another_users_or_a_malformed_device_is_refused(device):
    theirs_md, _ = await device.another_user()
    theirs = await create(device, md=theirs_md)
    err = await fails(device.auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="x", device=theirs.name)), metadata=device.md),
        grpc.StatusCode.PERMISSION_DENIED)
    assert err.details()
    for bad in ("devices/1", "users/me/devices/not-a-uuid", "users/me/apiKeys/0190a0b0-0000-7000-8000-000000000000"):
        await fails(device.auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
            parent="users/me", api_key=api_key_pb2.ApiKey(display_name="x", device=bad)), metadata=device.md),
            grpc.StatusCode.INVALID_ARGUMENT)
    plain = await device.auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="exporter")), metadata=device.md)
    assert plain.api_key.device == ""
    assert (await device.auth.GetUser(auth_service_pb2.GetUserRequest(name="users/me"),
                                      metadata=bearer(plain.secret))).name == device.session.user.name
