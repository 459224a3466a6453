"""StreamTelemetry's use case: one device's stream, from its resume point to its end.

The loop waits for whichever comes first: the device's next message (read only while fewer than
WINDOW batches are in flight to Tracking, which is the flow control), Tracking's next ack (sent on
to the device at once, in order), the stream being ended from outside (a newer stream, a revoked
credential, a deleted device, shutdown), a sync request for the device, or a timer (a heartbeat
after HEARTBEAT_SECONDS without sending, the credential's re-check every RECHECK_SECONDS).

The resume point is written behind the acks, one write at a time and only the latest: a stream
never waits on it, and after a crash it lags what Tracking stored, which costs duplicates only.

A batch takes its samples from the device's and the user's write quotas (`Charge`, the uploads'
quotas) before it goes to Tracking. A batch beyond them is neither written nor acked: Device reads
no further, acks the batches already in Tracking's hands, writes the resume point and ends the
stream with RESOURCE_EXHAUSTED and its RetryInfo; the device resends from the resume point once
the delay is over. Samples of a type outside the device's capabilities are taken out of the batch
and rejected in its ack (TYPE_NOT_IN_CAPABILITIES, as for an upload): `BatchCodec` rewrites the
encoded batch and Tracking's ack, only for such batches.

Ports: `TrackingPort` (the batches' way to Tracking, as bytes), `DeviceAccess` (the registry: may
this principal stream for this device, and as which source), `SyncProgress` (the syncs: counts of
the batches that answer a sync_request), `Charge` (the write quotas), `BatchCodec`, and `Seen`
hooks, run when the stream opens, at each re-check, and on batches as SeenThrottle lets them (the
device's last_seen_time; a sync waiting for the device's stream).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.common import metrics
from services.common.clock import Clock, utcnow
from services.common.errors import DomainError, InvalidArgument, ResourceExhausted, Unavailable
from services.common.principal import Principal
from services.device import domain
from services.device.domain import Rejection
from services.device.telemetry import (
    HEARTBEAT_SECONDS, RECHECK_SECONDS, SEEN_EVERY, WINDOW, AckCounts, Aborted, BatchEnvelope, OpenStream,
    SeenThrottle, Sequencer, SyncRequest, TelemetryStreams, paused_error, second_open_error,
)
from services.device.telemetry_repository import SqlResumePoints

log = logging.getLogger(__name__)

SHUTDOWN_DRAIN_SECONDS = 5.0  # on shutdown, acks of batches already in Tracking's hands may still come


# What the device sends, as the stream sees it.

@dataclass(frozen=True)
class Batch:
    envelope: BatchEnvelope
    payload: bytes  # the encoded TelemetryBatch, which Tracking reads as a WriteSamplesRequest
    message: object = None  # the decoded batch, when the RPC has it (BatchCodec reads it rather than the payload)


@dataclass(frozen=True)
class Heartbeat:
    pass


@dataclass(frozen=True)
class Reopen:
    """A second `open` on the same stream."""


Incoming = Batch | Heartbeat | Reopen


# What the stream sends to the device.

@dataclass(frozen=True)
class ResumePoint:
    last_sequence: int


@dataclass(frozen=True)
class Ack:
    counts: AckCounts
    payload: bytes  # Tracking's encoded WriteSamplesResponse, which is a TelemetryAck


Outgoing = ResumePoint | Ack | Heartbeat | SyncRequest


@dataclass(frozen=True)
class StreamDevice:
    user_id: uuid.UUID
    device_id: uuid.UUID
    name: str  # users/{user}/devices/{device}
    sample_source: str
    paused: bool = False
    capabilities: tuple[str, ...] = ()  # the sample types it may send; any when empty

    def accepts(self, sample_type: str) -> bool:
        """As Device.accepts: one of its capabilities, or any type when it declared none."""
        return not self.capabilities or sample_type in self.capabilities


class TrackingCall(Protocol):
    async def write(self, payload: bytes) -> None: ...
    async def read(self) -> Ack: ...
    async def done_writing(self) -> None: ...
    def cancel(self) -> None: ...


class TrackingPort(Protocol):
    def open(self, user_id: uuid.UUID, ingest_id: str, default_source: str) -> TrackingCall: ...


class DeviceAccess(Protocol):
    async def for_stream(self, principal: Principal, device: str) -> StreamDevice:
        """The device, if `principal` may stream for it (PERMISSION_DENIED, NOT_FOUND otherwise)."""


class SyncProgress(Protocol):
    async def batch_acked(self, device: StreamDevice, sync: str, counts: AckCounts, complete: bool) -> None: ...


class BatchCodec(Protocol):
    """The encoded batches and acks, read and rewritten for a batch with samples outside the
    device's capabilities (the others go to Tracking and back as they came)."""

    def distinct_types(self, batch: Batch) -> Collection[str]:
        """The sample types in the batch; none for a malformed one, which goes on as it is (and
        Tracking refuses it whole)."""

    def types(self, batch: Batch) -> Sequence[str]:
        """Each sample's (or row's) type, by index."""

    def only(self, batch: Batch, kept: Sequence[int]) -> bytes:
        """The batch's encoding with only the samples (or rows) at `kept`, in that order."""

    def with_rejections(self, ack: Ack, kept: Sequence[int], own: Sequence[Rejection]) -> Ack:
        """Tracking's ack of the batch sent with only `kept`, as the ack of the whole batch:
        Tracking's indexes mapped back, Device's own rejections merged in."""


