"""Samples' storage: set-based writes into monthly partitions, with the hourly and daily rollups
kept right in the same transaction: recomputed for exactly the buckets a write or delete
touched, or, for a batch on new ground, added to.

The bulk statements go to asyncpg directly (a batch arrives by one binary COPY, built with
numpy, then one statement); the engine still owns connections and transactions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable

import asyncpg
import numpy as np
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import telemetry
from services.common.convert import from_micros
from services.common.db import raw_connection
from services.tracking import outbox
from services.tracking.samples import batches
from services.tracking.samples.batches import DAY_MICROS
from services.tracking.samples.columns import CheckedColumns
from services.tracking.samples.domain import DayTotal, HourRow, MealContext, Sample

SELECT_SAMPLE = ("SELECT id, user_id, type, start_time, end_time, utc_offset_minutes, value, min, max, value2, "
                 "original_value, original_unit, source, meal_context, create_time, update_time FROM tracking.samples")

# A batch's rows arrive by binary COPY into this per-session table (cheaper on both ends than
# arrays: no per-element checks in the driver, no unnest on the server), everything computed
# already: times, local hours and ids in their binary forms, strings as indices into the
# statements' $2. Ids are UUIDv8 with the start's milliseconds since 1900 (see
# domain.start_of_sample_id), then random bits; rows that turn out to be stored already drop theirs.
INPUT_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS tracking_sample_input (
    n int4, ti int4, start_time timestamptz, si int4, end_time timestamptz, utc_offset_minutes int2, value float8,
    min float8, max float8, value2 float8, original_value float8, oi int4, meal_context int2, row_hash int8,
    id uuid, local_hour timestamp
) ON COMMIT DELETE ROWS
"""

# The batch's rows as the samples table has them. The UPSERT's parameters: $1 user, $2 strings,
# $3 the origin's number (see _origin), $4 now, $5 the batch's types, $6 and $7 its first and last start.
INPUT_ROWS = """
    SELECT n, ($2::text[])[ti + 1] AS type, start_time, ($2::text[])[si + 1] AS source, end_time,
           utc_offset_minutes, value, nullif(min, 'NaN') AS min, nullif(max, 'NaN') AS max,
           nullif(value2, 'NaN') AS value2, original_value, ($2::text[])[oi + 1] AS original_unit,
           meal_context, row_hash, id
    FROM tracking_sample_input
"""

UPSERT_CTES = """
WITH input AS (""" + INPUT_ROWS + """),
old AS (
    -- Bounded by the batch's types and time span, so the lookup reads the batch's neighbourhood
    -- (and only its partitions), never the user's whole history.
    SELECT s.* FROM tracking.samples s JOIN input i USING (type, start_time, source)
    WHERE s.user_id = $1 AND s.type = ANY($5::text[]) AND s.start_time >= $6 AND s.start_time <= $7
),
up AS (
    INSERT INTO tracking.samples AS s (user_id, type, start_time, source, id, end_time, utc_offset_minutes, value,
        min, max, value2, original_value, original_unit, meal_context, row_hash, origin, create_time, update_time)
    SELECT $1, type, start_time, source, id, end_time, utc_offset_minutes, value, min, max, value2,
           original_value, original_unit, meal_context, row_hash, $3, $4, $4
    FROM input
    ON CONFLICT (user_id, type, start_time, source) DO UPDATE SET
        end_time = EXCLUDED.end_time, utc_offset_minutes = EXCLUDED.utc_offset_minutes, value = EXCLUDED.value,
        min = EXCLUDED.min, max = EXCLUDED.max, value2 = EXCLUDED.value2, original_value = EXCLUDED.original_value,
        original_unit = EXCLUDED.original_unit, meal_context = EXCLUDED.meal_context, row_hash = EXCLUDED.row_hash,
        origin = EXCLUDED.origin, update_time = EXCLUDED.update_time
    WHERE (s.end_time, s.utc_offset_minutes, s.value, s.min, s.max, s.value2, s.meal_context)
          IS DISTINCT FROM (EXCLUDED.end_time, EXCLUDED.utc_offset_minutes, EXCLUDED.value, EXCLUDED.min,
                            EXCLUDED.max, EXCLUDED.value2, EXCLUDED.meal_context)
    RETURNING s.type, s.start_time, s.source, s.id, s.create_time, s.update_time, s.utc_offset_minutes, s.end_time
),
changed AS (
    SELECT up.type, up.source, up.start_time, up.end_time, up.utc_offset_minutes AS offset_now,
           old.utc_offset_minutes AS offset_before, old.id IS NULL AS inserted
    FROM up LEFT JOIN old USING (type, start_time, source)
)
"""

