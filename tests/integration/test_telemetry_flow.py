"""The stream's flow control and resume point, with a Tracking the test holds (acks only when
released) and the real resume points in PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from healthmesh.tracking.v1 import tracking_internal_service_pb2

from services.common.clock import utcnow
from services.common.db import create_engine, migrate
from services.common.errors import InvalidArgument
from services.common.principal import Principal
from services.device.telemetry import WINDOW, AckCounts, BatchEnvelope, TelemetryStreams
from services.device.telemetry_repository import SqlResumePoints
from services.device.telemetry_service import Ack, Batch, Heartbeat, ResumePoint, StreamDevice, TelemetryService
from tests.integration.conftest import make_settings


class HeldTracking:
    """A Tracking call that acks only when the test releases a batch; it records how many
    batches were in its hands at each write."""

    def __init__(self) -> None:
        self.in_flight: list[int] = []
        self.most_in_flight = 0
        self.released = asyncio.Queue()

    def open(self, user_id, ingest_id, default_source):
        return self

    async def write(self, payload: bytes) -> None:
        self.in_flight.append(tracking_internal_service_pb2.WriteSamplesRequest.FromString(payload).sequence)
        self.most_in_flight = max(self.most_in_flight, len(self.in_flight))

    async def read(self) -> Ack:
        await self.released.get()
        sequence = self.in_flight.pop(0)
        return Ack(AckCounts(sequence, 1, 0, 0, 0), b"")

    async def done_writing(self) -> None:
        pass

    def cancel(self) -> None:
        pass


class Devices:
    def __init__(self, device: StreamDevice) -> None:
        self.device = device

    async def for_stream(self, principal, name):
        return self.device


@pytest.fixture
async def engine(migrated_dsn):
    await migrate(migrated_dsn, "device")
    engine = create_engine(make_settings(migrated_dsn))
    yield engine
    await engine.dispose()


def stream_device() -> StreamDevice:
    user, device = uuid.uuid4(), uuid.uuid4()
    return StreamDevice(user, device, f"users/{user}/devices/{device}", "Watch")


def service(engine, tracking, device) -> TelemetryService:
    async def authenticate(metadata):
        return Principal("user", str(device.user_id))
    return TelemetryService(TelemetryStreams(), SqlResumePoints(engine), tracking, Devices(device), authenticate)


def raw_batch(sequence: int) -> Batch:
    payload = tracking_internal_service_pb2.WriteSamplesRequest(sequence=sequence).SerializeToString()
    return Batch(BatchEnvelope(sequence, 1, True, False), payload)


async def test_at_most_two_batches_are_in_flight_and_the_device_is_read_no_further(engine):
    device = stream_device()
    tracking = HeldTracking()
    pulls_while_full = []

    async def incoming():
        for n in range(1, 9):
            pulls_while_full.append(len(tracking.in_flight) >= WINDOW)  # reading now would overrun the window
            yield raw_batch(n)

    out = []
    stream = service(engine, tracking, device).run(device, Principal("user", str(device.user_id)), {}, True,
                                                   incoming())

    async def consume():
        async for message in stream:
            out.append(message)

    task = asyncio.create_task(consume())
    for _ in range(8):
        while len(tracking.in_flight) < min(WINDOW, 8 - sum(isinstance(m, Ack) for m in out)):
            await asyncio.sleep(0)
        tracking.released.put_nowait(None)
        await asyncio.sleep(0)
    await task
    assert isinstance(out[0], ResumePoint)
    assert [m.counts.sequence for m in out[1:]] == list(range(1, 9))  # one ack per batch, in order
    assert tracking.most_in_flight == WINDOW and not any(pulls_while_full)


async def test_the_resume_point_follows_the_acks_and_a_new_stream_starts_there(engine):
    device = stream_device()
    tracking = HeldTracking()
    for _ in range(3):
        tracking.released.put_nowait(None)

    async def three():
        for n in (1, 2, 3):
            yield raw_batch(n)

    svc = service(engine, tracking, device)
    principal = Principal("user", str(device.user_id))
    out = [m async for m in svc.run(device, principal, {}, True, three())]
    assert [m.counts.sequence for m in out if isinstance(m, Ack)] == [1, 2, 3]
    assert await SqlResumePoints(engine).last_sequence(device.user_id, device.device_id) == 3

    async def stale():
        yield raw_batch(3)

    again = svc.run(device, principal, {}, True, stale())
    assert await anext(again) == ResumePoint(3)
    with pytest.raises(InvalidArgument):
        await anext(again)


async def test_a_stream_superseded_on_another_replica_ends_aborted_at_its_next_ack(engine):
    device = stream_device()
    tracking = HeldTracking()
    principal = Principal("user", str(device.user_id))
    gate = asyncio.Event()

    async def batches():
        yield raw_batch(1)
        await gate.wait()
        yield raw_batch(2)
        await asyncio.Event().wait()  # the device keeps the stream open

    # Another replica (its own registry) opens a newer stream for the device meanwhile.
    first = service(engine, tracking, device).run(device, principal, {}, True, batches())
    assert await anext(first) == ResumePoint(0)
    await SqlResumePoints(engine).open(device.user_id, device.device_id, True, utcnow())
    tracking.released.put_nowait(None)
    assert (await anext(first)).counts.sequence == 1  # stored, so acked; the resume write then misses
    gate.set()
    tracking.released.put_nowait(None)
    with pytest.raises(Exception) as err:
        while True:
            await anext(first)
    assert getattr(err.value, "code", None) == "ABORTED"


async def test_heartbeats_are_answered(engine):
    device = stream_device()

    async def one():
        yield Heartbeat()

    out = [m async for m in service(engine, HeldTracking(), device).run(
        device, Principal("user", str(device.user_id)), {}, True, one())]
    assert out[1:] == [Heartbeat()]