Seen = Callable[[StreamDevice], Awaitable[None]]
Charge = Callable[[StreamDevice, int], Awaitable[None]]  # RESOURCE_EXHAUSTED, nothing counted, beyond a quota
Authenticate = Callable[[Mapping[str, str]], Awaitable[Principal]]


@dataclass(frozen=True)
class _Sent:
    """A batch in Tracking's hands, and what its ack needs from Device."""

    envelope: BatchEnvelope
    kept: tuple[int, ...] = ()  # the indexes sent on, when Device rejected some itself
    own: tuple[Rejection, ...] = ()  # Device's own rejections (types outside the capabilities)
    read_at: float = field(default_factory=time.monotonic)  # for the ack latency metric


class ResumeWriter:
    """Writes the latest acked sequence behind the acks, one write at a time; tells `superseded`
    when another replica's newer stream holds the device."""

    def __init__(self, points: SqlResumePoints, device: StreamDevice, epoch: int, clock: Clock,
                 superseded: Callable[[], None]) -> None:
        self._points = points
        self._device = device
        self._epoch = epoch
        self._clock = clock
        self._superseded = superseded
        self._latest = self._written = 0
        self._task: asyncio.Task | None = None

    def acked(self, sequence: int) -> None:
        self._latest = sequence
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._written < self._latest:
            target = self._latest
            try:
                held = await self._points.advance(self._device.user_id, self._device.device_id, self._epoch, target,
                                                  self._clock())
            except Exception as exc:  # noqa: BLE001 - a lagging point costs duplicates, not data
                log.warning("telemetry: resume point not written (%s); it lags until the next ack",
                            type(exc).__name__)
                return
            if not held:
                self._superseded()
                return
            self._written = target

    async def flush(self) -> None:
        if self._task is not None:
            await self._task
        if self._written < self._latest:
            await self._write()


