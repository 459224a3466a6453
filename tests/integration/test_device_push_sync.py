"""A push device's sync over its open telemetry stream, with Device wired as in production: the
part syncs (services/device/sync_service.py) and StreamTelemetry (services/device/telemetry*.py)
share. Needs StreamTelemetry built."""

from __future__ import annotations

import asyncio
import datetime as dt

from healthmesh.device.v1 import device_pb2, device_service_pb2 as pb
from healthmesh.tracking.v1 import sample_pb2

from tests.integration.test_device_sync_rpcs import NOW, Sync, finished, world  # noqa: F401 (world: fixture)
from tests.integration.test_tracking_samples import ts


async def test_a_push_sync_is_asked_over_the_open_stream_and_ends_with_its_last_batch(world):
    """The part syncs and the telemetry stream share: TriggerSync sends a sync_request on the
    device's open stream; the batches naming the sync add to it; sync_complete ends it SUCCEEDED."""
    h, _ = world
    device = await h.stub.CreateDevice(pb.CreateDeviceRequest(parent="users/me", device=device_pb2.Device(
        display_name="Band", capabilities=["heart_rate"])), metadata=h.md)
    call = h.stub.StreamTelemetry(metadata=h.md)
    await call.write(pb.StreamTelemetryRequest(open=pb.TelemetryOpen(device=device.name, resume=False)))
    assert (await call.read()).WhichOneof("kind") == "resume_point"
    sync = await h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name), metadata=h.md)
    while (message := await asyncio.wait_for(call.read(), 30)).WhichOneof("kind") != "sync_request":
        pass  # (heartbeats)
    asked = message.sync_request
    assert asked.sync == sync.name and asked.start_time == sync.data_start_time and asked.end_time == sync.data_end_time
    start = NOW - dt.timedelta(hours=3)
    samples = [sample_pb2.Sample(type="heart_rate", start_time=ts(start + dt.timedelta(minutes=i)), value=60 + i,
                                 unit="/min") for i in range(5)]
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=1, samples=samples[:3],
                                                                       sync=asked.sync)))
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=2, samples=samples[2:],
                                                                       sync=asked.sync, sync_complete=True)))
    acks = []
    while len(acks) < 2:
        message = await asyncio.wait_for(call.read(), 30)
        if message.WhichOneof("kind") == "ack":
            acks.append(message.ack)
    await call.done_writing()
    done = await finished(h, sync.name)
    assert done.state == Sync.SUCCEEDED
    assert (done.accepted, done.duplicate, done.rejected) == (5, 1, 0)  # sample 2 was sent twice
    got = await h.stub.GetDevice(pb.GetDeviceRequest(name=device.name), metadata=h.md)
    assert got.last_sync_time.seconds > 0


async def test_a_push_sync_waiting_for_a_stream_is_sent_as_soon_as_one_opens(world):
    """Device's clock stands still here, so the sync's next look (POLL) never comes: only the
    stream's opening can make it due."""
    h, _ = world
    device = await h.stub.CreateDevice(pb.CreateDeviceRequest(parent="users/me", device=device_pb2.Device(
        display_name="Band")), metadata=h.md)
    sync = await h.stub.TriggerSync(pb.TriggerSyncRequest(name=device.name), metadata=h.md)
    for _ in range(100):  # until the worker has looked for a stream and found none
        row = await h.stub.GetSync(pb.GetSyncRequest(name=sync.name), metadata=h.md)
        if row.start_time.seconds and row.state == Sync.PENDING:  # (RUNNING while the worker looks)
            break
        await asyncio.sleep(0.05)
    assert row.state == Sync.PENDING and row.start_time.seconds
    call = h.stub.StreamTelemetry(metadata=h.md)
    await call.write(pb.StreamTelemetryRequest(open=pb.TelemetryOpen(device=device.name, resume=False)))
    assert (await call.read()).WhichOneof("kind") == "resume_point"
    while (message := await asyncio.wait_for(call.read(), 30)).WhichOneof("kind") != "sync_request":
        pass
    assert message.sync_request.sync == sync.name
    await call.done_writing()
