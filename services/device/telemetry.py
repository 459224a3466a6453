"""Telemetry streams: the rules of a stream, and the registry of the streams open on this replica.

A stream's batches carry strictly increasing sequence numbers, above the device's resume point.
At most WINDOW batches of a stream are in flight to Tracking: Device reads one batch ahead of the
one being stored, and no further, so its memory per stream is bounded whatever the device sends.

The registry knows every open stream, so that whatever must end one does it at once: a newer
stream for the same device (ABORTED), a revoked credential (UNAUTHENTICATED), a deleted device
(NOT_FOUND), shutdown (UNAVAILABLE). It also carries sync requests to a device's open stream
(`request_sync`, which Device's syncs use for push devices). Nothing here knows grpc or SQL.

A stream's batches also update the device's last_seen_time, but not each one: SeenThrottle lets
the first batch of a stream through, then one every SEEN_EVERY, so a fast stream does not write
the registry per batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument, Unavailable
from services.common.open_calls import revoked_error, revokes
from services.common.principal import Principal

MAX_BATCH = 10_000
WINDOW = 2  # batches per stream in flight to Tracking: the one being stored and the one read ahead
HEARTBEAT_SECONDS = 60.0  # either side sends a heartbeat after this long without sending anything
RECHECK_SECONDS = 60.0  # the stream's credential is checked again at least this often
SYNC_REQUESTS = 16  # sync requests waiting for one stream; more are refused (the sync waits)
SEEN_EVERY = dt.timedelta(seconds=30)  # a stream's batches update last_seen_time at most this often


class Aborted(DomainError):
    def __init__(self, message: str, reason: str = "ABORTED") -> None:
        super().__init__(message, reason, "ABORTED")


class StreamNotFound(DomainError):
    def __init__(self, message: str, reason: str = "DEVICE_NOT_FOUND") -> None:
        super().__init__(message, reason, "NOT_FOUND")


@dataclass(frozen=True)
class BatchEnvelope:
    """What Device reads of a batch: enough to check and route it, not its samples."""

    sequence: int
    size: int  # samples or column rows
    has_samples: bool
    has_columns: bool
    sync: str = ""
    sync_complete: bool = False


@dataclass(frozen=True)
class AckCounts:
    sequence: int
    accepted: int
    duplicate: int
    updated: int
    rejected: int


class Sequencer:
    """A stream's sequence rule: every batch above the previous one, the first above the resume point."""

    def __init__(self, resume_point: int) -> None:
        self.previous = resume_point

    def check(self, batch: BatchEnvelope) -> None:
        if batch.has_samples and batch.has_columns:
            raise InvalidArgument.field("batch.columns", "a batch carries samples or columns, not both")
        if batch.size > MAX_BATCH:
            raise InvalidArgument.field("batch.samples", f"at most {MAX_BATCH:,} samples a batch, got {batch.size:,}")
        if batch.sequence <= self.previous:
            raise InvalidArgument.field(
                "batch.sequence", f"must be above {self.previous} (the previous batch or the resume point), "
                                  f"got {batch.sequence}", "SEQUENCE_NOT_INCREASING")
        self.previous = batch.sequence


class SeenThrottle:
    """Whether a batch updates the device's last_seen_time: the stream's first batch does, then
    one at most every `every` (a clock set back lets the next one through)."""

    def __init__(self, every: dt.timedelta = SEEN_EVERY) -> None:
        self._every = every
        self._last: dt.datetime | None = None

    def due(self, now: dt.datetime) -> bool:
        if self._last is not None and dt.timedelta(0) <= now - self._last < self._every:
            return False
        self._last = now
        return True


def first_message_error(kind: str | None) -> InvalidArgument:
    return InvalidArgument.field("open", f"the first message of a stream must be `open`, not {kind or 'empty'}",
                                 "OPEN_EXPECTED")


def second_open_error() -> InvalidArgument:
    return InvalidArgument.field("open", "a stream is opened once", "ALREADY_OPEN")


def paused_error() -> FailedPrecondition:
    return FailedPrecondition("the device is PAUSED: set it ACTIVE to stream", "DEVICE_PAUSED")


@dataclass(frozen=True)
class SyncRequest:
    """A request for a device's data of a window, for a sync (sent to the device as sync_request)."""

    sync: str  # users/{user}/devices/{device}/syncs/{sync}
    start_time: dt.datetime
    end_time: dt.datetime
    sample_types: tuple[str, ...] = ()


@dataclass(eq=False)
class OpenStream:
    """One open stream: what ends it (`ended` and `error`) and the sync requests waiting for it."""

    user_id: uuid.UUID
    device_id: uuid.UUID
    principal: Principal
    error: DomainError | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    sync_requests: asyncio.Queue[SyncRequest] = field(default_factory=lambda: asyncio.Queue(SYNC_REQUESTS))

    def end(self, error: DomainError) -> None:
        if not self.ended.is_set():
            self.error = error
            self.ended.set()


class TelemetryStreams:
    """The streams open on this replica, one per device. Another replica's newer stream for the
    same device is found when the resume point is next written (its epoch moved on)."""

    def __init__(self) -> None:
        self._open: dict[uuid.UUID, OpenStream] = {}
        self._closing = False

    def __len__(self) -> int:
        return len(self._open)

    def open(self, user_id: uuid.UUID, device_id: uuid.UUID, principal: Principal) -> OpenStream:
        if self._closing:
            raise Unavailable("device is shutting down; resume on another replica")
        older = self._open.get(device_id)
        if older is not None:
            older.end(Aborted("a newer stream opened for this device", "NEWER_STREAM"))
        stream = self._open[device_id] = OpenStream(user_id, device_id, principal)
        return stream

    def close(self, stream: OpenStream) -> None:
        if self._open.get(stream.device_id) is stream:
            del self._open[stream.device_id]

    def is_open(self, device_id: uuid.UUID) -> bool:
        return device_id in self._open

    def request_sync(self, device_id: uuid.UUID, request: SyncRequest) -> bool:
        """Hands a sync request to the device's open stream; False when none is open here (or its
        queue is full), and the sync waits for one."""
        stream = self._open.get(device_id)
        if stream is None or stream.ended.is_set():
            return False
        try:
            stream.sync_requests.put_nowait(request)
        except asyncio.QueueFull:
            return False
        return True

    def end_device(self, device_id: uuid.UUID, error: DomainError | None = None) -> None:
        """Ends the device's stream (the device was deleted, or paused)."""
        stream = self._open.get(device_id)
        if stream is not None:
            stream.end(error or StreamNotFound("the device was deleted"))

    def revoked(self, revocation) -> None:
        """RevocationWatcher.subscribe's callback: ends, at once, every stream on the revoked credential."""
        for stream in list(self._open.values()):
            if revokes(revocation, stream.principal):
                stream.end(revoked_error(revocation))

    def end_on(self, shutdown: asyncio.Event) -> asyncio.Task:
        """Calls shutdown() once `shutdown` is set (the runtime's event, set on SIGTERM)."""
        async def wait() -> None:
            await shutdown.wait()
            self.shutdown()
        return asyncio.create_task(wait())

    def shutdown(self) -> None:
        """Ends every stream with UNAVAILABLE (the devices resume elsewhere) and refuses new ones."""
        self._closing = True
        for stream in list(self._open.values()):
            stream.end(Unavailable("device is shutting down; resend the batches not acknowledged"))
