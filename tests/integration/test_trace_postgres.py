"""services/common/telemetry/postgres.py against a real PostgreSQL: a statement's client span
holds its text with the placeholders (never a parameter), a transaction's own statements and a
statement outside any span have none, and a span of ours can stand for its one statement."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from services.common import telemetry

SECRET = 71.25


def spans_of(directory) -> list[dict]:
    return [json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
            for path in directory.glob("*.jsonl") for line in path.read_text().splitlines()]


def attrs(span: dict) -> dict:
    return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}


@pytest.fixture
def traced(tmp_path):
    assert telemetry.setup("tracking", str(tmp_path), environ={})
    yield tmp_path
    telemetry.shutdown()


def test_statements_in_a_span_are_its_client_children(pg_dsn, traced):
    async def run() -> None:
        conn = await asyncpg.connect(pg_dsn)
        try:
            await conn.fetchval("SELECT $1::float8 AS outside", 1.0)
            with telemetry.span("outer"):
                await conn.fetchval("SELECT $1::float8 + 1", SECRET)
                async with conn.transaction():
                    await conn.execute("CREATE TEMP TABLE t (x float8)")
                    await conn.executemany("INSERT INTO t VALUES ($1)", [(SECRET,)])
                    statement = await conn.prepare("SELECT count(*) FROM t WHERE x = $1")
                    assert await statement.fetchval(SECRET) == 1
                with pytest.raises(asyncpg.UndefinedTableError):
                    await conn.fetch("SELECT * FROM no_such_table")
                with telemetry.span("tracking.rollups.add", statement=True):
                    await conn.execute("/* a comment */ SELECT 2")
        finally:
            await conn.close()

    asyncio.run(run())
    telemetry.shutdown()
    spans = spans_of(traced)
    by_name = {}
    for s in spans:
        by_name.setdefault(s["name"], []).append(s)
    outer = by_name["outer"][0]
    clients = [s for s in spans if s["kind"] == 3]
    assert sorted(s["name"] for s in clients) == ["CREATE", "INSERT", "SELECT", "SELECT", "SELECT"]
    assert all(s["parentSpanId"] == outer["spanId"] and attrs(s)["db.system"] == "postgresql" for s in clients)
    assert {attrs(s)["db.statement"] for s in clients} >= {"SELECT $1::float8 + 1", "INSERT INTO t VALUES ($1)",
                                                           "SELECT count(*) FROM t WHERE x = $1"}
    assert not any("outside" in attrs(s)["db.statement"] for s in clients)  # no parent: no span
    assert not {"BEGIN", "COMMIT", "COMMIT;"} & set(by_name)
    [failed] = [s for s in clients if "no_such_table" in attrs(s)["db.statement"]]
    assert failed["status"] == {"code": 2} and attrs(failed)["error.type"] == "UndefinedTableError"
    [rollups] = by_name["tracking.rollups.add"]
    assert attrs(rollups)["db.statement"] == "/* a comment */ SELECT 2" and rollups["kind"] == 1
    assert not any(s["parentSpanId"] == rollups["spanId"] for s in spans)
    assert str(SECRET) not in json.dumps(spans)
