"""StreamTelemetry's use case: one device's stream, from its resume point to its end.

The loop waits for whichever comes first: the device's next message (read only while fewer than
WINDOW batches are in flight to Tracking, which is the flow control), Tracking's next ack (sent on
to the device at once, in order), the stream being ended from outside (a newer stream, a revoked
credential, a deleted device, shutdown), a sync request for the device, or a timer (a heartbeat
after HEARTBEAT_SECONDS without sending, the credential's re-check every RECHECK_SECONDS).

The resume point is written behind the acks, one write at a time and only the latest: a stream
never waits on it, and after a crash it lags what Tracking stored, which costs duplicates only.

Ports: `TrackingPort` (the batches' way to Tracking, as bytes), `DeviceAccess` (the registry: may
this principal stream for this device, and as which source), `SyncProgress` (the syncs: counts of
the batches that answer a sync_request) and `Seen` hooks, run when the stream opens and at each
re-check (the device's last_seen_time; a sync waiting for the device's stream).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from services.common.clock import Clock, utcnow
from services.common.errors import DomainError, InvalidArgument, Unavailable
from services.common.principal import Principal
from services.device.telemetry import (
    HEARTBEAT_SECONDS, RECHECK_SECONDS, WINDOW, AckCounts, Aborted, BatchEnvelope, OpenStream, Sequencer,
    SyncRequest, TelemetryStreams, paused_error, second_open_error,
)
from services.device.telemetry_repository import SqlResumePoints

log = logging.getLogger(__name__)

SHUTDOWN_DRAIN_SECONDS = 5.0  # on shutdown, acks of batches already in Tracking's hands may still come


# What the device sends, as the stream sees it.

@dataclass(frozen=True)
class Batch:
    envelope: BatchEnvelope
    payload: bytes  # the encoded TelemetryBatch, which Tracking reads as a WriteSamplesRequest


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


Seen = Callable[[StreamDevice], Awaitable[None]]
Authenticate = Callable[[Mapping[str, str]], Awaitable[Principal]]


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
                 heartbeat_seconds: float = HEARTBEAT_SECONDS, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.streams = streams
        self._points = resume_points
        self._tracking = tracking
        self._devices = devices
        self._authenticate = authenticate
        self.clock = clock
        self._sync_progress = sync_progress
        self.seen = list(seen or ())
        self._heartbeat = heartbeat_seconds
        self._recheck = recheck_seconds

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

    async def _pump(self, device: StreamDevice, principal: Principal, metadata: Mapping[str, str],
                    stream: OpenStream, sequencer: Sequencer, writer: ResumeWriter, call: TrackingCall,
                    incoming: AsyncIterator[Incoming], tasks: dict[str, asyncio.Future]) -> AsyncIterator[Outgoing]:
        in_flight: collections.deque[BatchEnvelope] = collections.deque()
        half_closed = False
        now = time.monotonic()
        last_sent, next_check = now, now + self._recheck
        drain_until: float | None = None
        tasks["ended"] = asyncio.ensure_future(stream.ended.wait())
        tasks["sync"] = asyncio.ensure_future(stream.sync_requests.get())
        while True:
            if not half_closed and drain_until is None and "read" not in tasks and len(in_flight) < WINDOW:
                tasks["read"] = asyncio.ensure_future(anext(incoming))
            if in_flight and "ack" not in tasks:
                tasks["ack"] = asyncio.ensure_future(call.read())
            if (half_closed or drain_until is not None) and not in_flight:
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
                if ack.counts.sequence != sent.sequence:
                    raise Unavailable(f"tracking acked batch {ack.counts.sequence}, expected {sent.sequence}")
                yield ack
                last_sent = time.monotonic()
                writer.acked(sent.sequence)
                if sent.sync and self._sync_progress is not None:
                    await self._sync_progress.batch_acked(device, sent.sync, ack.counts, sent.sync_complete)
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
                    await call.write(message.payload)
                    in_flight.append(message.envelope)
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
                await self._check_again(principal, metadata, device)
                next_check = now + self._recheck
            if now >= last_sent + self._heartbeat:
                yield Heartbeat()
                last_sent = now
        if drain_until is not None:
            raise _ending(stream)

    async def _check_again(self, principal: Principal, metadata: Mapping[str, str], device: StreamDevice) -> None:
        """The credential still valid (not expired, not revoked) and the device still there."""
        again = await self._authenticate(metadata)
        if again.user_id != principal.user_id:
            raise Aborted("the stream's credential now names another user", "CREDENTIAL_CHANGED")
        current = await self._devices.for_stream(again, device.name)
        if current.paused:
            raise paused_error()
        await self._run_seen(device)

    async def _run_seen(self, device: StreamDevice) -> None:
        for hook in self.seen:
            try:
                await hook(device)
            except Exception:  # noqa: BLE001 - last_seen_time lags; the stream is what matters
                log.warning("telemetry: a hook on the device's stream failed", exc_info=True)


def _ending(stream: OpenStream) -> DomainError:
    return stream.error or InvalidArgument("the stream ended")
