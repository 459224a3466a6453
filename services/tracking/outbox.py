"""What Tracking tells Insight: a row of tracking.outbox in the transaction of every write that
changed a user's samples, sleep or activities (services/common/outbox.py relays the rows to
Insight's NotifySamplesWritten; services/tracking/insight.py makes the call).

One row per write per user, however many samples it held: the user, the types, the earliest
start and the latest end of what the write created, updated or deleted, and the time just
before its commit. A write that changed nothing (every sample a duplicate, a request id used
before, nothing at the key) writes no row.

The names in `sample_types`:
- the catalog keys of the samples written or deleted, whatever the path: samples:create and
  batchCreate over REST (an update is a create at a stored key), WriteSamples in rows or columns,
  sample deletes, and the dietary samples that nutrition entries write and delete
  (dietary_energy, protein, water, ...);
- `sleep_asleep` for a sleep session created (CreateSleepSession, ImportRecords), updated or
  deleted: the nightly asleep time Insight reads as that type; the range covers the session's
  old and new times;
- `activity` for an activity (a workout) created (CreateActivity, ImportRecords), updated or
  deleted; its range likewise.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common import telemetry
from services.common.outbox import OutboxTable, record_statement

SLEEP_ASLEEP = "sleep_asleep"
ACTIVITY = "activity"

# `traceparent`: the writing request's, for the relay's span to link to (services/common/telemetry).
OUTBOX = OutboxTable("tracking.outbox", columns=("event_id", "user_id", "sample_types", "start_time", "end_time",
                                                 "commit_time", "traceparent"), channel="tracking_outbox")


@functools.cache
def _record(first: str) -> str:
    return record_statement(OUTBOX, {"user_id": "$1::uuid", "sample_types": "$2::text[]",
                                     "start_time": "$3::timestamptz", "end_time": "$4::timestamptz",
                                     "traceparent": "$5::text"},
                            key="$1::uuid::text", first=first)


_RECORD_SQLALCHEMY = text(record_statement(
    OUTBOX, {"user_id": "CAST(:user_id AS uuid)", "sample_types": "CAST(:types AS text[])",
             "start_time": "CAST(:start AS timestamptz)", "end_time": "CAST(:end AS timestamptz)",
             "traceparent": "CAST(:traceparent AS text)"},
    key="CAST(CAST(:user_id AS uuid) AS text)"))


async def record(raw: asyncpg.Connection, user_id: uuid.UUID, types: Iterable[str], start: dt.datetime,
                 end: dt.datetime, first: str = "") -> None:
    """Adds the write's row, on a connection inside the write's transaction (asyncpg's own);
    `first` runs before in the same statement (a SELECT of one row, its user $1)."""
    await raw.execute(_record(first), user_id, sorted(set(types)), start, max(start, end),
                      telemetry.traceparent() or None)


async def record_in(conn: AsyncConnection, user_id: uuid.UUID, type: str,
                    spans: Iterable[tuple[dt.datetime, dt.datetime]]) -> None:
    """As record(), in a SQLAlchemy transaction, for records (sleep sessions, activities) of one
    type spanning these (start, end); none, no row."""
    spans = list(spans)
    if spans:
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        await conn.execute(_RECORD_SQLALCHEMY, {"user_id": user_id, "types": [type], "start": start,
                                                "end": max(start, end), "traceparent": telemetry.traceparent() or None})
