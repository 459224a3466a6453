"""What every benchmark needs: a private mesh, a registered user, and timing helpers."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import uuid

import httpx

from services.runner.mesh import Mesh, temporary_mesh

PASSWORD = "correct horse battery"


def tracing() -> bool:
    """Benchmarks run with tracing off; HEALTHMESH_BENCH_TRACES=1 turns it on (every request
    sampled, spans to the state dir's traces/), to measure what it costs."""
    return os.environ.get("HEALTHMESH_BENCH_TRACES", "") == "1"


def private_mesh() -> contextlib.AbstractContextManager[Mesh]:
    return temporary_mesh("healthmesh-bench-", tracing=tracing())


def secrets(mesh: Mesh) -> dict:
    return json.loads((mesh.state / "secrets.json").read_text())


def new_user(base_url: str) -> dict:
    """Registers and logs in a fresh user; returns the login response."""
    email = f"bench-{uuid.uuid4().hex[:10]}@example.org"
    with httpx.Client(base_url=base_url, timeout=30) as http:
        http.post("/v1/auth:register", json={"email": email, "password": PASSWORD, "displayName": "Bench"}
                  ).raise_for_status()
        reply = http.post("/v1/auth:login", json={"email": email, "password": PASSWORD})
        reply.raise_for_status()
        return reply.json()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(latencies_ms: list[float]) -> dict:
    return {"p50_ms": round(percentile(latencies_ms, 50), 2), "p99_ms": round(percentile(latencies_ms, 99), 2),
            "mean_ms": round(statistics.fmean(latencies_ms), 2), "n": len(latencies_ms)}
