"""The audit mechanism: every call on health data leaves an append-only record in Auth's schema.

Records are buffered and written in batches by a background task (every `flush_seconds`, or
sooner when the buffer fills), and flushed on graceful shutdown. Auth writes its own records
straight to its table; the other services send theirs to Auth's internal WriteAuditEvents.
A failed write keeps the records for the next attempt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
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


AuditSink = Callable[[list[AuditRecord]], Awaitable[None]]


class AuditLog:
    def __init__(self, sink: AuditSink, flush_seconds: float = 0.5, batch_size: int = 500,
                 max_buffered: int = 100_000) -> None:
        self._sink = sink
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._max_buffered = max_buffered
        self._buffer: list[AuditRecord] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    def record(self, record: AuditRecord) -> None:
        if len(self._buffer) >= self._max_buffered:
            log.error("audit buffer full, dropping the oldest record")
            self._buffer.pop(0)
        self._buffer.append(record)
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-flush")

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._flush_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            while self._buffer:
                batch = self._buffer[: self._batch_size]
                try:
                    await self._sink(batch)
                except Exception as exc:
                    log.warning("audit write failed, will retry: %s", exc)
                    return
                del self._buffer[: len(batch)]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.flush()
        if self._buffer:
            log.error("audit records not written at shutdown: %d", len(self._buffer))