# The rollup buckets the batch touched: each changed row's local hour, at its new offset and at
# the one it had before.
HOURS = """
SELECT DISTINCT 'hour', {nulls}, type, source,
       date_trunc('hour', (start_time AT TIME ZONE 'UTC') + make_interval(mins => o.offset_minutes)), o.offset_minutes
FROM changed CROSS JOIN LATERAL (VALUES (offset_now), (offset_before)) AS o(offset_minutes)
WHERE o.offset_minutes IS NOT NULL
"""

# Every row's outcome and stored id, in input order, for callers that answer with the stored samples.
UPSERT_ROWS = UPSERT_CTES + """
(SELECT 'row' AS kind, i.n, coalesce(up.id, old.id) AS id, coalesce(up.create_time, old.create_time) AS create_time,
       coalesce(up.update_time, old.update_time) AS update_time,
       CASE WHEN up.id IS NULL THEN 'duplicate' WHEN old.id IS NULL THEN 'accepted' ELSE 'updated' END AS outcome,
       NULL::text AS type, NULL::text AS source, NULL::timestamp AS local_hour, NULL::int2 AS utc_offset_minutes
FROM input i
LEFT JOIN up USING (type, start_time, source)
LEFT JOIN old USING (type, start_time, source)
ORDER BY i.n)
UNION ALL""" + HOURS.format(nulls="NULL::bigint, NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::text")

# Only the counts, the span of the changed rows (for the outbox) and the touched buckets, for bulk
# writers that need no more: a few rows back instead of one per sample.
UPSERT_COUNTS = UPSERT_CTES + """
SELECT 'counts' AS kind, count(*) FILTER (WHERE inserted) AS accepted, count(*) FILTER (WHERE NOT inserted) AS updated,
       min(start_time) AS first_start, max(end_time) AS last_end,
       NULL::text AS type, NULL::text AS source, NULL::timestamp AS local_hour, NULL::int2 AS utc_offset_minutes
FROM changed
UNION ALL""" + HOURS.format(nulls="NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::timestamptz")

# Recomputes hourly rollups for the given (type, source, local hour, offset) keys from the rows.
RECOMPUTE_HOURS = """
WITH keys AS (
    SELECT DISTINCT * FROM unnest($2::text[], $3::text[], $4::timestamp[], $5::int2[])
        AS k(type, source, local_hour, utc_offset_minutes)
),
agg AS (
    SELECT k.type, k.source, k.local_hour, k.utc_offset_minutes, a.count, a.sum, a.min, a.max, a.hash_sum
    FROM keys k CROSS JOIN LATERAL (
        SELECT count(*) AS count, coalesce(sum(s.value), 0) AS sum,
               min(coalesce(s.min, s.value)) AS min, max(coalesce(s.max, s.value)) AS max,
               coalesce(sum(s.row_hash), 0) AS hash_sum
        FROM tracking.samples s
        WHERE s.user_id = $1 AND s.type = k.type AND s.source = k.source
          AND s.utc_offset_minutes = k.utc_offset_minutes
          AND s.start_time >= (k.local_hour - make_interval(mins => k.utc_offset_minutes)) AT TIME ZONE 'UTC'
          AND s.start_time < (k.local_hour - make_interval(mins => k.utc_offset_minutes)
                              + interval '1 hour') AT TIME ZONE 'UTC'
    ) a
),
gone AS (
    DELETE FROM tracking.sample_hours h USING agg
    WHERE agg.count = 0 AND h.user_id = $1 AND h.type = agg.type AND h.source = agg.source
      AND h.local_hour = agg.local_hour AND h.utc_offset_minutes = agg.utc_offset_minutes
)
INSERT INTO tracking.sample_hours (user_id, type, local_hour, utc_offset_minutes, source, count, sum, min, max,
                                   hash_sum)
SELECT $1, type, local_hour, utc_offset_minutes, source, count, sum, min, max, hash_sum FROM agg WHERE count > 0
ON CONFLICT (user_id, type, local_hour, utc_offset_minutes, source) DO UPDATE SET
    count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, hash_sum = EXCLUDED.hash_sum
"""

