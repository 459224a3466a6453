"""Background jobs kept as rows of a service's own table, claimed with FOR UPDATE SKIP LOCKED under
leases that the worker renews while it runs (heartbeats).

A job's row carries `lease_owner` and `lease_expire_time`. A worker claims the first claimable row
whose lease is free or ran out, so a worker that died (kill -9, a lost node) leaves its job to be
taken up again by the next claim, in this process after a restart or in a replica. SKIP LOCKED
keeps N workers from waiting on each other's rows. Ingest's ingestions and Device's syncs use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import telemetry

log = logging.getLogger(__name__)

J = TypeVar("J")


def worker_id() -> str:
    """Names this worker in lease_owner: the host and process, and a random part for a restart
    that gets the same pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class JobTable:
    """Where a kind of job lives. The SQL fragments are the service's own, never a client's:
    `claimable` says which rows are jobs to run (besides their lease), `on_claim` what else a
    claim sets (e.g. `state = :running`), with the parameters given to claim()."""

    table: str  # schema-qualified, e.g. ingest.ingestions
    columns: str  # what a claim returns
    claimable: str
    order_by: str
    on_claim: str = ""
    key: Sequence[str] = ("user_id", "id")


class JobQueue:
    """Claims and leases over one JobTable. `:owner`, `:until` and `:now` are its own parameters."""

    def __init__(self, engine: AsyncEngine, jobs: JobTable) -> None:
        self._engine = engine
        self._jobs = jobs
        key = ", ".join(jobs.key)
        sets = "lease_owner = :owner, lease_expire_time = :until" + (f", {jobs.on_claim}" if jobs.on_claim else "")
        self._claim = text(
            f"UPDATE {jobs.table} SET {sets} WHERE ({key}) = (SELECT {key} FROM {jobs.table} "
            f"WHERE ({jobs.claimable}) AND (lease_expire_time IS NULL OR lease_expire_time < :now) "
            f"ORDER BY {jobs.order_by} LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {jobs.columns}")
        where = " AND ".join(f"{k} = :k{i}" for i, k in enumerate(jobs.key))
        self._extend = text(f"UPDATE {jobs.table} SET lease_expire_time = :until "
                            f"WHERE {where} AND lease_owner = :owner RETURNING 1")

    async def claim(self, owner: str, lease: dt.timedelta, now: dt.datetime, **params: Any):
        """Takes the first claimable job whose lease is free or ran out, under `owner`'s lease
        until now + lease; its row (the table's `columns`), or None when there is none."""
        async with self._engine.begin() as conn:
            return (await conn.execute(self._claim, {**params, "owner": owner, "until": now + lease, "now": now})
                    ).first()

    async def extend(self, key: Sequence[Any], owner: str, until: dt.datetime | None) -> bool:
        """Keeps (or, with None, gives up) `owner`'s hold on a job; False when it no longer holds it
        (its lease ran out and another worker took the job)."""
        async with self._engine.begin() as conn:
            held = (await conn.execute(self._extend, {**{f"k{i}": v for i, v in enumerate(key)},
                                                      "owner": owner, "until": until})).first()
        return held is not None


@contextlib.asynccontextmanager
async def heartbeat(lease: dt.timedelta, renew: Callable[[], Awaitable[object]]):
    """Calls `renew` every third of the lease while the block runs, so the lease never runs out
    under a live worker. A failed renewal (the database away for a moment) is logged and tried
    again at the next beat rather than ending the beats: two more chances before the lease ends."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                await renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("a job's lease could not be renewed: %s", type(exc).__name__)

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


def _log_failure(job: object, exc: Exception) -> None:
    log.error("a job failed", exc_info=exc)  # (not the job itself: its row may hold secrets)


async def run_worker(claim: Callable[[], Awaitable[J | None]], run: Callable[[J], Awaitable[object]],
                     release: Callable[[J], Awaitable[object]], stop: asyncio.Event, wake: asyncio.Event,
                     poll_seconds: float = 2.0,
                     failed: Callable[[J, Exception], None] = _log_failure, name: str = "job") -> None:
    """Takes jobs one at a time until `stop`; between jobs it waits for `wake` (set when a job is
    added here) or `poll_seconds` (for jobs added elsewhere, or whose lease ran out). A job
    interrupted by cancellation is released, so the next worker takes it at once; a job whose run
    raised is `failed` (recording the outcome is the run's, this only logs). Each run is the root
    span `name`, linked to the request that queued the job (its `traceparent`, when it has one)."""
    while not stop.is_set():
        job = await claim()
        if job is None:
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), poll_seconds)
            continue
        try:
            with telemetry.job_span(name, [getattr(job, "traceparent", "")]):
                await run(job)
        except asyncio.CancelledError:
            await release(job)
            raise
        except Exception as exc:
            failed(job, exc)
