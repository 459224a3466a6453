"""The telemetry client: a device's samples to healthmesh over StreamTelemetry, none lost.

    async with TelemetryClient("127.0.0.1:8080", "users/me/devices/<id>", token) as stream:
    # or, with an SDK client's channel and its token refresh: async with client.telemetry(device) as stream:
        await stream.send(samples=[...])            # or columns=SampleColumns(...)
    # leaving the block waits until every batch is acked, then ends the stream with OK

Every batch stays in the client's buffer until Device acks it (after Tracking stored it). When the
stream breaks (UNAVAILABLE, a reset, a killed server, a replica going away) the client opens a new
one, after a backoff with full jitter, learns the resume point and resends every batch above it;
Tracking counts the overlap as duplicates. UNAUTHENTICATED asks `token` for a fresh one (once per
break: a second refusal in a row is final; with `refresh`, that one is called instead); RESOURCE_EXHAUSTED (a write quota, which Device
raises before storing the batch) waits as its RetryInfo says, then resumes the same way.

The buffer is bounded (`max_unacked` batches): `send` waits for room, or with `wait=False` raises
BufferFull, so data is never dropped silently. Errors that resending cannot fix (INVALID_ARGUMENT,
PERMISSION_DENIED, NOT_FOUND, FAILED_PRECONDITION, ABORTED for a newer stream of the device) end the
client with TelemetryError, and the batches not acked stay in `unacked()` for the caller.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2
from healthmesh.device.v1 import device_service_pb2 as pb
from healthmesh.device.v1 import device_service_pb2_grpc
from healthmesh.tracking.v1 import sample_pb2, tracking_internal_service_pb2

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60.0
MAX_UNEXPECTED = 10  # breaks in a row without a gRPC status before the client gives up (a bug, not a network)
# Codes after which the same batches, sent again on a new stream, can succeed.
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
             grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
             grpc.StatusCode.UNAUTHENTICATED}

TokenSource = str | Callable[[], str | Awaitable[str]]


class TelemetryError(Exception):
    """The stream cannot go on; `code` is the gRPC status that ended it."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


class BufferFull(TelemetryError):
    """Every slot of the unacked buffer is taken: nothing was dropped, and this batch was not taken."""


class _Broken(Exception):
    """The stream ended without a status worth more than UNAVAILABLE: resume."""


@dataclass
class Totals:
    batches: int = 0
    accepted: int = 0
    duplicate: int = 0
    updated: int = 0
    rejected: int = 0
    covered: int = 0  # samples of batches a resume point covered before their ack came (stored, counts unknown)
    reconnects: int = 0

    @property
    def samples(self) -> int:
        return self.accepted + self.duplicate + self.updated + self.rejected + self.covered


@dataclass
class _Pending:
    sequence: int
    request: pb.StreamTelemetryRequest
    size: int
    sent_at: float = 0.0  # monotonic time of its last send, for ack latency


def retry_delay(exc: grpc.aio.AioRpcError) -> float | None:
    """The RetryInfo delay of an error, in seconds, if it has one."""
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    info = error_details_pb2.RetryInfo()
                    detail.Unpack(info)
                    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