# New ground (no sample of the batch's types stored in its time span): the batch goes straight
# into the samples table by COPY, with no lookup of old rows and no conflict handling (a key
# someone else stored meanwhile makes it fail with a unique violation, and the batch takes the
# upsert instead). Then the rollups grow by exactly its rows, as batches.rollup_rows() counts
# them: added to, not recomputed, so nothing reads the rows just written.
ADD_TO_ROLLUPS = """
WITH hours AS (
    INSERT INTO tracking.sample_hours AS h (user_id, type, source, local_hour, utc_offset_minutes, count, sum, min,
                                            max, hash_sum)
    SELECT $1, * FROM unnest($2::text[], $3::text[], $4::timestamp[], $5::int2[], $6::int4[], $7::float8[],
                             $8::float8[], $9::float8[], $10::numeric[])
    ON CONFLICT (user_id, type, local_hour, utc_offset_minutes, source) DO UPDATE SET
        count = h.count + EXCLUDED.count, sum = h.sum + EXCLUDED.sum, min = least(h.min, EXCLUDED.min),
        max = greatest(h.max, EXCLUDED.max), hash_sum = h.hash_sum + EXCLUDED.hash_sum
)
INSERT INTO tracking.sample_days AS d (user_id, type, source, local_date, utc_offset_minutes, count, sum, min, max)
SELECT $1, * FROM unnest($11::text[], $12::text[], $13::date[], $14::int2[], $15::int4[], $16::float8[],
                         $17::float8[], $18::float8[])
ON CONFLICT (user_id, type, local_date, utc_offset_minutes, source) DO UPDATE SET
    count = d.count + EXCLUDED.count, sum = d.sum + EXCLUDED.sum, min = least(d.min, EXCLUDED.min),
    max = greatest(d.max, EXCLUDED.max)
"""

# Whether any sample of these types is stored between the batch's first and last start: per
# type, the first row at or after (type, first start) in primary-key order. Put this way only the
# primary key answers it, with one descent per partition. (As "type = ANY(...) AND start_time
# BETWEEN ...", the planner could take the (user_id, start_time) index, and did while a large
# import was too fresh for statistics: it then read every sample of the span, ~0.2 s per call.)
ANY_STORED_SAMPLE = """
SELECT EXISTS (
    SELECT 1 FROM unnest($2::text[]) AS t(type) CROSS JOIN LATERAL (
        SELECT s.type, s.start_time FROM tracking.samples s
        WHERE s.user_id = $1 AND (s.type, s.start_time) >= (t.type, $3)
        ORDER BY s.type, s.start_time LIMIT 1) first
    WHERE first.type = t.type AND first.start_time <= $4)
"""

# Which of the given hour buckets hold exactly the given rows (same count, same hash sum): their
# ordinals. A bulk writer's rows in those buckets are already stored as they are. One primary-key
# probe per bucket (as a join, with a year's rollups just written and not yet analyzed, the
# planner read every hour of the user for each batch: 14 ms against 1).
STORED_HOURS = """
SELECT k.i FROM unnest($2::text[], $3::text[], $4::timestamp[], $5::int2[], $6::int4[], $7::text[])
    WITH ORDINALITY AS k(type, source, local_hour, utc_offset_minutes, count, hash_sum, i)
CROSS JOIN LATERAL (
    SELECT h.count, h.hash_sum FROM tracking.sample_hours h
    WHERE h.user_id = $1 AND h.type = k.type AND h.local_hour = k.local_hour
      AND h.utc_offset_minutes = k.utc_offset_minutes AND h.source = k.source LIMIT 1) h
WHERE h.count = k.count AND h.hash_sum = k.hash_sum::numeric
"""

# Which of the given rows are stored exactly as they are (the values an update compares, as in
# UPSERT_CTES): their ordinals. One primary-key probe per row, in the one partition its start
# falls in (LIMIT keeps the probe a subquery of its own: joined instead, the planner read every
# sample between the rows' first and last start, a whole batch's span for the rows at its ends).
STORED_ROWS = """
SELECT k.i FROM unnest($2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::int2[], $7::float8[],
                       $8::float8[], $9::float8[], $10::float8[], $11::int2[])
    WITH ORDINALITY AS k(type, start_time, source, end_time, utc_offset_minutes, value, min, max, value2,
                         meal_context, i)
CROSS JOIN LATERAL (
    SELECT s.end_time, s.utc_offset_minutes, s.value, s.min, s.max, s.value2, s.meal_context FROM tracking.samples s
    WHERE s.user_id = $1 AND s.type = k.type AND s.start_time = k.start_time AND s.source = k.source LIMIT 1) s
WHERE (s.end_time, s.utc_offset_minutes, s.value, s.min, s.max, s.value2, s.meal_context)
      IS NOT DISTINCT FROM (k.end_time, k.utc_offset_minutes, k.value, k.min, k.max, k.value2, k.meal_context)
"""

