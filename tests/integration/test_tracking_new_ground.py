"""The questions a bulk write asks, against a real PostgreSQL: whether a batch is on new ground
before it is copied straight into the samples table (repository.ANY_STORED_SAMPLE), and, for a
batch sent again, which hours and which rows are stored as they are (STORED_HOURS, STORED_ROWS).
The right answers, found through the primary keys (a few index entries read per question), even
in tables too fresh to have statistics."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import asyncpg

from services.tracking.samples.repository import ANY_STORED_SAMPLE, STORED_HOURS, STORED_ROWS

MONTH = dt.datetime(2031, 2, 1, tzinfo=dt.UTC)  # a partition of its own, never analyzed
ROWS = 5000


async def stored(dsn: str) -> tuple[asyncpg.Connection, uuid.UUID]:
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE IF NOT EXISTS tracking.samples_p203102 PARTITION OF tracking.samples "
                       "FOR VALUES FROM ('2031-02-01 00:00:00+00') TO ('2031-03-01 00:00:00+00')")
    user = uuid.uuid4()
    await conn.copy_records_to_table(
        "samples", schema_name="tracking",
        columns=["user_id", "type", "start_time", "source", "id", "end_time", "utc_offset_minutes", "value",
                 "create_time", "update_time"],
        records=[(user, "heart_rate", t, "Band", uuid.uuid4(), t, 60, 60.0, MONTH, MONTH)
                 for t in (MONTH + dt.timedelta(minutes=m) for m in range(ROWS))])
    return conn, user


def rows_read(plan: dict) -> int:
    """Index and heap rows the executed plan went through (returned or filtered out), all nodes."""
    own = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1) + plan.get("Rows Removed by Filter", 0)
    return own + sum(rows_read(p) for p in plan.get("Plans", []))


async def test_new_ground_is_told_through_the_primary_key(migrated_dsn):
    conn, user = await stored(migrated_dsn)
    try:
        first, last = MONTH, MONTH + dt.timedelta(minutes=ROWS - 1)
        cases = [
            (["step_count"], first, last, False),  # another type over the same span: new ground
            (["heart_rate"], first, last, True),
            (["step_count", "heart_rate"], last, last + dt.timedelta(days=1), True),  # the span's first start
            (["heart_rate"], first - dt.timedelta(days=1), first, True),  # ... and its last
            (["heart_rate"], last + dt.timedelta(seconds=1), last + dt.timedelta(days=1), False),
            (["heart_rate"], first - dt.timedelta(days=1), first - dt.timedelta(seconds=1), False),
        ]
        for types, start, end, expected in cases:
            assert await conn.fetchval(ANY_STORED_SAMPLE, user, types, start, end) is expected, (types, start, end)
        # Planned as a prepared statement is (generic plan), with no statistics on the partition.
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {ANY_STORED_SAMPLE}", user, ["step_count"],
                                   first, last)
        read = rows_read(json.loads(plan)[0]["Plan"])
        assert read < 100, read  # not the 5,000 heart-rate rows of the span
    finally:
        await conn.execute("DELETE FROM tracking.samples WHERE user_id = $1", user)
        await conn.close()


async def test_rows_sent_again_at_both_ends_of_a_span_are_compared_one_probe_each(migrated_dsn):
    """As for the part of an hour a batch holds at its start and at its end."""
    conn, user = await stored(migrated_dsn)
    try:
        minutes = [*range(0, 20), *range(ROWS - 20, ROWS)]
        starts = [MONTH + dt.timedelta(minutes=m) for m in minutes]
        values = [60.0] * len(starts)
        values[3] = 61.0  # changed since
        n = len(starts)
        args = [user, ["heart_rate"] * n, starts, ["Band"] * n, starts, [60] * n, values, [None] * n, [None] * n,
                [None] * n, [0] * n]
        same = {r["i"] - 1 for r in await conn.fetch(STORED_ROWS, *args)}
        assert same == set(range(n)) - {3}
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {STORED_ROWS}", *args)
        read = rows_read(json.loads(plan)[0]["Plan"])
        assert read < 10 * n, read  # not the 5,000 rows between the first start and the last
    finally:
        await conn.execute("DELETE FROM tracking.samples WHERE user_id = $1", user)
        await conn.close()


async def test_hours_sent_again_are_compared_one_probe_each(migrated_dsn):
    conn = await asyncpg.connect(migrated_dsn)
    user = uuid.uuid4()
    hours = [dt.datetime(2031, 2, 1) + dt.timedelta(hours=h) for h in range(ROWS)]
    try:
        await conn.copy_records_to_table(
            "sample_hours", schema_name="tracking",
            columns=["user_id", "type", "local_hour", "utc_offset_minutes", "source", "count", "sum", "min", "max",
                     "hash_sum"],
            records=[(user, "heart_rate", h, 60, "Band", 60, 3600.0, 50.0, 70.0, k) for k, h in enumerate(hours)])
        asked = list(range(1000, 1020))
        counts = [60] * len(asked)
        counts[5] = 59  # a row missing from that hour
        hash_sums = [str(k) for k in asked]
        hash_sums[7] = "1"  # a row changed in that one
        args = [user, ["heart_rate"] * len(asked), ["Band"] * len(asked), [hours[k] for k in asked],
                [60] * len(asked), counts, hash_sums]
        same = {r["i"] - 1 for r in await conn.fetch(STORED_HOURS, *args)}
        assert same == set(range(len(asked))) - {5, 7}
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {STORED_HOURS}", *args)
        read = rows_read(json.loads(plan)[0]["Plan"])
        assert read < 10 * len(asked), read  # not the user's 5,000 hours
    finally:
        await conn.execute("DELETE FROM tracking.sample_hours WHERE user_id = $1", user)
        await conn.close()
