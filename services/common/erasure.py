"""Erasure of a deleted user's data, in every service that holds some.

Auth commits a USER revocation in the deletion's own transaction: that record is the erasure
event (Auth's outbox), read through Auth's ListRevocations. Each service consumes it here, once:
its erase function and the row saying it was done run in one transaction, and the consumer's
cursor (the revocation sequence it has read up to) is stored in the service's own schema, so a
service killed mid-erasure redoes that user after its restart and skips the ones already done.

A call that was already running when the user was deleted could still commit a write after the
erasure (a long import stream, say). So each erasure is run a second time once `sweep_after` has
passed, longer than any call may last; both runs are idempotent.

The migration of a service that consumes erasures creates `<schema>.erasures` and
`<schema>.consumer_offsets` (see migrations/tracking/0008_erasures.sql).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.audit import AuditLog, AuditRecord
from services.common.background import cancel
from services.common.revocation import Kind, Revocation

log = logging.getLogger(__name__)

CONSUMER = "erasure"
# The user's rows in this service, erased in the caller's transaction: table -> rows deleted.
EraseUser = Callable[[AsyncConnection, uuid.UUID], Awaitable[dict[str, int]]]
DeletedUsers = Callable[[int], Awaitable[list[Revocation]]]  # after sequence -> USER revocations


class ErasureConsumer:
    def __init__(self, engine: AsyncEngine, schema: str, deleted_users: DeletedUsers, erase: EraseUser,
                 audit: AuditLog, service: str, poll_seconds: float = 5.0,
                 sweep_after: dt.timedelta = dt.timedelta(minutes=10)) -> None:
        self._engine = engine
        self._schema = schema
        self._deleted_users = deleted_users
        self._erase = erase
        self._audit = audit
        self._service = service
        self._poll_seconds = poll_seconds
        self._sweep_after = sweep_after
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.erased = 0  # users erased by this process, for metrics

    def notify(self, revocation: Revocation) -> None:
        """Called for every revocation the service hears of; a deleted user wakes the consumer."""
        if revocation.kind is Kind.USER:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="erasure")

    async def close(self) -> None:
        await cancel(self._task)

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Auth or the database away: the next round retries
                log.warning("erasure: round failed, will retry: %s: %.200s", type(exc).__name__, exc)
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def step(self) -> int:
        """Erases every deleted user not erased yet, then sweeps the ones due; returns how many."""
        cursor = await self._cursor()
        done = 0
        for r in sorted(await self._deleted_users(cursor), key=lambda r: r.sequence):
            if r.kind is Kind.USER and await self._erase_once(uuid.UUID(r.user_id), r.sequence):
                done += 1
            cursor = max(cursor, r.sequence)
            await self._set_cursor(cursor)
        for user_id, sequence in await self._due_for_sweep():
            await self._sweep(user_id, sequence)
        return done

    async def _erase_once(self, user_id: uuid.UUID, sequence: int) -> bool:
        started = time.perf_counter()
        async with self._engine.begin() as conn:
            claimed = (await conn.execute(text(
                f"INSERT INTO {self._schema}.erasures (user_id, sequence, erase_time) VALUES (:u, :s, now()) "
                "ON CONFLICT (user_id) DO NOTHING RETURNING user_id"), {"u": user_id, "s": sequence})).first()
            if claimed is None:
                return False  # done before (a re-read of recent revocations, or a restart)
            counts = await self._erase(conn, user_id)
            await conn.execute(text(f"UPDATE {self._schema}.erasures SET rows = :n WHERE user_id = :u"),
                               {"n": sum(counts.values()), "u": user_id})
        self._finished(user_id, sequence, counts, "erased", time.perf_counter() - started)
        return True

    async def _sweep(self, user_id: uuid.UUID, sequence: int) -> None:
        started = time.perf_counter()
        async with self._engine.begin() as conn:
            counts = await self._erase(conn, user_id)
            await conn.execute(text(f"UPDATE {self._schema}.erasures SET sweep_time = now() WHERE user_id = :u"),
                               {"u": user_id})
        if any(counts.values()):
            self._finished(user_id, sequence, counts, "swept late writes", time.perf_counter() - started)

    def _finished(self, user_id: uuid.UUID, sequence: int, counts: dict[str, int], what: str,
                  seconds: float) -> None:
        self.erased += 1
        # The log names the revocation, not the user, and counts rows, never their values.
        log.info("erasure: %s for revocation %d: %d rows in %.0f ms", what, sequence, sum(counts.values()),
                 seconds * 1000, extra={"fields": {"revocation": sequence, "rows": counts}})
        self._audit.record(AuditRecord(
            subject_user_id=str(user_id), actor=f"services/{self._service}", action=f"{self._service}.EraseUser",
            resource=f"users/{user_id}", outcome="OK", client_address="", request_id=f"erasure-{sequence}",
            service=self._service))

    async def _due_for_sweep(self) -> list[tuple[uuid.UUID, int]]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(
                f"SELECT user_id, sequence FROM {self._schema}.erasures "
                "WHERE sweep_time IS NULL AND erase_time < now() - CAST(:after AS interval) ORDER BY erase_time LIMIT 100"),
                {"after": self._sweep_after})).all()
        return [(r.user_id, r.sequence) for r in rows]

    async def _cursor(self) -> int:
        async with self._engine.connect() as conn:
            value = (await conn.execute(text(
                f"SELECT sequence FROM {self._schema}.consumer_offsets WHERE consumer = :c"), {"c": CONSUMER})
            ).scalar_one_or_none()
        return int(value or 0)

    async def _set_cursor(self, sequence: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(text(
                f"INSERT INTO {self._schema}.consumer_offsets (consumer, sequence) VALUES (:c, :s) "
                "ON CONFLICT (consumer) DO UPDATE SET sequence = greatest(consumer_offsets.sequence, :s)"),
                {"c": CONSUMER, "s": sequence})


async def delete_by_user(conn: AsyncConnection, user_id: uuid.UUID, schema: str, tables: list[str]) -> dict[str, int]:
    """DELETE ... WHERE user_id for each table, children before parents; rows deleted per table."""
    counts = {}
    for table in tables:
        result = await conn.execute(text(f"DELETE FROM {schema}.{table} WHERE user_id = :u"), {"u": user_id})
        counts[table] = result.rowcount
    return counts
