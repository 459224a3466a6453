"""The audit mechanism: every call on health data leaves an append-only record in Auth's schema.

A record gets its id when it is made, so a batch sent again is stored once. Records are buffered
in memory and written in batches by a background task (every `flush_seconds`, or sooner when
the buffer fills) into a durable store: Auth writes straight to its log; every other service
writes to an outbox in its own schema (services/common/audit_outbox.py), from which a forwarder
sends them to Auth's internal WriteAuditEvents and deletes what Auth acknowledged. So what is
pending survives a restart, and a store that is down only delays records: they wait in memory
(up to a large bound) and the write is retried with backoff. Graceful shutdown flushes the buffer
and gives the forwarder one bounded last try.

A record is made storable before it is buffered (no NUL, no lone surrogate, every field capped),
and Auth does the same again with what other services send: one bad value must never hold up
the records around it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from services.common import metrics
from services.common.background import cancel
from services.common.ids import is_uuid, uuid7

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    subject_user_id: str  # whose data; '' when unknown (for example a failed login)
    actor: str
    action: str
    resource: str
    outcome: str
    client_address: str
    request_id: str
    service: str
    create_time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    id: uuid.UUID = field(default_factory=uuid7)


AuditSink = Callable[[list[AuditRecord]], Awaitable[None]]


class AuditRejected(Exception):
    """Auth refused the records themselves (not a failure to reach it): sending them again as
    they are cannot help."""


# The longest value each field keeps; a longer one keeps its start and says how long it was.
FIELD_LIMITS = {
    "subject_user_id": 64, "actor": 256, "action": 256, "resource": 512, "outcome": 64,
    "client_address": 128, "request_id": 128, "service": 64,
}
_LIMITS = tuple(FIELD_LIMITS.items())
# PostgreSQL text takes neither NUL nor a lone surrogate (which is not UTF-8 at all).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str, limit: int) -> str:
    """`value` with NUL and lone surrogates replaced by U+FFFD, cut to `limit` characters."""
    if len(value) > limit:
        marker = f"…[{len(value)} chars]"
        value = value[: limit - len(marker)] + marker  # cut first: a 1 MB value is not scanned whole
    return _UNSTORABLE.sub("\ufffd", value)


def clean(record: AuditRecord) -> AuditRecord:
    """The record as it can be stored: itself (no copy) when every field already is."""
    changes = None
    for name, limit in _LIMITS:
        value = getattr(record, name)
        # ASCII cannot hold a surrogate: the common case costs two O(1) checks and a memchr.
        if value.__class__ is str and value.isascii() and len(value) <= limit and "\x00" not in value:
            continue
        fixed = storable_text(value if isinstance(value, str) else "", limit)
        if fixed != value:
            changes = changes or {}
            changes[name] = fixed
    return dataclasses.replace(record, **changes) if changes else record


def as_received(records: list[AuditRecord]) -> list[AuditRecord]:
    """Records another service sent, as Auth stores them: each made storable again (Auth trusts no
    sender), a subject that is not a user id stored as none. Nothing in them refuses the batch:
    its sender would only send it again."""
    out, unreadable = [], 0
    for record in records:
        record = clean(record)
        if record.subject_user_id and not is_uuid(record.subject_user_id):
            record = dataclasses.replace(record, subject_user_id="")
            unreadable += 1
        out.append(record)
    if unreadable:
        log.warning("audit records whose subject is not a user id, stored without a subject: %d", unreadable)
    return out



def backoff_seconds(failures: int, base: float = 0.2, cap: float = 10.0) -> float:
    """Exponential backoff with jitter (half fixed, half random), so replicas do not retry in step."""
    ceiling = min(cap, base * 2 ** min(failures - 1, 32))
    return ceiling / 2 + random.random() * ceiling / 2


class AuditForwarder(Protocol):
    """Sends what the store holds on to Auth (the outbox's drainer)."""

    def wake(self) -> None: ...
    async def run(self) -> None: ...
    async def drain(self, deadline: float) -> int: ...  # by time.monotonic(); returns how many are left


# About 150 MB (~600 bytes a record): two minutes at 2,000 calls/s with the local database down too.
MAX_BUFFERED = 250_000


class AuditLog:
    def __init__(self, sink: AuditSink, flush_seconds: float = 0.5, batch_size: int = 500,
                 max_buffered: int = MAX_BUFFERED, forwarder: AuditForwarder | None = None) -> None:
        self._sink = sink
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._max_buffered = max_buffered
        self._forwarder = forwarder
        self._buffer: list[AuditRecord] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()
        self.dropped = 0  # records refused because the buffer was full: only when every store is down

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def record(self, record: AuditRecord) -> None:
        if len(self._buffer) >= self._max_buffered:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.error("AUDIT RECORDS LOST: the buffer is full (%d records; the audit store has been down "
                          "for long), %d records dropped so far", len(self._buffer), self.dropped)
            return
        self._buffer.append(clean(record))
        metrics.AUDIT_PENDING.set(len(self._buffer))  # set, not a callback: with several processes each writes its own
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run(), name="audit-flush"))
        if self._forwarder is not None:
            self._tasks.append(asyncio.create_task(self._forwarder.run(), name="audit-forward"))

    async def _run(self) -> None:
        failures = 0
        while True:
            if failures:
                await asyncio.sleep(backoff_seconds(failures))  # the store is down: do not hammer it
            else:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._flush_seconds)
                except TimeoutError:
                    pass
            self._wake.clear()
            failures = 0 if await self.flush() else failures + 1

    async def flush(self) -> bool:
        """Writes the buffer to the store; False (records kept for the next try) if the store failed."""
        wrote = False
        async with self._lock:
            while self._buffer:
                batch = self._buffer[: self._batch_size]
                try:
                    await self._sink(batch)
                except AuditRejected:
                    # Only a store that is Auth itself refuses: the records cannot be taken as they
                    # are, and keeping them would hold up every later one.
                    self.dropped += len(batch)
                    log.error("AUDIT RECORDS LOST: Auth refused %d records (ids %s...)", len(batch), batch[0].id)
                except Exception as exc:
                    log.warning("audit store failed (%s), %d records kept in memory for the next try",
                                failure_reason(exc), len(self._buffer))
                    return False
                del self._buffer[: len(batch)]
                metrics.AUDIT_PENDING.set(len(self._buffer))
                wrote = True
        if wrote and self._forwarder is not None:
            self._forwarder.wake()
        return True

    async def close(self, drain_seconds: float = 5.0) -> None:
        """Flushes the buffer, then gives the forwarder until the deadline to reach Auth; what it
        does not send stays in the outbox for the next start."""
        await cancel(*self._tasks)
        self._tasks.clear()
        deadline = time.monotonic() + drain_seconds
        failures = 0
        while not await self.flush() and time.monotonic() < deadline:
            failures += 1
            await asyncio.sleep(min(backoff_seconds(failures), max(0.0, deadline - time.monotonic())))
        if self._buffer:
            log.error("AUDIT RECORDS LOST: the audit store is unreachable at shutdown, %d records not written",
                      len(self._buffer))
        if self._forwarder is not None:
            left = await self._forwarder.drain(deadline)
            if left:
                log.info("audit records left in the outbox for the next start: %d", left)


def failure_reason(exc: BaseException) -> str:
    """What went wrong, without the values: driver messages quote parameters, and records hold user ids."""
    code = getattr(exc, "code", None)
    if callable(code):  # a grpc error: its status code
        try:
            return f"{type(exc).__name__} {code().name}"
        except Exception:
            pass
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return f"{type(exc).__name__}{f' sqlstate {sqlstate}' if sqlstate else ''}"
