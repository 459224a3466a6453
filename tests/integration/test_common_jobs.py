"""services/common/jobs.py on real PostgreSQL: claims skip rows another worker holds, a lease that
ran out lets the next worker take the job, a released job is free at once, the old holder learns
it lost its job, heartbeats outlive a failed renewal, and the worker loop releases a job it was
interrupted in and goes on after one that failed. Times are passed in, never read from the clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
import pytest
from sqlalchemy import text

from services.common import jobs
from services.common.config import Settings
from services.common.db import create_engine

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=60)


@pytest.fixture
async def queue(pg_dsn):
    schema = f"jobs_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.work (user_id uuid, id uuid, "
                       "state int NOT NULL, run_after timestamptz NOT NULL, lease_owner text, "
                       "lease_expire_time timestamptz, PRIMARY KEY (user_id, id))")
    engine = create_engine(Settings(DATABASE_URL=pg_dsn))
    table = jobs.JobTable(f"{schema}.work", "user_id, id, state", claimable="state = :pending AND run_after <= :now",
                          order_by="run_after, id", on_claim="state = :running")

    async def add(count: int, run_after: dt.datetime = T0) -> list[uuid.UUID]:
        ids = [uuid.uuid4() for _ in range(count)]
        await conn.executemany(f"INSERT INTO {schema}.work VALUES ($1, $2, 1, $3, NULL, NULL)",
                               [(uuid.UUID(int=1), i, run_after) for i in ids])
        return ids

    yield jobs.JobQueue(engine, table), add, engine, schema
    await engine.dispose()
    await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await conn.close()


async def claim(q: jobs.JobQueue, owner: str, now: dt.datetime = T0):
    return await q.claim(owner, LEASE, now, pending=1, running=2)


async def test_two_workers_claim_different_jobs_and_a_held_job_is_not_claimed_again(queue):
    q, add, _, _ = queue
    ids = await add(2)
    first, second = await claim(q, "a"), await claim(q, "b")
    assert {first.id, second.id} == set(ids)
    assert first.state == second.state == 2  # on_claim applied
    assert await claim(q, "c", T0 + LEASE - dt.timedelta(seconds=1)) is None  # both leases still run


async def test_a_claim_skips_a_row_another_transaction_has_locked(queue):
    q, add, engine, schema = queue
    ids = await add(2)
    async with engine.connect() as other:
        await other.execute(text(f"SELECT 1 FROM {schema}.work WHERE id = :i FOR UPDATE"), {"i": ids[0]})
        taken = await asyncio.wait_for(claim(q, "a"), 10)  # does not wait for the lock
        await other.rollback()
    assert taken.id == ids[1]


async def test_a_job_whose_lease_ran_out_goes_to_the_next_worker_and_the_old_one_hears_it_lost_it(queue):
    q, add, _, _ = queue
    await add(1)
    mine = await claim(q, "dead")
    later = T0 + LEASE + dt.timedelta(seconds=1)
    q2 = await q.claim("next", LEASE, later, pending=2, running=2)  # RUNNING rows are claimable again here
    assert q2 is not None and q2.id == mine.id
    assert await q.extend((mine.user_id, mine.id), "dead", later + LEASE) is False
    assert await q.extend((mine.user_id, mine.id), "next", later + LEASE) is True


async def test_a_released_job_is_claimable_at_once_and_a_job_not_due_is_left(queue):
    q, add, _, _ = queue
    await add(1, run_after=T0 + dt.timedelta(hours=1))
    assert await claim(q, "a") is None  # not due yet
    job = await claim(q, "a", T0 + dt.timedelta(hours=1))
    assert await q.extend((job.user_id, job.id), "a", None) is True
    again = await q.claim("b", LEASE, T0 + dt.timedelta(hours=1), pending=2, running=2)
    assert again.id == job.id


async def test_the_heartbeat_renews_while_the_block_runs_and_survives_a_failed_renewal():
    calls, second = 0, asyncio.Event()

    async def renew() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the database went away for a moment")
        second.set()

    async with jobs.heartbeat(dt.timedelta(seconds=0.03), renew):
        await asyncio.wait_for(second.wait(), 10)  # the beat after the failure still came
    seen = calls
    await asyncio.sleep(0.05)
    assert calls == seen  # no beats once the block is over


async def test_the_worker_goes_on_after_a_failed_job_and_releases_the_one_it_was_stopped_in():
    queue_ = [1, 2, 3]
    done, failed, released = [], [], []
    stop, wake, started = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def claim_() -> int | None:
        return queue_.pop(0) if queue_ else None

    async def run(job: int) -> None:
        if job == 1:
            raise ValueError("a bug")
        if job == 3:
            started.set()
            await asyncio.Event().wait()  # runs until the worker is cancelled
        done.append(job)

    async def release(job: int) -> None:
        released.append(job)

    worker = asyncio.create_task(jobs.run_worker(claim_, run, release, stop, wake, 0.01,
                                                 lambda job, exc: failed.append((job, type(exc)))))
    await asyncio.wait_for(started.wait(), 10)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    assert failed == [(1, ValueError)] and done == [2] and released == [3]


async def test_the_worker_stops_when_told_and_wakes_for_a_new_job():
    queue_: list[int] = []
    stop, wake, ran = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def claim_() -> int | None:
        return queue_.pop(0) if queue_ else None

    async def run(job: int) -> None:
        ran.set()
        stop.set()

    worker = asyncio.create_task(jobs.run_worker(claim_, run, lambda job: asyncio.sleep(0), stop, wake, 3600))
    await asyncio.sleep(0)
    queue_.append(7)
    wake.set()  # without this the worker would sleep for the whole hour of polling
    await asyncio.wait_for(ran.wait(), 10)
    await asyncio.wait_for(worker, 10)
