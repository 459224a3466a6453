"""A telemetry stream under the registry's rules, as an upload is: the write quotas (a batch beyond
them ends the stream RESOURCE_EXHAUSTED with RetryInfo, unstored and unacked, and the client
resumes after the delay), the device's capabilities, and last_seen_time as batches arrive.

The first tests run Device as production wires it (services/device/app.py) on a clock the test
moves; the client's test runs the stream's harness with real quota windows on a clock that the
client's wait moves, so no test waits for a window to pass."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import grpc
import pytest
from google.rpc import error_details_pb2
from healthmesh.auth.v1 import auth_service_pb2_grpc
from google.protobuf import timestamp_pb2
from healthmesh.device.v1 import device_pb2, device_service_pb2 as pb
from healthmesh.device.v1 import device_service_pb2_grpc
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc

from client.telemetry import TelemetryClient
from services.common.server import stop_server
from services.device.domain import Quota
from services.device.quotas import LocalWindows, WriteQuotas
from tests.integration.device_harness import DeviceHarness, start_device
from tests.integration.telemetry_harness import (
    START, Devices, heart_rate_columns, heart_rate_samples, new_user, stored,
)
from tests.integration.telemetry_harness import start_device as start_stream_device
from tests.integration.telemetry_harness import stop_device as stop_stream_device
from tests.integration.test_auth_service import bearer, details, register_and_login
from tests.integration.tracking_harness import start_tracking, stop_tracking

PER_DEVICE = 250  # samples per window: two batches of 100 pass, the third does not


@pytest.fixture
async def device(migrated_dsn, auth_harness):
    built, server, port, tracking, clock = await start_device(
        migrated_dsn, auth_harness.port, device_quota_per_device=PER_DEVICE, device_quota_per_user=100_000)
    auth = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    _, session = await register_and_login(auth)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    harness = DeviceHarness(built, server, port, channel, device_service_pb2_grpc.DeviceServiceStub(channel),
                            tracking, auth, bearer(session.access_token), session, clock)
    yield harness
    await channel.close()
    await stop_server(server, built.runtime, 0.5)
    await built.close()
    await stop_tracking(tracking)
    await asyncio.sleep(0)


async def create(harness: DeviceHarness, **fields) -> device_pb2.Device:
    return await harness.stub.CreateDevice(pb.CreateDeviceRequest(
        parent="users/me", device=device_pb2.Device(display_name="Strap", **fields)), metadata=harness.md)


def rows(sequence: int, first: int, n: int) -> pb.StreamTelemetryRequest:
    return pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=sequence, samples=heart_rate_samples(first, n)))


async def opened(harness: DeviceHarness, name: str):
    call = harness.stub.StreamTelemetry(metadata=harness.md)
    await call.write(pb.StreamTelemetryRequest(open=pb.TelemetryOpen(device=name, resume=True)))
    first = await call.read()
    assert first.WhichOneof("kind") == "resume_point"
    return call, first.resume_point.last_sequence


async def listed(harness: DeviceHarness, start: dt.datetime, end: dt.datetime, type_: str = "") -> list:
    """The user's samples starting in [start, end), read through Tracking."""
    tracking = tracking_service_pb2_grpc.TrackingServiceStub(harness.tracking.channel)
    out, token = [], ""
    while True:
        page = await tracking.ListSamples(tracking_service_pb2.ListSamplesRequest(
            parent="users/me", type=type_, page_size=1000, page_token=token, start_time=ts(start),
            end_time=ts(end)), metadata=harness.md)
        out.extend(page.samples)
        token = page.next_page_token
        if not token:
            return out


def ts(t: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(t)
    return out


def second(i: int) -> dt.datetime:
    return START + dt.timedelta(seconds=i)  # heart_rate_samples(first, n) start at START + first seconds


def retry_seconds(err: grpc.aio.AioRpcError) -> int | None:
    for detail in details(err).details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds
    return None


def reason(err: grpc.aio.AioRpcError) -> str:
    for detail in details(err).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


async def test_a_batch_beyond_the_device_quota_ends_the_stream_unstored_with_retry_info(device):
    made = await create(device)
    call, point = await opened(device, made.name)
    assert point == 0
    for n in range(1, 4):  # 300 samples against 250: the third batch is refused
        await call.write(rows(n, (n - 1) * 100, 100))
    await call.done_writing()  # were the third taken, the stream would end OK
    acks = []
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        while (r := await call.read()) is not grpc.aio.EOF:
            acks.append(r.ack)
    err = ended.value
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.details()
    assert reason(err) == "WRITE_QUOTA_EXCEEDED"
    assert 1 <= retry_seconds(err) <= 60
    assert [(a.sequence, a.accepted) for a in acks] == [(1, 100), (2, 100)]  # the batches before it, acked
    assert len(await listed(device, second(0), second(200))) == 200
    assert await listed(device, second(200), second(300)) == []  # the refused batch was never written
    again, point = await opened(device, made.name)
    assert point == 2  # the device resends from the refused batch
    await again.write(rows(3, 200, 1))
    response = await again.read()
    assert (response.ack.sequence, response.ack.accepted) == (3, 1)  # the refused 100 were not counted: 201 <= 250
    again.cancel()


async def test_streamed_samples_outside_the_capabilities_are_rejected_and_not_stored(device):
    made = await create(device, capabilities=["heart_rate"])
    call, _ = await opened(device, made.name)
    samples = heart_rate_samples(0, 5)
    samples[1].type = "step_count"
    samples[3].type = "step_count"
    samples[4].value = float("nan")  # Tracking's own rejection, its index mapped back onto the whole batch
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=1, samples=samples)))
    columns = heart_rate_columns(10, 4)
    columns.strings.append("step_count")
    columns.type[0] = columns.type[2] = len(columns.strings) - 1
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=2, columns=columns)))
    only_steps = heart_rate_samples(20, 2)
    for s in only_steps:
        s.type = "step_count"
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=3, samples=only_steps)))
    await call.write(rows(4, 30, 3))
    await call.done_writing()
    acks = []
    while (r := await call.read()) is not grpc.aio.EOF:
        acks.append(r.ack)
    assert await call.code() == grpc.StatusCode.OK
    assert [(a.sequence, a.accepted, a.rejected) for a in acks] == [(1, 2, 3), (2, 2, 2), (3, 0, 2), (4, 3, 0)]
    assert [(e.index, e.reason) for e in acks[0].errors] == [
        (1, "TYPE_NOT_IN_CAPABILITIES"), (3, "TYPE_NOT_IN_CAPABILITIES"), (4, "INVALID_VALUE")]
    assert [(e.index, e.reason) for e in acks[1].errors] == [(0, "TYPE_NOT_IN_CAPABILITIES"),
                                                             (2, "TYPE_NOT_IN_CAPABILITIES")]
    assert [(e.index, e.reason) for e in acks[2].errors] == [(0, "TYPE_NOT_IN_CAPABILITIES"),
                                                             (1, "TYPE_NOT_IN_CAPABILITIES")]
    stored_samples = await listed(device, second(0), second(100))
    assert sorted(s.start_time.ToDatetime(dt.UTC) for s in stored_samples) == [
        second(i) for i in (0, 2, 11, 13, 30, 31, 32)]
    assert {s.type for s in stored_samples} == {"heart_rate"}


