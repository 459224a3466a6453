"""Ingest's storage: ingestions and the content-addressed raw archive. SQL stays here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.jobs import JobQueue, JobTable
from services.ingest.domain import Counts, Format, Ingestion, ItemError, RequestHeaders, State, Tally

COLUMNS = ("user_id, id, state, format, counts, errors, errors_truncated, payload_digest, payload_size_bytes, "
           "processed_bytes, content_type, request_headers, request_id, api_key, parser_version, reprocess_count, "
           "data_start_time, data_end_time, create_time, update_time, complete_time, traceparent")
INSERT_COLUMNS = COLUMNS + ", lease_owner, lease_expire_time"
# A job is an archived upload not yet finished (PENDING, or RUNNING under a worker whose lease ran out).
JOBS = JobTable("ingest.ingestions", COLUMNS, claimable="state IN (:pending, :running) AND payload_digest IS NOT NULL",
                order_by="create_time", on_claim="state = :running, update_time = :now")


def _ingestion(row) -> Ingestion:
    tally = Tally(
        counts={k: Counts(**v) for k, v in row.counts.items()},
        errors=[ItemError(**e) for e in row.errors], errors_truncated=row.errors_truncated,
        data_start=row.data_start_time, data_end=row.data_end_time)
    return Ingestion(
        id=row.id, user_id=row.user_id, state=State(row.state), format=Format(row.format), tally=tally,
        payload_digest=row.payload_digest or "", payload_size_bytes=row.payload_size_bytes,
        content_type=row.content_type, request_headers=RequestHeaders(**row.request_headers),
        request_id=row.request_id or "", api_key=row.api_key, reprocess_count=row.reprocess_count,
        create_time=row.create_time, update_time=row.update_time, complete_time=row.complete_time,
        processed_bytes=row.processed_bytes, parser_version=row.parser_version, traceparent=row.traceparent or "")


def _tally_values(tally: Tally) -> dict:
    return {
        "counts": json.dumps({k: dataclasses.asdict(v) for k, v in tally.counts.items()}),
        "errors": json.dumps([dataclasses.asdict(e) for e in tally.errors]),
        "errors_truncated": tally.errors_truncated, "data_start_time": tally.data_start,
        "data_end_time": tally.data_end,
    }


class SqlIngestRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._jobs = JobQueue(engine, JOBS)

    # The archive.

    async def has_payload(self, digest: str) -> bool:
        async with self._engine.connect() as conn:
            return (await conn.execute(text("SELECT 1 FROM ingest.payloads WHERE digest = :d"), {"d": digest})
                    ).first() is not None

    async def save_payload(self, digest: str, size: int, content_type: str, chunks: Iterable[bytes],
                           now: dt.datetime) -> None:
        """Stores a payload once per content address; a second upload of the same bytes reuses it."""
        async with self._engine.begin() as conn:
            inserted = (await conn.execute(text(
                "INSERT INTO ingest.payloads (digest, size_bytes, content_type, chunk_count, create_time) "
                "VALUES (:d, :s, :c, 0, :t) ON CONFLICT (digest) DO NOTHING RETURNING digest"),
                {"d": digest, "s": size, "c": content_type, "t": now})).first()
            if inserted is None:
                return
            count, group = 0, []
            for chunk in chunks:
                group.append({"d": digest, "n": count, "b": chunk})
                count += 1
                if len(group) == 16:
                    await conn.execute(text("INSERT INTO ingest.payload_chunks (digest, seq, data) "
                                            "VALUES (:d, :n, :b)"), group)
                    group = []
            if group:
                await conn.execute(text("INSERT INTO ingest.payload_chunks (digest, seq, data) VALUES (:d, :n, :b)"),
                                   group)
            await conn.execute(text("UPDATE ingest.payloads SET chunk_count = :n WHERE digest = :d"),
                               {"n": count, "d": digest})

    async def payload_chunks(self, digest: str) -> AsyncIterator[bytes]:
        """The compressed chunks of a payload, in order, one query each (memory stays flat)."""
        async with self._engine.connect() as conn:
            count = (await conn.execute(text("SELECT chunk_count FROM ingest.payloads WHERE digest = :d"),
                                        {"d": digest})).scalar_one()
        for seq in range(count):
            async with self._engine.connect() as conn:  # (given back before the chunk is worked on)
                data = (await conn.execute(text(
                    "SELECT data FROM ingest.payload_chunks WHERE digest = :d AND seq = :n"),
                    {"d": digest, "n": seq})).scalar_one()
            yield data

    # Ingestions.

    async def create(self, ingestion: Ingestion, lease_owner: str | None = None,
                     lease_until: dt.datetime | None = None) -> Ingestion:
        """Inserts; with a request_id this user already used, returns that first ingestion. A lease
        marks a job this worker runs itself, so no other worker takes it meanwhile."""
        async with self._engine.begin() as conn:
            if ingestion.request_id:
                found = (await conn.execute(text(
                    f"SELECT {COLUMNS} FROM ingest.ingestions WHERE user_id = :u AND request_id = :r"),
                    {"u": ingestion.user_id, "r": ingestion.request_id})).first()
                if found is not None:
                    return _ingestion(found)
            row = (await conn.execute(text(
                f"INSERT INTO ingest.ingestions ({INSERT_COLUMNS}) VALUES (:user_id, :id, :state, :format, :counts, :errors, "
                ":errors_truncated, :payload_digest, :payload_size_bytes, :processed_bytes, :content_type, "
                ":request_headers, :request_id, :api_key, :parser_version, :reprocess_count, :data_start_time, "
                f":data_end_time, :create_time, :update_time, :complete_time, :traceparent, :lease_owner, "
                f":lease_expire_time) "
                f"RETURNING {COLUMNS}"), {
                    "lease_owner": lease_owner, "lease_expire_time": lease_until,
                    "user_id": ingestion.user_id, "id": ingestion.id, "state": int(ingestion.state),
                    "format": int(ingestion.format), **_tally_values(ingestion.tally),
                    "payload_digest": ingestion.payload_digest or None,
                    "payload_size_bytes": ingestion.payload_size_bytes, "processed_bytes": ingestion.processed_bytes,
                    "content_type": ingestion.content_type,
                    "request_headers": json.dumps(dataclasses.asdict(ingestion.request_headers)),
                    "request_id": ingestion.request_id or None, "api_key": ingestion.api_key,
                    "parser_version": ingestion.parser_version, "reprocess_count": ingestion.reprocess_count,
                    "create_time": ingestion.create_time, "update_time": ingestion.update_time,
                    "complete_time": ingestion.complete_time,
                    "traceparent": ingestion.traceparent or None})).one()
        return _ingestion(row)

    async def save_progress(self, user_id: uuid.UUID, ingestion_id: uuid.UUID, state: State, tally: Tally,
                            processed_bytes: int, now: dt.datetime, complete: bool) -> Ingestion | None:
        """Records counts and state. A progress update (not complete) never overwrites a finished
        ingestion, so a late heartbeat cannot turn SUCCEEDED back into RUNNING."""
        unfinished = "" if complete else " AND state IN (:pending, :running)"
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                "UPDATE ingest.ingestions SET state = :state, counts = :counts, errors = :errors, "
                "errors_truncated = :errors_truncated, data_start_time = :data_start_time, "
                "data_end_time = :data_end_time, processed_bytes = :processed, update_time = :now, "
                f"complete_time = :complete_time WHERE user_id = :u AND id = :i{unfinished} RETURNING {COLUMNS}"),
                {"state": int(state), **_tally_values(tally), "processed": processed_bytes, "now": now,
                 "complete_time": now if complete else None, "u": user_id, "i": ingestion_id,
                 "pending": int(State.PENDING), "running": int(State.RUNNING)})).first()
        return _ingestion(row) if row else None

    async def save_processed_bytes(self, user_id: uuid.UUID, ingestion_id: uuid.UUID, owner: str,
                                   processed_bytes: int) -> bool:
        """Publishes how far a running job has read: one column of one row, written only while this
        worker holds the job (not after its outcome is saved, nor once another worker took it over)."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                "UPDATE ingest.ingestions SET processed_bytes = :processed WHERE user_id = :u AND id = :i "
                "AND state = :running AND lease_owner = :owner RETURNING 1"),
                {"processed": processed_bytes, "u": user_id, "i": ingestion_id, "running": int(State.RUNNING),
                 "owner": owner})).first()
        return row is not None

    async def start_reprocess(self, user_id: uuid.UUID, ingestion_id: uuid.UUID, owner: str, lease_until: dt.datetime,
                              now: dt.datetime) -> Ingestion | None:
        """Moves a finished ingestion back to RUNNING with empty counts, under this worker's lease;
        None if it is still running."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                "UPDATE ingest.ingestions SET state = :running, counts = '{}', errors = '[]', errors_truncated = 0, "
                "processed_bytes = 0, reprocess_count = reprocess_count + 1, update_time = :now, complete_time = NULL, "
                "lease_owner = :owner, lease_expire_time = :until "
                f"WHERE user_id = :u AND id = :i AND state IN (:done, :failed) RETURNING {COLUMNS}"),
                {"running": int(State.RUNNING), "now": now, "u": user_id, "i": ingestion_id, "owner": owner,
                 "until": lease_until, "done": int(State.SUCCEEDED), "failed": int(State.FAILED)})).first()
        return _ingestion(row) if row else None

    # Background jobs.

    async def claim_job(self, owner: str, lease: dt.timedelta, now: dt.datetime) -> Ingestion | None:
        """Takes the oldest PENDING ingestion, or a RUNNING one whose worker's lease ran out."""
        row = await self._jobs.claim(owner, lease, now, running=int(State.RUNNING), pending=int(State.PENDING))
        return _ingestion(row) if row else None

    async def extend_lease(self, user_id: uuid.UUID, ingestion_id: uuid.UUID, owner: str,
                           until: dt.datetime | None) -> bool:
        """Keeps (or, with None, gives up) this worker's hold on a job; False once another has it."""
        return await self._jobs.extend((user_id, ingestion_id), owner, until)

    async def get(self, user_id: uuid.UUID, ingestion_id: uuid.UUID) -> Ingestion | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(f"SELECT {COLUMNS} FROM ingest.ingestions WHERE user_id = :u AND id = :i"),
                                      {"u": user_id, "i": ingestion_id})).first()
        return _ingestion(row) if row else None

    async def list(self, user_id: uuid.UUID, state: State | None, format: Format | None, limit: int,
                   before: uuid.UUID | None) -> list[Ingestion]:
        """Newest first."""
        clauses, args = ["user_id = :u"], {"u": user_id, "limit": limit}
        if state:
            clauses.append("state = :state")
            args["state"] = int(state)
        if format:
            clauses.append("format = :format")
            args["format"] = int(format)
        if before is not None:
            clauses.append("id < :before")
            args["before"] = before
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(
                f"SELECT {COLUMNS} FROM ingest.ingestions WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT :limit"),
                args)).all()
        return [_ingestion(r) for r in rows]
