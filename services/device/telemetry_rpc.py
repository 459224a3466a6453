"""StreamTelemetry's RPC: parse the device's messages, run the stream, render what it sends.

A mixin for DeviceServicer (`self.telemetry` is the TelemetryService). Batches are read only as
far as their envelope (sequence, size, sync) and sent on to Tracking in their own encoding; acks
come back from Tracking as bytes and are merged into the response as they are.
"""

from __future__ import annotations

from healthmesh.device.v1 import device_service_pb2 as pb

from services.common.convert import set_timestamp
from services.common.principal import current_principal
from services.device.telemetry import BatchEnvelope, first_message_error
from services.device.telemetry_service import (
    Ack, Batch, Heartbeat, Outgoing, Reopen, ResumePoint, SyncRequest, TelemetryService,
)


def envelope(batch: pb.TelemetryBatch) -> BatchEnvelope:
    has_columns = batch.HasField("columns")
    if has_columns:
        c = batch.columns
        size = max(len(c.start_time_micros), len(c.type), len(c.value))
    else:
        size = len(batch.samples)
    return BatchEnvelope(batch.sequence, size, bool(batch.samples), has_columns, batch.sync, batch.sync_complete)


async def incoming(requests):
    """The device's messages after `open`, as the stream reads them."""
    async for request in requests:
        kind = request.WhichOneof("kind")
        if kind == "batch":
            yield Batch(envelope(request.batch), request.batch.SerializeToString())
        elif kind == "open":
            yield Reopen()
        else:  # a heartbeat, or an empty message, which says no more
            yield Heartbeat()


def response(out: Outgoing, now) -> pb.StreamTelemetryResponse:
    message = pb.StreamTelemetryResponse()
    if isinstance(out, Ack):
        message.ack.MergeFromString(out.payload)  # Tracking's ack as it came
    elif isinstance(out, ResumePoint):
        message.resume_point.last_sequence = out.last_sequence
    elif isinstance(out, Heartbeat):
        set_timestamp(message.heartbeat.send_time, now())
    elif isinstance(out, SyncRequest):
        r = message.sync_request
        r.sync = out.sync
        set_timestamp(r.start_time, out.start_time)
        set_timestamp(r.end_time, out.end_time)
        r.sample_types.extend(out.sample_types)
    return message


class TelemetryRpcs:
    telemetry: TelemetryService

    async def StreamTelemetry(self, request_iterator, context):
        principal = current_principal.get()
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        requests = aiter(request_iterator)
        try:
            first = await anext(requests)
        except StopAsyncIteration:
            return  # the device went before opening: nothing to answer
        kind = first.WhichOneof("kind")
        if kind != "open":
            raise first_message_error(kind)
        device = await self.telemetry.open(principal, first.open.device)
        clock = self.telemetry.clock
        async for out in self.telemetry.run(device, principal, metadata, first.open.resume, incoming(requests)):
            yield response(out, clock)