# Recomputes daily rollups for the given (type, source, local date, offset) keys from the hours.
RECOMPUTE_DAYS = """
WITH keys AS (
    SELECT DISTINCT * FROM unnest($2::text[], $3::text[], $4::date[], $5::int2[])
        AS k(type, source, local_date, utc_offset_minutes)
),
agg AS (
    SELECT k.type, k.source, k.local_date, k.utc_offset_minutes, a.count, a.sum, a.min, a.max
    FROM keys k CROSS JOIN LATERAL (
        SELECT coalesce(sum(h.count), 0) AS count, coalesce(sum(h.sum), 0) AS sum, min(h.min) AS min,
               max(h.max) AS max
        FROM tracking.sample_hours h
        WHERE h.user_id = $1 AND h.type = k.type AND h.source = k.source
          AND h.utc_offset_minutes = k.utc_offset_minutes
          AND h.local_hour >= k.local_date AND h.local_hour < k.local_date + 1
    ) a
),
gone AS (
    DELETE FROM tracking.sample_days d USING agg
    WHERE agg.count = 0 AND d.user_id = $1 AND d.type = agg.type AND d.source = agg.source
      AND d.local_date = agg.local_date AND d.utc_offset_minutes = agg.utc_offset_minutes
)
INSERT INTO tracking.sample_days (user_id, type, local_date, utc_offset_minutes, source, count, sum, min, max)
SELECT $1, type, local_date, utc_offset_minutes, source, count, sum, min, max FROM agg WHERE count > 0
ON CONFLICT (user_id, type, local_date, utc_offset_minutes, source) DO UPDATE SET
    count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max
"""


MEAL_CONTEXTS = tuple(MealContext)  # by value: 0, 1, ... (cheaper than calling the enum per row)


def _sample(row, unit_of) -> Sample:
    # Unpacked by position (SELECT_SAMPLE's order): a page of rows is made on every list.
    (id_, user_id, type_, start, end, offset, value, low, high, value2, original_value, original_unit, source,
     meal_context, create_time, update_time) = row
    return Sample(id_, user_id, type_, start, end, offset, value, low, high, value2, unit_of(type_), original_value,
                  original_unit, source, MEAL_CONTEXTS[meal_context], create_time, update_time)


ORIGINS_CACHED = 10_000
EXACT_CHECK_ROWS = 1000  # rows of a batch sent again left after the hourly check, at most, to look up one by one
LOCAL_SLACK = dt.timedelta(hours=19)  # more than the largest UTC offset


def _naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _local_hour(start: dt.datetime, offset: int) -> dt.datetime:
    local = (start + dt.timedelta(minutes=offset)).replace(tzinfo=None)
    return local.replace(minute=0, second=0, microsecond=0)


def month_start(t: dt.datetime) -> dt.date:
    return dt.date(t.year, t.month, 1)


def next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _span(rows: CheckedColumns) -> tuple[list[str], dt.datetime, dt.datetime]:
    """The batch's types, first start and last start."""
    types = sorted({rows.strings[t] for t in np.unique(rows.type).tolist()})
    starts = np.asarray(rows.start_us)
    return types, from_micros(int(starts.min())), from_micros(int(starts.max()))


def _changes(rows: CheckedColumns, positions: list[int] | None = None) -> tuple[list[str], dt.datetime, dt.datetime]:
    """The types, first start and last end of these rows (all of them without `positions`), for the outbox."""
    pick = slice(None) if positions is None else np.array(positions, dtype=np.int64)
    types = {rows.strings[t] for t in np.unique(np.asarray(rows.type)[pick]).tolist()}
    return (sorted(types), from_micros(int(np.asarray(rows.start_us)[pick].min())),
            from_micros(int(np.asarray(rows.end_us)[pick].max())))


def _upsert_args(user_id: uuid.UUID, rows: CheckedColumns, origin: int | None, now: dt.datetime) -> list:
    return [user_id, rows.strings, origin, now, *_span(rows)]


async def _load(raw: asyncpg.Connection, rows: CheckedColumns) -> None:
    """Puts the batch into this transaction's input table."""
    await raw.execute(INPUT_TABLE)
    await _copy(raw, "tracking_sample_input", batches.INPUT_COLUMNS, batches.input_rows(rows))


async def _copy(raw: asyncpg.Connection, table: str, columns: tuple[str, ...], data: bytes,
                schema: str | None = None) -> None:
    """One binary COPY stream into a table."""
    async def stream() -> AsyncIterator[bytes]:  # (bytes alone would be taken for a file's path)
        yield data

    with telemetry.span("tracking.copy", {"healthmesh.table": table, "healthmesh.bytes": len(data)}):
        await raw.copy_to_table(table, schema_name=schema, source=stream(), columns=columns, format="binary")


