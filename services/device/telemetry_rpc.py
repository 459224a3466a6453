"""StreamTelemetry's RPC: parse the device's messages, run the stream, render what it sends.

A mixin for DeviceServicer (`self.telemetry` is the TelemetryService). Batches are read only as
far as their envelope (sequence, size, sync) and sent on to Tracking in their own encoding; acks
come back from Tracking as bytes and are merged into the response as they are. ProtoBatches is the
exception, for the batches with samples outside the device's capabilities: it rewrites those
batches and their acks.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from healthmesh.device.v1 import device_service_pb2 as pb
from healthmesh.tracking.v1 import sample_pb2, tracking_internal_service_pb2

from services.common.convert import set_timestamp
from services.common.principal import current_principal
from services.device import domain
from services.device.domain import Rejection, WriteCounts
from services.device.telemetry import AckCounts, BatchEnvelope, first_message_error
from services.device.telemetry_service import (
    Ack, Batch, Heartbeat, Outgoing, Reopen, ResumePoint, SyncRequest, TelemetryService,
)

# SampleColumns' per-row columns; the optional ones (after `value`) may be absent.
ROW_COLUMNS = ("type", "unit", "source", "start_time_micros", "value")
OPTIONAL_COLUMNS = ("end_time_micros", "utc_offset_minutes", "min", "max", "value2", "meal_context")


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
            yield Batch(envelope(request.batch), request.batch.SerializeToString(), request.batch)
        elif kind == "open":
            yield Reopen()
        else:  # a heartbeat, or an empty message, which says no more
            yield Heartbeat()


def _decoded(batch: Batch) -> pb.TelemetryBatch:
    return batch.message if batch.message is not None else pb.TelemetryBatch.FromString(batch.payload)


def _well_formed(c: tracking_internal_service_pb2.SampleColumns) -> bool:
    """Columns Tracking would take apart row by row (the others it refuses whole)."""
    n = len(c.start_time_micros)
    return (all(len(getattr(c, name)) == n for name in ROW_COLUMNS)
            and all(len(getattr(c, name)) in (0, n) for name in OPTIONAL_COLUMNS)
            and all(i < len(c.strings) for i in set(c.type)))


class ProtoBatches:
    """BatchCodec over the protobuf encodings of TelemetryBatch and WriteSamplesResponse."""

    def distinct_types(self, batch: Batch) -> Collection[str]:
        b = _decoded(batch)
        if b.HasField("columns"):
            c = b.columns
            return {c.strings[i] for i in set(c.type)} if _well_formed(c) else ()
        return {s.type for s in b.samples}

    def types(self, batch: Batch) -> Sequence[str]:
        b = _decoded(batch)
        if b.HasField("columns"):
            strings = b.columns.strings
            return [strings[i] for i in b.columns.type]
        return [s.type for s in b.samples]

    def only(self, batch: Batch, kept: Sequence[int]) -> bytes:
        b = _decoded(batch)
        out = pb.TelemetryBatch(sequence=b.sequence, sync=b.sync, sync_complete=b.sync_complete)
        if not kept:
            return out.SerializeToString()  # an empty batch, which Tracking acks at once
        if b.HasField("columns"):
            c, rows = b.columns, len(b.columns.start_time_micros)
            out.columns.strings.extend(c.strings)
            for name in ROW_COLUMNS + OPTIONAL_COLUMNS:
                column = getattr(c, name)
                if len(column) == rows:
                    getattr(out.columns, name).extend([column[i] for i in kept])
        else:
            out.samples.extend(b.samples[i] for i in kept)
        return out.SerializeToString()

    def with_rejections(self, ack: Ack, kept: Sequence[int], own: Sequence[Rejection]) -> Ack:
        theirs = tracking_internal_service_pb2.WriteSamplesResponse.FromString(ack.payload)
        sent = WriteCounts(theirs.accepted, theirs.duplicate, theirs.updated, theirs.rejected,
                           tuple(Rejection(e.index, e.reason, e.message, e.field) for e in theirs.errors))
        c = domain.merge_counts(sent, kept, own)
        merged = tracking_internal_service_pb2.WriteSamplesResponse(
            sequence=theirs.sequence, accepted=c.accepted, duplicate=c.duplicate, updated=c.updated,
            rejected=c.rejected, errors=[sample_pb2.SampleError(index=e.index, field=e.field, reason=e.reason,
                                                                message=e.message) for e in c.errors])
        counts = AckCounts(theirs.sequence, c.accepted, c.duplicate, c.updated, c.rejected)
        return Ack(counts, merged.SerializeToString())


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