class Backoff:
    """Exponential backoff with full jitter: a random delay up to initial * 2^attempt, capped."""

    def __init__(self, initial: float = 0.1, maximum: float = 5.0, rng: random.Random | None = None) -> None:
        self.initial, self.maximum = initial, maximum
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        delay = self._rng.uniform(0, min(self.maximum, self.initial * 2 ** self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


async def _status_of(call, reader: asyncio.Task) -> grpc.aio.AioRpcError | None:
    """The status that ended the call, when a write failed because the server had ended it."""
    if not call.done():
        return None
    try:
        await reader  # the call is over: its read ends at once, with the status
    except grpc.aio.AioRpcError as exc:
        return exc
    except Exception:  # noqa: BLE001 - no status to tell: the write's own error stands
        return None
    return None


class TelemetryClient:
    def __init__(self, target: str | grpc.aio.Channel, device: str, token: TokenSource, *, resume: bool = True,
                 max_unacked: int = 64, window: int = 4, backoff: Backoff | None = None,
                 on_ack: Callable[[pb.TelemetryAck, float], None] | None = None,
                 on_sync_request: Callable[[pb.TelemetrySyncRequest], None] | None = None,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 refresh: Callable[[], Awaitable[str]] | None = None) -> None:
        if max_unacked < 1 or window < 1:
            raise ValueError("max_unacked and window must be at least 1")
        self._own_channel = isinstance(target, str)
        self._channel = grpc.aio.insecure_channel(target) if isinstance(target, str) else target
        self._stub = device_service_pb2_grpc.DeviceServiceStub(self._channel)
        self.device = device
        self._token_source = token
        self._refresh = refresh  # a fresh token after a refusal (the SDK's AsyncClient refreshes its own)
        self._resume = resume
        self.max_unacked = max_unacked
        self.window = window
        self._backoff = backoff or Backoff()
        self._on_ack = on_ack
        self._on_sync_request = on_sync_request
        self._heartbeat = heartbeat_seconds
        self._sleep = sleep  # the wait before resuming (tests watch it)
        self._unacked: collections.deque[_Pending] = collections.deque()
        self._sent = 0  # how many of the oldest unacked batches went out on the current stream
        self._next_sequence = 1
        self._changed = asyncio.Event()  # a batch was added or acked, or the client is closing
        self._opened = asyncio.Event()
        self._closing = False
        self._error: TelemetryError | None = None
        self._runner: asyncio.Task | None = None
        self._session_opened = False
        self.totals = Totals()

    # The caller's side.

    async def __aenter__(self) -> TelemetryClient:
        await self.start()
        return self

    async def __aexit__(self, kind, exc, tb) -> None:
        if exc is None:
            await self.close()
        else:
            await self.abort()

    async def start(self) -> None:
        """Opens the stream and learns where the device resumes."""
        self._runner = asyncio.create_task(self._run())
        opened = asyncio.ensure_future(self._opened.wait())
        await asyncio.wait({opened, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        self._raise_if_failed()

    @property
    def next_sequence(self) -> int:
        return self._next_sequence

    def unacked(self) -> list[pb.TelemetryBatch]:
        return [p.request.batch for p in self._unacked]

    async def send(self, samples: Iterable[sample_pb2.Sample] | None = None, *,
                   columns: tracking_internal_service_pb2.SampleColumns | None = None, wait: bool = True,
                   sync: str = "", sync_complete: bool = False) -> int:
        """Buffers one batch for sending; returns its sequence. Waits for room in the buffer, or
        raises BufferFull at once with wait=False."""
        self._raise_if_failed()
        while len(self._unacked) >= self.max_unacked:
            if not wait:
                raise BufferFull(f"{len(self._unacked)} batches wait for their acks (max_unacked="
                                 f"{self.max_unacked}): nothing was dropped; send again once acks come")
            await self._wait_for_change()
            self._raise_if_failed()
        batch = pb.TelemetryBatch(sequence=self._next_sequence, sync=sync, sync_complete=sync_complete)
        if columns is not None:
            batch.columns.CopyFrom(columns)
            size = len(columns.start_time_micros)
        else:
            batch.samples.extend(samples or ())
            size = len(batch.samples)
        self._unacked.append(_Pending(self._next_sequence, pb.StreamTelemetryRequest(batch=batch), size))
        self._next_sequence += 1
        self._changed.set()
        return batch.sequence

    async def flush(self) -> None:
        """Waits until every batch sent so far is acked."""
        while self._unacked:
            self._raise_if_failed()
            await self._wait_for_change()
        self._raise_if_failed()

    async def close(self) -> None:
        """Waits for every ack, then half-closes; Device ends the stream with OK."""
        try:
            await self.flush()
            self._closing = True
            self._changed.set()
            if self._runner is not None:
                await self._runner
            self._raise_if_failed()
        finally:
            await self.abort()

    async def abort(self) -> None:
        """Ends at once; the batches not acked stay in unacked()."""
        self._closing = True
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()
            try:
                await self._runner
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - ending anyway
                pass
        if self._own_channel:
            await self._channel.close()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error
        if self._runner is not None and self._runner.done() and not self._closing:
            raise TelemetryError("the telemetry stream ended")

    async def _wait_for_change(self) -> None:
        self._changed.clear()
        waiter = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({waiter, self._runner} if self._runner else {waiter},
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    # The stream, opened again as often as it breaks.

    async def _token(self, refused: bool = False) -> str:
        if refused and self._refresh is not None:
            return await self._refresh()
        source = self._token_source
        if isinstance(source, str):
            return source
        value = source()
        return await value if inspect.isawaitable(value) else value

    async def _run(self) -> None:
        refused = False  # the last stream was refused UNAUTHENTICATED: the next one gets a fresh token
        unexpected = 0  # breaks in a row, before a stream opened, by an exception that is no gRPC status
        while True:
            self._session_opened = False
            try:
                await self._session(refused)
                return  # closed with OK
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if self._session_opened:
                    refused = False
                if code not in RETRYABLE or (code == grpc.StatusCode.UNAUTHENTICATED and refused):
                    self._fail(TelemetryError(f"telemetry stream ended: {code.name}: {exc.details()}", code))
                    return
                refused = code == grpc.StatusCode.UNAUTHENTICATED
                delay = retry_delay(exc) if code == grpc.StatusCode.RESOURCE_EXHAUSTED else None
                if delay is None:
                    delay = 0.0 if refused else self._backoff.next()
                log.info("telemetry: stream broke (%s); resuming in %.2f s", code.name, delay)
            except _Broken as exc:
                delay = self._backoff.next()
                log.info("telemetry: stream broke (%s); resuming in %.2f s", exc, delay)
            except TelemetryError as exc:
                self._fail(exc)
                return
            except Exception as exc:  # noqa: BLE001 - e.g. a write racing the server's end of the call
                # (grpc raises InvalidStateError or UsageError there, not the call's status): the
                # stream broke, and the unacked batches are resent like after any break.
                unexpected = 1 if self._session_opened else unexpected + 1
                if unexpected > MAX_UNEXPECTED:
                    self._fail(TelemetryError(f"telemetry stream kept failing: {type(exc).__name__}: {exc}"))
                    return
                delay = self._backoff.next()
                log.warning("telemetry: stream broke (%s); resuming in %.2f s", type(exc).__name__, delay)
            self.totals.reconnects += 1
            self._sent = 0
            await self._sleep(delay)

    def _fail(self, error: TelemetryError) -> None:
        self._error = error
        self._changed.set()

    async def _session(self, refused: bool = False) -> None:
        call = self._stub.StreamTelemetry(metadata=(("authorization", f"Bearer {await self._token(refused)}"),))
        try:
            await call.write(pb.StreamTelemetryRequest(open=pb.TelemetryOpen(device=self.device, resume=self._resume)))
            first = await call.read()
            if first is grpc.aio.EOF:
                raise _Broken("device ended the stream before its resume point")
            if first.WhichOneof("kind") != "resume_point":
                raise TelemetryError(f"device answered open with {first.WhichOneof('kind')}, not resume_point")
            self._resumed_at(first.resume_point.last_sequence)
            self._session_opened = True
            self._opened.set()
            reader = asyncio.create_task(self._read(call))
            try:
                await self._write(call, reader)
            except Exception as exc:
                ended = None if isinstance(exc, grpc.aio.AioRpcError) else await _status_of(call, reader)
                reader.cancel()
                if ended is not None:  # a write raced the server's end: its status (and RetryInfo) is the cause
                    raise ended from exc
                raise
            except BaseException:
                reader.cancel()
                raise
            await reader  # after the half-close: the last acks, then OK
        except BaseException:
            call.cancel()
            raise

    def _resumed_at(self, last_sequence: int) -> None:
        """Forgets the batches the resume point covers (stored, though their acks were lost)."""
        if not self._opened.is_set() and not self._unacked:
            self._next_sequence = max(self._next_sequence, last_sequence + 1)
        while self._unacked and self._unacked[0].sequence <= last_sequence:
            done = self._unacked.popleft()
            self.totals.batches += 1
            self.totals.covered += done.size
        self._sent = 0
        self._changed.set()

    async def _write(self, call, reader: asyncio.Task) -> None:
        last_write = time.monotonic()
        while True:
            while self._sent < min(len(self._unacked), self.window):
                pending = self._unacked[self._sent]
                pending.sent_at = time.monotonic()
                await call.write(pending.request)
                self._sent += 1
                last_write = time.monotonic()
            if self._closing and not self._unacked:
                await call.done_writing()
                return
            self._changed.clear()
            waiter = asyncio.ensure_future(self._changed.wait())
            timeout = max(0.0, last_write + self._heartbeat - time.monotonic())
            done, _ = await asyncio.wait({waiter, reader}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if reader in done:
                reader.result()  # raises what ended the stream
                raise _Broken("device ended the stream")
            if not done:
                heartbeat = pb.StreamTelemetryRequest()
                heartbeat.heartbeat.send_time.FromDatetime(dt.datetime.now(dt.UTC))
                await call.write(heartbeat)
                last_write = time.monotonic()

    async def _read(self, call) -> None:
        while (response := await call.read()) is not grpc.aio.EOF:
            kind = response.WhichOneof("kind")
            if kind == "ack":
                self._acked(response.ack)
            elif kind == "sync_request" and self._on_sync_request is not None:
                self._on_sync_request(response.sync_request)
        if not self._closing or self._unacked:
            raise _Broken("device ended the stream with batches unacked")

    def _acked(self, ack: pb.TelemetryAck) -> None:
        if not self._unacked or self._unacked[0].sequence != ack.sequence:
            expected = self._unacked[0].sequence if self._unacked else None
            raise TelemetryError(f"ack for batch {ack.sequence}, expected {expected}")
        done = self._unacked.popleft()
        self._sent -= 1
        t = self.totals
        t.batches += 1
        t.accepted += ack.accepted
        t.duplicate += ack.duplicate
        t.updated += ack.updated
        t.rejected += ack.rejected
        self._backoff.reset()
        if self._on_ack is not None:
            self._on_ack(ack, time.monotonic() - done.sent_at)
        self._changed.set()