async def _unchanged(raw: asyncpg.Connection, user_id: uuid.UUID, rows: CheckedColumns) -> list[int] | None:
    """Positions of the rows whose hourly buckets hold exactly these rows already; None when no
    sample of the batch's types is stored in its time span (new ground: nothing to compare with)."""
    if not await raw.fetchval(ANY_STORED_SAMPLE, user_id, *_span(rows)):
        return None
    a = batches.Arrays(rows)
    buckets = a.hours()
    first, strings = buckets.first, rows.strings
    found = await raw.fetch(STORED_HOURS, user_id, [strings[t] for t in a.type[first].tolist()],
                            [strings[s] for s in a.source[first].tolist()],
                            [from_micros(h).replace(tzinfo=None) for h in a.local_hour[first].tolist()],
                            a.offset[first].tolist(), buckets.count().tolist(),
                            [str(h) for h in buckets.sum(a.row_hash).tolist()])
    same = np.zeros(len(buckets), dtype=bool)
    same[[r["i"] - 1 for r in found]] = True
    return np.flatnonzero(same[buckets.of]).tolist()


async def _stored_exactly(raw: asyncpg.Connection, user_id: uuid.UUID, rows: CheckedColumns) -> list[int]:
    """Positions of the rows stored already with exactly these values."""
    listed = rows.as_lists()
    strings = rows.strings
    found = await raw.fetch(STORED_ROWS, user_id, [strings[t] for t in listed.type],
                            [from_micros(t) for t in listed.start_us], [strings[s] for s in listed.source],
                            [from_micros(t) for t in listed.end_us], listed.offset, listed.value, listed.min,
                            listed.max, listed.value2, listed.meal_context)
    return [r["i"] - 1 for r in found]


Change = tuple[Iterable[str], dt.datetime, dt.datetime]  # a write's types, first start and last end

LOCK_ROLLUPS = "SELECT pg_advisory_xact_lock(hashtext('tracking.rollups'), hashtext($1::uuid::text))"


async def _lock_rollups(raw: asyncpg.Connection, user_id: uuid.UUID, change: Change) -> None:
    """A per-user lock, held to the commit, orders the writers of a user's rollups: a recompute
    sees every row committed before it, and an addition counts only rows nobody counted yet.
    The same statement adds the write's outbox row (what it changed): one round trip for both."""
    await outbox.record(raw, user_id, *change, first=LOCK_ROLLUPS)


def _without(rows: CheckedColumns, positions: list[int]) -> CheckedColumns:
    drop = set(positions)
    return rows.keep([k for k in range(len(rows)) if k not in drop]) if drop else rows


def _hours(rows) -> set[tuple[str, str, dt.datetime, int]]:
    return {(r["type"], r["source"], r["local_hour"], r["utc_offset_minutes"]) for r in rows if r["kind"] == "hour"}


