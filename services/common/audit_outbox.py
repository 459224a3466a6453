"""The local outbox of audit records (table <schema>.audit_outbox), and its drainer to Auth.

Every service but Auth stores its audit records here first (one multi-row INSERT per flush), so
none is lost when Auth is down or the process stops. The drainer sends the oldest rows to Auth in
batches and deletes them only once Auth has acknowledged them; Auth stores each record id once, so
a batch sent again (an acknowledgement lost, two replicas draining) is harmless. Replicas claim
rows with FOR UPDATE SKIP LOCKED, so they do not send the same ones at the same time.

A service gets all this by one migration creating the table (see migrations/tracking/
0007_audit_outbox.sql) and by handing its engine to services.common.app.remote_runtime.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.audit import AuditRecord, AuditRejected, AuditSink, backoff_seconds, failure_reason

log = logging.getLogger(__name__)

# Sends records to Auth within a timeout (seconds); raises AuditRejected if Auth refuses them.
AuditSender = Callable[[list[AuditRecord], float], Awaitable[None]]

_COLUMNS = ("id", "subject_user_id", "actor", "action", "resource", "outcome", "client_address", "request_id",
            "service", "create_time")
_TYPES = ("uuid", "text", "text", "text", "text", "text", "text", "text", "text", "timestamptz")


class AuditOutbox:
    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self._engine = engine
        table = f'"{schema}".audit_outbox'
        arrays = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(_COLUMNS, _TYPES))
        # ON CONFLICT: a flush whose commit was not confirmed may be tried again.
        self._insert = text(f"INSERT INTO {table} ({', '.join(_COLUMNS)}) SELECT * FROM unnest({arrays})"
                            " ON CONFLICT (id) DO NOTHING")
        self._claim = text(f"SELECT {', '.join(_COLUMNS)} FROM {table} WHERE reject_time IS NULL"
                           " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED")
        self._delete = text(f"DELETE FROM {table} WHERE id = ANY(CAST(:ids AS uuid[]))")
        self._reject = text(f"UPDATE {table} SET reject_time = now() WHERE id = ANY(CAST(:ids AS uuid[]))")
        self._count = text(f"SELECT count(*) FROM {table} WHERE reject_time IS NULL")

    async def put(self, records: list[AuditRecord]) -> None:
        if not records:
            return
        columns = {c: [getattr(r, c) for r in records] for c in _COLUMNS}
        async with self._engine.begin() as conn:
            await conn.execute(self._insert, columns)

    async def pending(self) -> int:
        async with self._engine.connect() as conn:
            return (await conn.execute(self._count)).scalar_one()

    async def forward(self, send: AuditSink, limit: int) -> int:
        """Sends the oldest unclaimed rows (at most `limit`) and deletes what Auth took; returns how
        many it took off the outbox. A failure to reach Auth raises and leaves every row in place."""
        async with self._engine.begin() as conn:
            rows = (await conn.execute(self._claim, {"limit": limit})).all()
            if not rows:
                return 0
            records = [AuditRecord(*(getattr(row, c) for c in _COLUMNS[1:]), id=row.id) for row in rows]
            try:
                await send(records)
            except AuditRejected:
                await self._one_by_one(conn, send, records)
            else:
                await conn.execute(self._delete, {"ids": [r.id for r in records]})
        return len(records)

    async def _one_by_one(self, conn: AsyncConnection, send: AuditSink, records: list[AuditRecord]) -> None:
        """Auth refused the batch: find the records it refuses and keep them aside (not sent again,
        not deleted), so the others go on."""
        sent, refused = [], []
        for record in records:
            try:
                await send([record])
            except AuditRejected:
                refused.append(record.id)
            else:
                sent.append(record.id)
        await conn.execute(self._delete, {"ids": sent})
        if refused:
            await conn.execute(self._reject, {"ids": refused})
            log.error("Auth refused %d audit records; they are kept in the outbox with reject_time set "
                      "(ids %s)", len(refused), ", ".join(map(str, refused[:10])))


class OutboxDrainer:
    """Moves the outbox to Auth: at once when woken (after each flush), every `poll_seconds` for rows
    another replica or an earlier run left, and with exponential backoff while Auth fails."""

    def __init__(self, outbox: AuditOutbox, send: AuditSender, batch_size: int = 500,
                 poll_seconds: float = 5.0, max_backoff_seconds: float = 10.0,
                 send_timeout_seconds: float = 10.0) -> None:
        self._outbox = outbox
        self._send = send
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._max_backoff = max_backoff_seconds
        self._send_timeout = send_timeout_seconds
        self._wake = asyncio.Event()
        self.failures = 0  # consecutive failed attempts, 0 once Auth took a batch

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                send = self._within(self._send_timeout)
                while await self._outbox.forward(send, self._batch_size) == self._batch_size:
                    pass  # a full batch: there may be more
                self.failures = 0
            except Exception as exc:
                self.failures += 1
                delay = backoff_seconds(self.failures, cap=self._max_backoff)
                log.warning("audit records could not reach Auth (%s, attempt %d), next try in %.1f s",
                            failure_reason(exc), self.failures, delay)
                await asyncio.sleep(delay)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            except TimeoutError:
                pass

    async def drain(self, deadline: float) -> int:
        """The last try at shutdown: sends until the outbox is empty, Auth fails or the deadline
        passes; returns how many records stay in the outbox."""
        try:
            while (left := deadline - time.monotonic()) > 0:
                if await self._outbox.forward(self._within(min(left, self._send_timeout)),
                                              self._batch_size) < self._batch_size:
                    break
        except Exception as exc:
            log.info("audit records could not reach Auth at shutdown (%s)", failure_reason(exc))
        try:
            return await self._outbox.pending()
        except Exception as exc:
            log.warning("could not count the audit outbox at shutdown (%s)", failure_reason(exc))
            return 0

    def _within(self, timeout: float) -> AuditSink:
        async def send(records: list[AuditRecord]) -> None:
            await self._send(records, timeout)
        return send