class TelemetryService:
    def __init__(self, streams: TelemetryStreams, resume_points: SqlResumePoints, tracking: TrackingPort,
                 devices: DeviceAccess, authenticate: Authenticate, *, clock: Clock = utcnow,
                 sync_progress: SyncProgress | None = None, seen: list[Seen] | None = None,
                 charge: Charge | None = None, batches: BatchCodec | None = None,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS, recheck_seconds: float = RECHECK_SECONDS,
                 seen_every: dt.timedelta = SEEN_EVERY) -> None:
        self.streams = streams
        self._points = resume_points
        self._tracking = tracking
        self._devices = devices
        self._authenticate = authenticate
        self.clock = clock
        self._sync_progress = sync_progress
        self.seen = list(seen or ())
        self._charge = charge  # None: no quotas (tests' fakes)
        self._batches = batches  # None: no capability check (tests' fakes)
        self._heartbeat = heartbeat_seconds
        self._recheck = recheck_seconds
        self._seen_every = seen_every

    async def open(self, principal: Principal, device_name: str) -> StreamDevice:
        device = await self._devices.for_stream(principal, device_name)
        if device.paused:
            raise paused_error()
        return device

    async def run(self, device: StreamDevice, principal: Principal, metadata: Mapping[str, str], resume: bool,
                  incoming: AsyncIterator[Incoming]) -> AsyncIterator[Outgoing]:
        """The stream after `open`: its resume point, then acks (and heartbeats, sync requests) in
        answer to the device's batches, until the device half-closes or something ends it."""
        stream = self.streams.open(device.user_id, device.device_id, principal)
        metrics.TELEMETRY_STREAMS.inc()
        tasks: dict[str, asyncio.Future] = {}
        call: TrackingCall | None = None
        try:
            opened = await self._points.open(device.user_id, device.device_id, resume, self.clock())
            sequencer = Sequencer(opened.last_sequence)
            writer = ResumeWriter(self._points, device, opened.epoch, self.clock, lambda: stream.end(
                Aborted("a newer stream opened for this device", "NEWER_STREAM")))
            yield ResumePoint(opened.last_sequence)
            await self._run_seen(device)
            call = self._tracking.open(device.user_id, device.name, device.sample_source)
            async for out in self._pump(device, principal, metadata, stream, sequencer, writer, call, incoming, tasks):
                yield out
            await call.done_writing()
            await writer.flush()
        finally:
            for task in tasks.values():
                task.cancel()
            if call is not None:
                call.cancel()
            self.streams.close(stream)
            metrics.TELEMETRY_STREAMS.dec()

    async def _pump(self, device: StreamDevice, principal: Principal, metadata: Mapping[str, str],
                    stream: OpenStream, sequencer: Sequencer, writer: ResumeWriter, call: TrackingCall,
                    incoming: AsyncIterator[Incoming], tasks: dict[str, asyncio.Future]) -> AsyncIterator[Outgoing]:
        in_flight: collections.deque[_Sent] = collections.deque()
        half_closed = False
        refused: ResourceExhausted | None = None  # a batch beyond the quota: acks of the earlier ones, then the end
        seen = SeenThrottle(self._seen_every)
        now = time.monotonic()
        last_sent, next_check = now, now + self._recheck
        drain_until: float | None = None
        tasks["ended"] = asyncio.ensure_future(stream.ended.wait())
        tasks["sync"] = asyncio.ensure_future(stream.sync_requests.get())
        while True:
            reading = not half_closed and refused is None and drain_until is None
            if reading and "read" not in tasks and len(in_flight) < WINDOW:
                tasks["read"] = asyncio.ensure_future(anext(incoming))
            if in_flight and "ack" not in tasks:
                tasks["ack"] = asyncio.ensure_future(call.read())
            if not reading and not in_flight:
                break
            deadline = min(last_sent + self._heartbeat, next_check)
            if drain_until is not None:
                deadline = min(deadline, drain_until)
            waiting = [t for k, t in tasks.items() if not (k == "ended" and drain_until is not None)]
            done, _ = await asyncio.wait(waiting, timeout=max(0.0, deadline - time.monotonic()),
                                         return_when=asyncio.FIRST_COMPLETED)
            if tasks.get("ack") in done:  # acks first: a stored batch is acked even as the stream ends
                ack: Ack = tasks.pop("ack").result()
                sent = in_flight.popleft()
                batch = sent.envelope
                if ack.counts.sequence != batch.sequence:
                    raise Unavailable(f"tracking acked batch {ack.counts.sequence}, expected {batch.sequence}")
                if sent.own:
                    ack = self._batches.with_rejections(ack, sent.kept, sent.own)
                yield ack
                last_sent = time.monotonic()
                metrics.TELEMETRY_ACK.observe(last_sent - sent.read_at)
                writer.acked(batch.sequence)
                if batch.sync and self._sync_progress is not None:
                    await self._sync_progress.batch_acked(device, batch.sync, ack.counts, batch.sync_complete)
            if tasks["ended"] in done and drain_until is None:
                if not isinstance(stream.error, Unavailable) or not in_flight:
                    raise _ending(stream)
                drain_until = time.monotonic() + SHUTDOWN_DRAIN_SECONDS  # shutdown: the acks on their way
                reading = tasks.pop("read", None)
                if reading is not None:  # a batch read now is never acked: the device resends it
                    reading.cancel()
            if drain_until is not None and time.monotonic() >= drain_until:
                raise _ending(stream)
            if tasks.get("read") in done:
                try:
                    message = tasks.pop("read").result()
                except StopAsyncIteration:
                    half_closed = True
                    continue
                if isinstance(message, Batch):
                    sequencer.check(message.envelope)
                    try:
                        payload, sent = await self._admit(device, message)
                    except ResourceExhausted as exc:
                        refused = exc  # neither written nor acked: the device resends it after the delay
                        continue
                    if seen.due(self.clock()):
                        await self._run_seen(device)
                    await call.write(payload)
                    in_flight.append(sent)
                elif isinstance(message, Heartbeat):
                    yield Heartbeat()
                    last_sent = time.monotonic()
                else:
                    raise second_open_error()
            if tasks["sync"] in done:
                yield tasks["sync"].result()
                last_sent = time.monotonic()
                tasks["sync"] = asyncio.ensure_future(stream.sync_requests.get())
            now = time.monotonic()
            if now >= next_check:
                device = await self._check_again(principal, metadata, device)
                next_check = now + self._recheck
            if now >= last_sent + self._heartbeat:
                yield Heartbeat()
                last_sent = now
        if drain_until is not None:
            raise _ending(stream)
        if refused is not None:
            await writer.flush()  # the resume point names the last batch acked: the device resends from there
            raise refused

    async def _admit(self, device: StreamDevice, batch: Batch) -> tuple[bytes, _Sent]:
        """What goes to Tracking for a batch, as for an upload: its samples counted against the
        write quotas first (RESOURCE_EXHAUSTED, nothing written), those of a type outside the
        device's capabilities taken out, to be rejected in its ack."""
        if self._charge is not None:
            await self._charge(device, batch.envelope.size)
        if not device.capabilities or self._batches is None:
            return batch.payload, _Sent(batch.envelope)
        if all(device.accepts(t) for t in self._batches.distinct_types(batch)):  # the usual batch, sent as it came
            return batch.payload, _Sent(batch.envelope)
        kept, own = domain.split_by_capability(device, self._batches.types(batch))
        return self._batches.only(batch, kept), _Sent(batch.envelope, tuple(kept), tuple(own))

    async def _check_again(self, principal: Principal, metadata: Mapping[str, str],
                           device: StreamDevice) -> StreamDevice:
        """The credential still valid (not expired, not revoked) and the device still there; the
        device as it is now (its capabilities may have changed)."""
        again = await self._authenticate(metadata)
        if again.user_id != principal.user_id:
            raise Aborted("the stream's credential now names another user", "CREDENTIAL_CHANGED")
        current = await self._devices.for_stream(again, device.name)
        if current.paused:
            raise paused_error()
        await self._run_seen(device)
        return current

    async def _run_seen(self, device: StreamDevice) -> None:
        for hook in self.seen:
            try:
                await hook(device)
            except Exception:  # noqa: BLE001 - last_seen_time lags; the stream is what matters
                log.warning("telemetry: a hook on the device's stream failed", exc_info=True)


def _ending(stream: OpenStream) -> DomainError:
    return stream.error or InvalidArgument("the stream ended")