class SqlSampleRepository:
    def __init__(self, engine: AsyncEngine, unit_of) -> None:
        self._engine = engine
        self._unit_of = unit_of  # type key -> canonical unit (the unit is not stored per row)
        self._partitions: set[dt.date] = set()
        self._origins: dict[str, int] = {}

    def _connection(self) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
        # The pool's own connection, with no SQLAlchemy Connection made around it: that cost twice
        # what the checkout itself does (60 us against 27, measured); closed if a write was cut short.
        return raw_connection(self._engine)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._connection() as raw, raw.transaction():
            yield raw

    async def ensure_partitions(self, starts_us: Iterable[int]) -> None:
        """Creates the monthly partitions the given starts (microseconds) fall in, once each."""
        days = np.unique(np.array(starts_us, dtype=np.int64) // DAY_MICROS).tolist()
        months = {month_start(from_micros(day * DAY_MICROS)) for day in days} - self._partitions
        if not months:
            return
        async with self._transaction() as raw:
            # Serialises concurrent writers (other replicas too) creating the same partition.
            await raw.execute("SELECT pg_advisory_xact_lock(hashtext('tracking.samples.partitions'))")
            for month in sorted(months):
                name = f"samples_p{month:%Y%m}"
                await raw.execute(
                    f"CREATE TABLE IF NOT EXISTS tracking.{name} PARTITION OF tracking.samples "
                    f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') TO ('{next_month(month).isoformat()} 00:00:00+00')")
        self._partitions |= months

    async def _origin(self, ingest_id: str) -> int | None:
        """The number that stands for what produced a batch (None for nothing): made once per
        name, outside the batch's transaction, so a rolled-back batch leaves the cache right."""
        if not ingest_id:
            return None
        origin = self._origins.get(ingest_id)
        if origin is None:
            async with self._connection() as raw:
                origin = await raw.fetchval(
                    "INSERT INTO tracking.sample_origins (name) VALUES ($1) "
                    "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id", ingest_id)
            if len(self._origins) >= ORIGINS_CACHED:
                self._origins.clear()
            self._origins[ingest_id] = origin
        return origin

    async def write(self, user_id: uuid.UUID, rows: CheckedColumns, ingest_id: str,
                    now: dt.datetime) -> list[tuple[str, uuid.UUID, dt.datetime, dt.datetime]]:
        """Upserts by natural key; returns (outcome, id, create_time, update_time) per row, in order.
        Rows must have distinct natural keys."""
        if not rows:
            return []
        await self.ensure_partitions(rows.start_us)
        origin = await self._origin(ingest_id)
        async with self._transaction() as raw:
            await _load(raw, rows)
            found = await raw.fetch(UPSERT_ROWS, *_upsert_args(user_id, rows, origin, now))
            changed = [r["n"] for r in found if r["kind"] == "row" and r["outcome"] != "duplicate"]
            await self._recompute(raw, user_id, _hours(found), _changes(rows, changed) if changed else None)
        return [(r["outcome"], r["id"], r["create_time"], r["update_time"])
                for r in sorted((r for r in found if r["kind"] == "row"), key=lambda r: r["n"])]

    async def write_counts(self, user_id: uuid.UUID, rows: CheckedColumns, ingest_id: str,
                           now: dt.datetime) -> tuple[int, int, int]:
        """As write(), for bulk writers: returns (accepted, duplicate, updated) only."""
        if not rows:
            return 0, 0, 0
        total = len(rows)
        await self.ensure_partitions(rows.start_us)
        origin = await self._origin(ingest_id)
        # The questions asked first only read, each seeing what is committed (as they would inside
        # a transaction): no transaction for them, so a batch sent again costs two round trips.
        async with self._connection() as raw:
            # Data sent again (a re-export, a retried upload) mostly fills whole hours exactly as
            # stored: those rows are duplicates without writing them.
            unchanged = await _unchanged(raw, user_id, rows)
            if unchanged:
                rows = _without(rows, unchanged)
            if unchanged is not None and 0 < len(rows) <= EXACT_CHECK_ROWS:
                # The few rows left, typically the part of an hour a batch holds at either end:
                # asked one by one, which is still much cheaper than the upsert's transaction.
                rows = _without(rows, await _stored_exactly(raw, user_id, rows))
            if not rows:
                return 0, total, 0
            if unchanged is None and await self._insert_new(raw, user_id, rows, origin, now):
                return len(rows), total - len(rows), 0
            async with raw.transaction():
                await _load(raw, rows)
                found = await raw.fetch(UPSERT_COUNTS, *_upsert_args(user_id, rows, origin, now))
                counts = next(r for r in found if r["kind"] == "counts")
                hours = _hours(found)
                await self._recompute(raw, user_id, hours,
                                      ({h[0] for h in hours}, counts["first_start"], counts["last_end"]))
        accepted, updated = counts["accepted"], counts["updated"]
        return accepted, total - accepted - updated, updated

    async def _insert_new(self, raw: asyncpg.Connection, user_id: uuid.UUID, rows: CheckedColumns,
                          origin: int | None, now: dt.datetime) -> bool:
        """Stores a batch on new ground and adds it to the rollups, in a transaction of its own;
        False (nothing stored, the upsert follows) when one of its keys was stored meanwhile."""
        arrays = batches.Arrays(rows)
        try:
            async with raw.transaction():
                await _copy(raw, "samples", batches.SAMPLE_COLUMNS, batches.sample_rows(arrays, user_id, origin, now),
                            schema="tracking")
                added = batches.rollup_rows(arrays)
                await _lock_rollups(raw, user_id, _changes(rows))
                with telemetry.span("tracking.rollups.add", statement=True):
                    await raw.execute(ADD_TO_ROLLUPS, user_id, *added.hours, *added.days)
        except asyncpg.UniqueViolationError:  # (from the copy: the rollups' insert has ON CONFLICT)
            return False
        return True

    async def _recompute(self, raw: asyncpg.Connection, user_id: uuid.UUID,
                         hours: set[tuple[str, str, dt.datetime, int]], change: Change | None) -> None:
        """Rebuilds the hourly and daily rollups of these (type, source, local hour, offset) buckets,
        after the outbox row of the change that touched them."""
        if not hours:
            return
        assert change is not None
        await _lock_rollups(raw, user_id, change)
        with telemetry.span("tracking.rollups.recompute", {"healthmesh.hours": len(hours)}):
            columns = list(zip(*hours))
            await raw.execute(RECOMPUTE_HOURS, user_id, list(columns[0]), list(columns[1]), list(columns[2]),
                              list(columns[3]))
            days = {(t, s, h.date(), off) for t, s, h, off in hours}
            columns = list(zip(*days))
            await raw.execute(RECOMPUTE_DAYS, user_id, list(columns[0]), list(columns[1]), list(columns[2]),
                              list(columns[3]))

    async def get(self, user_id: uuid.UUID, sample_id: uuid.UUID, start: dt.datetime) -> Sample | None:
        async with self._connection() as raw:
            row = await raw.fetchrow(
                f"{SELECT_SAMPLE} WHERE user_id = $1 AND start_time >= $2 AND start_time < $3 AND id = $4",
                user_id, start, start + dt.timedelta(milliseconds=1), sample_id)
        return _sample(row, self._unit_of) if row else None

    async def delete(self, user_id: uuid.UUID, sample_id: uuid.UUID, start: dt.datetime) -> bool:
        async with self._transaction() as raw:
            row = await raw.fetchrow(
                "DELETE FROM tracking.samples WHERE user_id = $1 AND start_time >= $2 AND start_time < $3 AND id = $4 "
                "RETURNING type, source, start_time, end_time, utc_offset_minutes",
                user_id, start, start + dt.timedelta(milliseconds=1), sample_id)
            if row is None:
                return False
            await self._recompute(raw, user_id, {(row["type"], row["source"],
                                                  _local_hour(row["start_time"], row["utc_offset_minutes"]),
                                                  row["utc_offset_minutes"])},
                                  ([row["type"]], row["start_time"], row["end_time"]))
        return True

    async def delete_keys(self, user_id: uuid.UUID, keys: list[tuple[str, dt.datetime, str]]) -> int:
        """Deletes the samples at these natural keys (type, start_time, source); returns how many."""
        if not keys:
            return 0
        types, starts, sources = (list(column) for column in zip(*keys))
        async with self._transaction() as raw:
            rows = await raw.fetch(
                "DELETE FROM tracking.samples s USING unnest($2::text[], $3::timestamptz[], $4::text[]) "
                "AS k(type, start_time, source) WHERE s.user_id = $1 AND s.type = k.type "
                "AND s.start_time = k.start_time AND s.source = k.source "
                "AND s.start_time >= $5 AND s.start_time <= $6 "
                "RETURNING s.type, s.source, s.start_time, s.end_time, s.utc_offset_minutes",
                user_id, types, starts, sources, min(starts), max(starts))
            change = ({r["type"] for r in rows}, min(r["start_time"] for r in rows),
                      max(r["end_time"] for r in rows)) if rows else None
            await self._recompute(raw, user_id, {(r["type"], r["source"],
                                                  _local_hour(r["start_time"], r["utc_offset_minutes"]),
                                                  r["utc_offset_minutes"]) for r in rows}, change)
        return len(rows)

    async def list(self, user_id: uuid.UUID, type: str, source: str | None, start: dt.datetime | None,
                   end: dt.datetime | None, limit: int, after: tuple[dt.datetime, str, str] | None,
                   newest_first: bool = True) -> list[Sample]:
        """Newest first by (start_time, type, source), or oldest first; `after` is the last key of
        the previous page. Either way the partitions' (user_id, start_time) indexes (or, for one
        type, their primary keys) are read in order, backwards for newest first: a page costs its
        own rows (plus a sort of those sharing one start_time), however long the history."""
        clauses, args = ["user_id = $1"], [user_id]

        def arg(value) -> str:
            args.append(value)
            return f"${len(args)}"

        if type:
            clauses.append(f"type = {arg(type)}")
        if source is not None:
            clauses.append(f"source = {arg(source)}")
        if start is not None:
            clauses.append(f"start_time >= {arg(start)}")
        if end is not None:
            clauses.append(f"start_time < {arg(end)}")
        beyond, direction = ("<", " DESC") if newest_first else (">", "")
        if after is not None:
            clauses.append(f"(start_time, type, source) {beyond} ({arg(after[0])}, {arg(after[1])}, {arg(after[2])})")
        order = ", ".join(column + direction for column in ("start_time", "type", "source"))
        query = f"{SELECT_SAMPLE} WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT {arg(limit)}"
        async with self._connection() as raw:
            rows = await raw.fetch(query, *args)
        return [_sample(r, self._unit_of) for r in rows]

    async def latest(self, user_id: uuid.UUID, types: list[str]) -> list[Sample]:
        """The newest sample of each type, one index probe per type."""
        async with self._connection() as raw:
            rows = await raw.fetch(
                f"SELECT s.* FROM unnest($2::text[]) AS t(type) CROSS JOIN LATERAL ("
                f"{SELECT_SAMPLE} WHERE user_id = $1 AND type = t.type ORDER BY start_time DESC LIMIT 1) s "
                "ORDER BY s.type", user_id, types)
        return [_sample(r, self._unit_of) for r in rows]

    async def hour_rows(self, user_id: uuid.UUID, type: str, start: dt.datetime, end: dt.datetime,
                        source: str = "") -> list[HourRow]:
        """Hourly rollup rows whose hour starts (in UTC) in [start, end)."""
        lo, hi = _naive_utc(start - LOCAL_SLACK), _naive_utc(end + LOCAL_SLACK)
        return await self._rollup_rows(
            "SELECT local_hour AS t, utc_offset_minutes, source, count, sum, min, max FROM tracking.sample_hours "
            "WHERE user_id = $1 AND type = $2 AND local_hour >= $3 AND local_hour < $4 "
            "AND local_hour - make_interval(mins => utc_offset_minutes) >= $5 "
            "AND local_hour - make_interval(mins => utc_offset_minutes) < $6",
            user_id, type, lo, hi, start, end, source)

    async def hour_days(self, user_id: uuid.UUID, type: str, start: dt.datetime, end: dt.datetime,
                        source: str = "") -> list[DayTotal]:
        """The hourly rollup rows hour_rows() finds, added up per local day by the database: a
        week's 168 rows come back as 7 (decoding and grouping them was most of an aggregate's CPU).
        The day's offset is its first hour's."""
        lo, hi = _naive_utc(start - LOCAL_SLACK), _naive_utc(end + LOCAL_SLACK)
        # Each day's rows in primary-key order, as hour_rows() reads them: the floats add up in the
        # same order, and the first hour's offset is the first row's.
        order = "ORDER BY local_hour, utc_offset_minutes, source"
        query = (f"SELECT local_hour::date, (array_agg(utc_offset_minutes {order}))[1], sum(count), "
                 f"sum(sum {order}), min(min), max(max), array_agg(DISTINCT source) FROM tracking.sample_hours "
                 "WHERE user_id = $1 AND type = $2 AND local_hour >= $3 AND local_hour < $4 "
                 "AND local_hour - make_interval(mins => utc_offset_minutes) >= $5 "
                 "AND local_hour - make_interval(mins => utc_offset_minutes) < $6")
        args = [user_id, type, lo, hi, _naive_utc(start), _naive_utc(end)]
        if source:
            query += " AND source = $7"
            args.append(source)
        async with self._connection() as raw:
            rows = await raw.fetch(query + " GROUP BY 1 ORDER BY 1", *args)
        make = tuple.__new__  # (the columns in DayTotal's order)
        return [make(DayTotal, r) for r in rows]

    async def day_rows(self, user_id: uuid.UUID, type: str, start: dt.datetime, end: dt.datetime,
                       source: str = "") -> list[HourRow]:
        """Daily rollup rows (as rows at local midnight) whose day starts (in UTC) in [start, end)."""
        lo, hi = (start - LOCAL_SLACK).date(), (end + LOCAL_SLACK).date()
        return await self._rollup_rows(
            "SELECT local_date::timestamp AS t, utc_offset_minutes, source, count, sum, min, max "
            "FROM tracking.sample_days WHERE user_id = $1 AND type = $2 AND local_date >= $3 AND local_date <= $4 "
            "AND local_date - make_interval(mins => utc_offset_minutes) >= $5 "
            "AND local_date - make_interval(mins => utc_offset_minutes) < $6",
            user_id, type, lo, hi, start, end, source)

    async def _rollup_rows(self, query: str, user_id: uuid.UUID, type: str, lo, hi, start: dt.datetime,
                           end: dt.datetime, source: str) -> list[HourRow]:
        # lo/hi bound the local-time index range (the window widened by the largest offsets); the
        # exact test is on each row's own UTC start.
        args = [user_id, type, lo, hi, _naive_utc(start), _naive_utc(end)]
        if source:
            query += " AND source = $7"
            args.append(source)
        async with self._connection() as raw:
            rows = await raw.fetch(query, *args)
        make = tuple.__new__  # (the columns in HourRow's order; hundreds of rows, so not HourRow(*r))
        return [make(HourRow, r) for r in rows]

    async def samples(self, user_id: uuid.UUID, type: str, start: dt.datetime, end: dt.datetime,
                      limit: int) -> list[Sample]:
        async with self._connection() as raw:
            rows = await raw.fetch(
                f"{SELECT_SAMPLE} WHERE user_id = $1 AND type = $2 AND start_time >= $3 AND start_time < $4 "
                "ORDER BY start_time LIMIT $5", user_id, type, start, end, limit)
        return [_sample(r, self._unit_of) for r in rows]