async def test_last_seen_time_moves_with_the_first_batch_then_at_most_every_30_seconds(device):
    made = await create(device)
    opened_at = device.clock.now
    call, _ = await opened(device, made.name)

    async def batch_at(seconds_after_open: int, sequence: int) -> dt.datetime:
        device.clock.now = opened_at + dt.timedelta(seconds=seconds_after_open)
        await call.write(rows(sequence, sequence * 10, 5))
        assert (await call.read()).ack.sequence == sequence
        got = await device.stub.GetDevice(pb.GetDeviceRequest(name=made.name), metadata=device.md)
        return got.last_seen_time.ToDatetime(dt.UTC)

    assert await batch_at(10, 1) == opened_at + dt.timedelta(seconds=10)  # the first batch after it
    assert await batch_at(25, 2) == opened_at + dt.timedelta(seconds=10)  # 15 s on: not written again
    assert await batch_at(39, 3) == opened_at + dt.timedelta(seconds=10)
    assert await batch_at(40, 4) == opened_at + dt.timedelta(seconds=40)  # 30 s after the last write
    await call.done_writing()
    while await call.read() is not grpc.aio.EOF:
        pass


# The client library against a quota, on the stream's harness.

@dataclass
class QuotaDevices(Devices):
    """The harness's devices, with the registry's write quotas as the stream's Charge."""

    quotas: WriteQuotas = field(default=None)

    async def charge(self, device, samples: int) -> None:
        await self.quotas.take(device.user_id, device.device_id, samples)


class Ticks:
    """The quota windows' clock, moved only by the client's waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_client_waits_as_retry_info_says_and_everything_lands_once(auth_harness, migrated_dsn):
    ticks = Ticks()
    quotas = WriteQuotas(Quota(per_device=PER_DEVICE, per_user=100_000, window_seconds=60), local=LocalWindows(ticks))
    devices = QuotaDevices(quotas=quotas)
    tracking = await start_tracking(migrated_dsn, auth_harness.port)
    server = await start_stream_device(migrated_dsn, auth_harness.port, tracking.port, devices)
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)
        ticks.now += seconds  # the refusing window is over once the client waited as told
        await asyncio.sleep(0)

    try:
        user_id, login = await new_user(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel))
        streaming = devices.add(user_id)
        async with TelemetryClient(f"127.0.0.1:{server.port}", streaming.name, login.access_token,
                                   sleep=wait) as client:
            for n in range(5):  # 500 samples: windows of 250 take 1-2, 3-4 and 5
                await client.send(samples=heart_rate_samples(n * 100, 100))
        assert waits == [60.0, 60.0]  # twice refused, each time waiting what RetryInfo said (no backoff)
        assert client.totals.reconnects == 2
        assert client.totals.duplicate == 0 and client.totals.samples == 500  # nothing sent twice
        assert await stored(migrated_dsn, user_id) == 500  # nothing lost
    finally:
        await stop_stream_device(server)
        await stop_tracking(tracking)
        await quotas.close()


async def test_a_stream_and_an_upload_share_the_device_s_quota(device):
    made = await create(device)
    call, _ = await opened(device, made.name)
    await call.write(rows(1, 0, 200))
    assert (await call.read()).ack.accepted == 200
    with pytest.raises(grpc.aio.AioRpcError) as err:  # 200 streamed + 100 uploaded > 250
        await device.stub.UploadDeviceData(pb.UploadDeviceDataRequest(
            name=made.name, samples=heart_rate_samples(500, 100)), metadata=device.md)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    await call.done_writing()
    while await call.read() is not grpc.aio.EOF:
        pass
