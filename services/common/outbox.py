"""A transactional outbox: events written in the transaction of the change they describe, and a
relay that hands them to a peer, deleting them only once the peer has taken them.

The table (one per kind of event, in the service's schema) has a `seq bigint` identity as its
primary key and a `reject_time timestamptz`, besides the event's own columns. See
migrations/tracking/0010_outbox.sql.

Writing. record_statement() makes the one statement a writer adds to its transaction. It takes a
per-key transaction lock (the key is usually the user) before the row gets its seq, and holds it
to the commit: a later write of the same key waits for the earlier one's commit before taking its
seq, so for each key seq order is commit order. The same statement sends `pg_notify(channel, '')`,
delivered to listeners when the transaction commits and never if it rolls back.

Relaying. OutboxRelay reads the oldest rows in seq order, up to `batch_size`, hands them to
`deliver` and deletes them after it returns: at least once (a delete lost after a delivery sends
the rows again; the peer takes an event id once), in order per key. One relay at a time sends, in
all the processes on the database: each holds a session advisory lock while it relays, and the
others wait for it. That is what keeps the order when two processes run (with SKIP LOCKED claims
two relays could send one user's rows side by side); a dead relay's lock goes with its connection.
It wakes on the channel's NOTIFY, on a Redis message if configured, and every `poll_seconds`
besides (for a notification missed while reconnecting, and for the standby's look at the lock).
While the peer fails it retries with exponential backoff up to `max_backoff_seconds`; the rows wait.
A delivery the peer refuses as bad (`Rejected`) is sent again one row at a time: the rows it
refuses are kept with reject_time set, logged by seq, and the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg

from services.common import metrics, telemetry
from services.common.audit import backoff_seconds, failure_reason
from services.common.background import cancel

log = logging.getLogger(__name__)


class Rejected(Exception):
    """The peer refused the events themselves (INVALID_ARGUMENT): sending them again cannot help."""


class _PeerFailed(Exception):
    """Any other failure of a delivery (the peer down, a timeout): the rows wait for the next try."""


Deliver = Callable[[Sequence[asyncpg.Record]], Awaitable[None]]  # raises Rejected, or anything to retry


@dataclass(frozen=True)
class OutboxTable:
    table: str  # schema-qualified, e.g. tracking.outbox
    columns: tuple[str, ...]  # what deliver() gets of each row, besides seq
    channel: str  # the NOTIFY channel


def record_statement(outbox: OutboxTable, values: dict[str, str], key: str, first: str = "") -> str:
    """The INSERT of one event (`values`: column -> SQL expression, e.g. a placeholder) under the
    lock of `key` (a text expression), with its NOTIFY; see the module docstring. `first`: a
    SELECT of one row to run before, in the same statement (a lock of the writer's own, saving a
    round trip)."""
    lock = f"SELECT pg_advisory_xact_lock(hashtext('{outbox.table}'), hashtext({key}))"
    ordered = f"writer AS MATERIALIZED ({first}), ordered AS MATERIALIZED ({lock} FROM writer)" if first else \
        f"ordered AS MATERIALIZED ({lock})"
    return (f"WITH {ordered}, added AS (INSERT INTO {outbox.table} ({', '.join(values)})"
            f" SELECT {', '.join(values.values())} FROM ordered RETURNING 1)"
            f" SELECT pg_notify('{outbox.channel}', '') FROM added")


class OutboxRelay:
    def __init__(self, dsn: str, outbox: OutboxTable, deliver: Deliver, *, batch_size: int = 1000,
                 poll_seconds: float = 1.0, max_backoff_seconds: float = 5.0, redis_url: str = "",
                 redis_channel: str = "", query_timeout_seconds: float = 30.0) -> None:
        self._dsn = dsn
        self._outbox = outbox
        self._deliver = deliver
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._max_backoff = max_backoff_seconds
        self._redis_url, self._redis_channel = redis_url, redis_channel
        self._timeout = query_timeout_seconds
        table = outbox.table
        self._lock = f"SELECT pg_try_advisory_lock(hashtext('{table} relay'), 0)"
        self._claim = (f"SELECT seq, {', '.join(outbox.columns)} FROM {table} WHERE reject_time IS NULL"
                       " ORDER BY seq LIMIT $1")
        self._delete = f"DELETE FROM {table} WHERE seq = ANY($1::bigint[])"
        self._reject = f"UPDATE {table} SET reject_time = now() WHERE seq = ANY($1::bigint[])"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.leading = False  # holds the lock: this process is the one relaying
        self.failures = 0  # consecutive failed attempts (the peer or the database), 0 after a success
        self.lock_attempts = 0  # tries for the relay's lock, for tests

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run(), name=f"outbox {self._outbox.table}"))
        if self._redis_url and self._redis_channel:
            self._tasks.append(asyncio.create_task(self._listen_redis(), name=f"outbox {self._outbox.table} redis"))

    async def close(self) -> None:
        await cancel(*self._tasks)
        self._tasks.clear()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._relay()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: connect again
                await self._back_off("the database", exc)

    async def _relay(self) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=10)
        try:
            conn.add_termination_listener(lambda _conn: self.wake())  # the next query fails: reconnect
            await conn.add_listener(self._outbox.channel, lambda *_: self.wake())
            while not await self._take_lock(conn):
                # Another process relays: try for its lock each poll. Not on NOTIFY: every write
                # sends one, and a follower woken by each would spend a core asking for the lock.
                await asyncio.sleep(self._poll_seconds)
            self.leading = True
            while True:
                self._wake.clear()
                try:
                    while await self._forward(conn) == self._batch_size:
                        pass  # a full batch: there may be more
                except _PeerFailed as failed:  # the rows wait, the lock stays ours
                    await self._back_off("the peer", failed.__cause__ or failed)
                    continue
                self.failures = 0
                await self._wait()
        finally:
            self.leading = False
            conn.terminate()  # (the session lock goes with the connection)

    async def _take_lock(self, conn: asyncpg.Connection) -> bool:
        self.lock_attempts += 1
        return await conn.fetchval(self._lock, timeout=self._timeout)

    async def _forward(self, conn: asyncpg.Connection) -> int:
        """Sends the oldest rows and deletes those taken; returns how many rows it read."""
        rows = await conn.fetch(self._claim, self._batch_size, timeout=self._timeout)
        self._lag(rows)
        if not rows:
            return 0
        # A delivery's span links to the requests that wrote its rows, when their rows say which.
        queued_by = [r["traceparent"] for r in rows] if "traceparent" in self._outbox.columns else []
        with telemetry.job_span("outbox.relay", queued_by, {"healthmesh.outbox": self._outbox.table,
                                                            "healthmesh.events": len(rows)}):
            try:
                await self._send(rows)
            except Rejected:
                await self._one_by_one(conn, rows)
            else:
                await conn.execute(self._delete, [r["seq"] for r in rows], timeout=self._timeout)
                metrics.OUTBOX_RELAYED.labels(self._outbox.table).inc(len(rows))
        return len(rows)

    def _lag(self, rows: Sequence[asyncpg.Record]) -> None:
        """The oldest waiting event's age, for an outbox whose rows carry their commit_time."""
        if "commit_time" in self._outbox.columns:
            age = (dt.datetime.now(dt.UTC) - rows[0]["commit_time"]).total_seconds() if rows else 0.0
            metrics.OUTBOX_LAG.labels(self._outbox.table).set(max(0.0, age))

    async def _one_by_one(self, conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> None:
        """The peer refused a batch: each row is sent alone, in order; the ones it refuses are kept
        aside (reject_time), so the others go on. A failure on the way raises after recording
        what was settled so far."""
        sent, refused = [], []
        try:
            for row in rows:
                try:
                    await self._send([row])
                except Rejected:
                    refused.append(row["seq"])
                else:
                    sent.append(row["seq"])
        finally:
            await conn.execute(self._delete, sent, timeout=self._timeout)
            metrics.OUTBOX_RELAYED.labels(self._outbox.table).inc(len(sent))
            if refused:
                await conn.execute(self._reject, refused, timeout=self._timeout)
                log.error("outbox %s: the peer refused %d events as invalid; kept with reject_time set (seq %s)",
                          self._outbox.table, len(refused), ", ".join(map(str, refused[:10])))

    async def _send(self, rows: Sequence[asyncpg.Record]) -> None:
        try:
            await self._deliver(rows)
        except (Rejected, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise _PeerFailed() from exc

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    async def _back_off(self, what: str, exc: Exception) -> None:
        self.failures += 1
        delay = backoff_seconds(self.failures, cap=self._max_backoff)
        log.warning("outbox %s: %s failed (%s, attempt %d), next try in %.1f s", self._outbox.table, what,
                    failure_reason(exc), self.failures, delay)
        await asyncio.sleep(delay)

    async def _listen_redis(self) -> None:
        """Wakes the relay on every message of the Redis channel; with Redis away, NOTIFY and the
        poll still do."""
        import redis.asyncio as aioredis

        failures = 0
        while True:
            client = aioredis.from_url(self._redis_url, socket_connect_timeout=1, health_check_interval=5)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self._redis_channel)
                    failures = 0
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                        if message is None:
                            await pubsub.ping()  # a dead connection shows itself here
                        elif message.get("type") == "message":
                            self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.info("outbox %s: redis listener lost (%s)", self._outbox.table, type(exc).__name__)
            finally:
                await client.aclose()
            await asyncio.sleep(backoff_seconds(failures, cap=10.0))
