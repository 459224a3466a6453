"""Device's storage of syncs: the history, and the jobs the workers claim. SQL stays here.

Every write that ends or moves a sync names the state it expects (open) and, for a worker's own
job, its lease owner, so a worker that lost its lease cannot overwrite what the next one did.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.jobs import JobQueue, JobTable
from services.device.sync_domain import MAX_ERRORS, OPEN, State, Sync, SyncCounts, Trigger, Window

COLUMNS = ("user_id, device_id, id, state, trigger, data_start_time, data_end_time, accepted, duplicate, updated, "
           "rejected, errors, failure_reason, failure_message, retry_of, attempts, run_after, deadline, create_time, "
           "start_time, end_time, update_time")
_OPEN = "state IN (1, 2)"
JOBS = JobTable("device.syncs", COLUMNS + ", traceparent", claimable=f"{_OPEN} AND run_after <= :now", order_by="run_after",
                on_claim="state = 2, attempts = attempts + 1, start_time = COALESCE(start_time, :now), update_time = :now",
                key=("user_id", "device_id", "id"))


@dataclass(frozen=True)
class SyncJob:
    """A claimed sync, with when a push sync stops waiting for its device."""

    sync: Sync
    deadline: dt.datetime
    traceparent: str = ""  # the request that asked for it, for the worker's span to link to


def _sync(row) -> Sync:
    counts = SyncCounts(row.accepted, row.duplicate, row.updated, row.rejected,
                        [(e["index"], e["reason"], e["message"]) for e in row.errors])
    return Sync(id=row.id, user_id=row.user_id, device_id=row.device_id, state=State(row.state),
                trigger=Trigger(row.trigger), window=Window(row.data_start_time, row.data_end_time), counts=counts,
                failure_reason=row.failure_reason, failure_message=row.failure_message, retry_of=row.retry_of,
                attempts=row.attempts, create_time=row.create_time, start_time=row.start_time,
                end_time=row.end_time, update_time=row.update_time)


def _counts(c: SyncCounts) -> dict:
    return {"accepted": c.accepted, "duplicate": c.duplicate, "updated": c.updated, "rejected": c.rejected,
            "errors": json.dumps([{"index": i, "reason": r, "message": m} for i, r, m in c.errors[:MAX_ERRORS]])}


def _key(sync: Sync) -> dict:
    return {"u": sync.user_id, "d": sync.device_id, "i": sync.id}


_WHERE = "user_id = :u AND device_id = :d AND id = :i"


class SqlSyncRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._jobs = JobQueue(engine, JOBS)

    async def create(self, sync: Sync, request_id: str, deadline: dt.datetime,
                     traceparent: str = "") -> tuple[Sync, bool]:
        """Adds a PENDING sync; when the device already has an open one (or the request id was
        used), that one instead. True when this one was added. `traceparent`: the asking request's."""
        values = {**_key(sync), **_counts(sync.counts), "state": int(sync.state), "trigger": int(sync.trigger),
                  "start": sync.window.start, "end": sync.window.end, "retry_of": sync.retry_of,
                  "request_id": request_id or None, "now": sync.create_time, "deadline": deadline,
                  "traceparent": traceparent or None}
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                f"INSERT INTO device.syncs (user_id, device_id, id, state, trigger, data_start_time, data_end_time, "
                "retry_of, request_id, run_after, deadline, create_time, update_time, traceparent) VALUES (:u, :d, "
                ":i, :state, :trigger, :start, :end, :retry_of, :request_id, :now, :deadline, :now, :now, :traceparent) "
                f"ON CONFLICT DO NOTHING RETURNING {COLUMNS}"), values)).first()
            if row is not None:
                return _sync(row), True
            if request_id:
                row = (await conn.execute(text(
                    f"SELECT {COLUMNS} FROM device.syncs WHERE user_id = :u AND request_id = :r"),
                    {"u": sync.user_id, "r": request_id})).first()
            if row is None:
                row = (await conn.execute(text(
                    f"SELECT {COLUMNS} FROM device.syncs WHERE user_id = :u AND device_id = :d AND {_OPEN}"),
                    values)).first()
        if row is None:  # (the open one ended meanwhile: the caller tries again)
            return await self.create(sync, request_id, deadline, traceparent)
        return _sync(row), False

    async def get(self, user_id: uuid.UUID, device_id: uuid.UUID, sync_id: uuid.UUID) -> Sync | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(f"SELECT {COLUMNS} FROM device.syncs WHERE {_WHERE}"),
                                      {"u": user_id, "d": device_id, "i": sync_id})).first()
        return _sync(row) if row else None

    async def list(self, user_id: uuid.UUID, device_id: uuid.UUID, state: State | None, limit: int,
                   before: uuid.UUID | None) -> list[Sync]:
        """Newest first (ids are UUIDv7)."""
        clauses, args = ["user_id = :u", "device_id = :d"], {"u": user_id, "d": device_id, "limit": limit}
        if state:
            clauses.append("state = :state")
            args["state"] = int(state)
        if before is not None:
            clauses.append("id < :before")
            args["before"] = before
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(
                f"SELECT {COLUMNS} FROM device.syncs WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT :limit"),
                args)).all()
        return [_sync(r) for r in rows]

    # The workers' side.

    async def claim(self, owner: str, lease: dt.timedelta, now: dt.datetime) -> SyncJob | None:
        row = await self._jobs.claim(owner, lease, now)
        return SyncJob(_sync(row), row.deadline, row.traceparent or "") if row else None

    async def extend_lease(self, sync: Sync, owner: str, until: dt.datetime | None) -> bool:
        return await self._jobs.extend((sync.user_id, sync.device_id, sync.id), owner, until)

    async def save_counts(self, sync: Sync, counts: SyncCounts, owner: str, now: dt.datetime) -> None:
        """Progress of a running pull, while this worker holds it."""
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "UPDATE device.syncs SET accepted = :accepted, duplicate = :duplicate, updated = :updated, "
                f"rejected = :rejected, errors = :errors, update_time = :now WHERE {_WHERE} AND state = 2 "
                "AND lease_owner = :owner"), {**_key(sync), **_counts(counts), "owner": owner, "now": now})

    async def finish(self, sync: Sync, state: State, counts: SyncCounts, now: dt.datetime, reason: str = "",
                     message: str = "", owner: str | None = None) -> Sync | None:
        """Ends an open sync (SUCCEEDED, FAILED or CANCELLED); None when it had ended already or,
        with `owner`, when that worker no longer holds it."""
        held = " AND lease_owner = :owner" if owner else ""
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                "UPDATE device.syncs SET state = :state, accepted = :accepted, duplicate = :duplicate, "
                "updated = :updated, rejected = :rejected, errors = :errors, failure_reason = :reason, "
                "failure_message = :message, end_time = :now, update_time = :now, lease_owner = NULL, "
                f"lease_expire_time = NULL WHERE {_WHERE} AND {_OPEN}{held} RETURNING {COLUMNS}"),
                {**_key(sync), **_counts(counts), "state": int(state), "reason": reason, "message": message,
                 "now": now, "owner": owner})).first()
        return _sync(row) if row else None

    async def wait(self, sync: Sync, state: State, until: dt.datetime, owner: str, now: dt.datetime,
                   deadline: dt.datetime | None = None) -> None:
        """Gives the job back until `until`: PENDING to run again (backoff, or no stream yet; its
        counts start again from zero), or RUNNING while a push device sends the data (batches it
        already sent stay counted)."""
        reset = ("accepted = 0, duplicate = 0, updated = 0, rejected = 0, errors = '[]', "
                 if state == State.PENDING else "")
        reset += "deadline = :deadline, " if deadline is not None else ""
        async with self._engine.begin() as conn:
            await conn.execute(text(
                f"UPDATE device.syncs SET state = :state, run_after = :until, lease_owner = NULL, {reset}"
                f"lease_expire_time = NULL, update_time = :now WHERE {_WHERE} AND {_OPEN} AND lease_owner = :owner"),
                {**_key(sync), "state": int(state), "until": until, "owner": owner, "now": now, "deadline": deadline})

    async def due_now(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> int:
        """Makes the device's PENDING syncs due at once (its stream just opened)."""
        async with self._engine.begin() as conn:
            return (await conn.execute(text(
                "UPDATE device.syncs SET run_after = :now WHERE user_id = :u AND device_id = :d AND state = 1 "
                "AND run_after > :now"), {"now": now, "u": user_id, "d": device_id})).rowcount

    async def add_batch(self, user_id: uuid.UUID, device_id: uuid.UUID, sync_id: uuid.UUID,
                        accepted: int, duplicate: int, updated: int, rejected: int,
                        errors: list[tuple[int, str, str]], complete: bool, now: dt.datetime) -> Sync | None:
        """Adds a stored batch a push device sent for the sync; its last batch ends it SUCCEEDED.
        None when the sync is not open (it timed out, or was cancelled)."""
        key = {"u": user_id, "d": device_id, "i": sync_id}
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                f"SELECT {COLUMNS} FROM device.syncs WHERE {_WHERE} AND {_OPEN} FOR UPDATE"), key)).first()
            if row is None:
                return None
            counts = _sync(row).counts
            counts.add(accepted, duplicate, updated, errors, rejected)
            row = (await conn.execute(text(
                "UPDATE device.syncs SET accepted = :accepted, duplicate = :duplicate, updated = :updated, "
                "rejected = :rejected, errors = :errors, update_time = :now, state = :state, "
                f"end_time = CASE WHEN :complete THEN CAST(:now AS timestamptz) END WHERE {_WHERE} RETURNING {COLUMNS}"),
                {**key, **_counts(counts), "now": now, "complete": complete,
                 "state": int(State.SUCCEEDED if complete else State.RUNNING)})).first()
        return _sync(row)

    async def cancel_open(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> int:
        """Cancels the device's open syncs (it was paused or deleted); how many."""
        async with self._engine.begin() as conn:
            result = await conn.execute(text(
                "UPDATE device.syncs SET state = :cancelled, end_time = :now, update_time = :now, lease_owner = NULL, "
                f"lease_expire_time = NULL WHERE user_id = :u AND device_id = :d AND {_OPEN}"),
                {"cancelled": int(State.CANCELLED), "now": now, "u": user_id, "d": device_id})
        return result.rowcount

    async def schedule(self, now: dt.datetime, new_id, overlap: dt.timedelta, deadline: dt.timedelta) -> int:
        """Adds a SCHEDULED sync for every ACTIVE auto_sync device whose latest sync was created
        sync_interval_seconds ago or more (or that has none) and has none open; how many. The
        window starts at the last successful sync less the overlap, at most backfill_days back.
        Replicas racing here add one each at most: the open-sync index refuses the second."""
        async with self._engine.begin() as conn:
            due = (await conn.execute(text(
                "SELECT d.user_id, d.id, d.last_sync_time, d.backfill_days FROM device.devices d "
                "WHERE d.auto_sync AND d.state = 1 AND NOT EXISTS (SELECT 1 FROM device.syncs s "
                "WHERE s.user_id = d.user_id AND s.device_id = d.id AND (s.state IN (1, 2) "
                "OR s.create_time > CAST(:now AS timestamptz) - make_interval(secs => d.sync_interval_seconds)))"),
                {"now": now})).all()
            added = 0
            for user_id, device_id, last, backfill_days in due:
                start = now - dt.timedelta(days=backfill_days or 30)
                if last is not None:
                    start = max(start, min(last, now) - overlap)
                added += (await conn.execute(text(
                    "INSERT INTO device.syncs (user_id, device_id, id, state, trigger, data_start_time, "
                    "data_end_time, run_after, deadline, create_time, update_time) VALUES (:u, :d, :i, 1, :trigger, "
                    ":start, :now, :now, :deadline, :now, :now) ON CONFLICT DO NOTHING"),
                    {"u": user_id, "d": device_id, "i": new_id(), "trigger": int(Trigger.SCHEDULED), "start": start,
                     "now": now, "deadline": now + deadline})).rowcount
        return added



async def erase_user(conn, user_id: uuid.UUID) -> dict[str, int]:
    """A deleted user's syncs (Device's erasure, services/device/app.py ERASE_PARTS)."""
    result = await conn.execute(text("DELETE FROM device.syncs WHERE user_id = :u"), {"u": user_id})
    return {"syncs": result.rowcount}
