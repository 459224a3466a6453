"""Tracking's write and read paths, measured in one run on a private mesh.

(a) ceiling: the same rows into the same table with the same statements (upsert, hourly and daily
    rollups, all indexes), batches of 500, on one asyncpg connection, without the service.
(b) WriteSamples over gRPC to Tracking's own address, batches of 500, the stream kept open.
(c) samples:batchCreate as REST through Envoy, batches of 500.
(d) a 30-day DAY aggregate over minute-level heart rate for one user, at concurrency 1, through
    Envoy (gRPC and REST).
Each write figure uses its own user and 30 days of minute-level heart rate (43,200 samples).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import grpc
import httpx
from google.protobuf import timestamp_pb2
from healthmesh.tracking.v1 import (
    sample_pb2, tracking_internal_service_pb2, tracking_internal_service_pb2_grpc, tracking_service_pb2,
    tracking_service_pb2_grpc,
)

from bench.harness import new_user, private_mesh, secrets, summary
from services.common.config import Settings
from services.common.db import create_engine
from services.tracking.samples.catalog import CATALOG
from services.common.convert import to_micros
from services.tracking.samples.columns import CheckedColumns, row_hashes
from services.tracking.samples.repository import SqlSampleRepository

BATCH = 500
DAYS = 30
START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
REST_SAMPLES = 20_000
AGGREGATE_CALLS = 300


def minutes(days: int = DAYS) -> list[dt.datetime]:
    return [START + dt.timedelta(minutes=i) for i in range(days * 24 * 60)]


def heart_rate(i: int) -> float:
    return 55 + (i * 7919) % 60


def batches(items: list, size: int = BATCH) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def ceiling(dsn: str, user_id: uuid.UUID) -> float:
    repo = SqlSampleRepository(create_engine(Settings(DATABASE_URL=dsn, db_pool_size=1)),
                               lambda t: CATALOG[t].unit)
    starts = [to_micros(t) for t in minutes()]
    await repo.ensure_partitions(starts)
    now = dt.datetime.now(dt.UTC)
    chunks = []
    for first in range(0, len(starts), BATCH):
        n = len(starts[first:first + BATCH])
        values = [float(heart_rate(i)) for i in range(first, first + n)]
        chunks.append(CheckedColumns(
            ["heart_rate", "Bench Watch", "count/min"], row=list(range(n)), type=[0] * n,
            start_us=starts[first:first + n], source=[1] * n, end_us=starts[first:first + n], offset=[0] * n,
            value=values, min=[None] * n, max=[None] * n, value2=[None] * n, original_value=values,
            original_unit=[2] * n, meal_context=[0] * n,
            row_hash=row_hashes(starts[first:first + n], starts[first:first + n], [0] * n, values, [None] * n,
                                [None] * n, [None] * n, [0] * n).tolist()))
    started = time.perf_counter()
    for chunk in chunks:
        await repo.write_counts(user_id, chunk, "", now)
    return len(starts) / (time.perf_counter() - started)


def timestamp(t: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(t)
    return out


async def write_samples(address: str, token: str, user_name: str) -> float:
    requests = [
        tracking_internal_service_pb2.WriteSamplesRequest(sequence=n + 1, user=user_name, samples=[
            sample_pb2.Sample(type="heart_rate", start_time=timestamp(t), value=heart_rate(i), unit="count/min",
                              utc_offset_minutes=0, source="Bench Watch") for i, t in chunk])
        for n, chunk in enumerate(batches(list(enumerate(minutes()))))
    ]
    metadata = (("x-healthmesh-service-token", token), ("x-healthmesh-user", user_name.split("/")[1]),
                ("x-healthmesh-service", "bench"))
    async with grpc.aio.insecure_channel(address) as channel:
        stub = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
        started = time.perf_counter()
        acked = 0
        async for ack in stub.WriteSamples(iter(requests), metadata=metadata):
            acked += ack.accepted + ack.duplicate + ack.updated
        elapsed = time.perf_counter() - started
    assert acked == len(minutes()), f"acked {acked}"
    return acked / elapsed


def rest_batch_create(base_url: str, access_token: str) -> float:
    bodies = [json.dumps({"samples": [
        {"type": "heart_rate", "startTime": t.isoformat().replace("+00:00", "Z"), "value": heart_rate(i),
         "unit": "count/min", "utcOffsetMinutes": 0, "source": "Bench Watch"} for i, t in chunk]})
        for chunk in batches(list(enumerate(minutes()))[:REST_SAMPLES])]
    headers = {"authorization": f"Bearer {access_token}", "content-type": "application/json"}
    with httpx.Client(base_url=base_url, timeout=60, headers=headers) as http:
        started = time.perf_counter()
        stored = 0
        for body in bodies:
            reply = http.post("/v1/users/me/samples:batchCreate", content=body)
            reply.raise_for_status()
            stored += reply.json()["accepted"]
        elapsed = time.perf_counter() - started
    assert stored == REST_SAMPLES, f"stored {stored}"
    return stored / elapsed


async def aggregate_grpc(address: str, access_token: str) -> dict:
    request = tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="heart_rate", interval=tracking_service_pb2.DAY,
        start_time=timestamp(START), end_time=timestamp(START + dt.timedelta(days=DAYS)))
    metadata = (("authorization", f"Bearer {access_token}"),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        reply = await stub.AggregateSamples(request, metadata=metadata)  # warm-up, and a check
        assert len(reply.buckets) == DAYS and sum(b.count for b in reply.buckets) == DAYS * 1440
        latencies = []
        for _ in range(AGGREGATE_CALLS):
            started = time.perf_counter()
            await stub.AggregateSamples(request, metadata=metadata)
            latencies.append((time.perf_counter() - started) * 1000)
    return summary(latencies)


def aggregate_rest(base_url: str, access_token: str) -> dict:
    path = (f"/v1/users/me/samples:aggregate?type=heart_rate&interval=DAY&startTime={START:%Y-%m-%dT%H:%M:%SZ}"
            f"&endTime={START + dt.timedelta(days=DAYS):%Y-%m-%dT%H:%M:%SZ}")
    with httpx.Client(base_url=base_url, timeout=30, headers={"authorization": f"Bearer {access_token}"}) as http:
        assert len(http.get(path).json()["buckets"]) == DAYS
        latencies = []
        for _ in range(AGGREGATE_CALLS):
            started = time.perf_counter()
            http.get(path).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    return summary(latencies)


async def run() -> None:
    with private_mesh() as mesh:
        endpoints = mesh.endpoints()
        token = secrets(mesh)["HEALTHMESH_SERVICE_TOKEN"]
        ceiling_user = uuid.UUID(new_user(endpoints["http"])["user"]["name"].split("/")[1])
        grpc_user, rest_user = new_user(endpoints["http"]), new_user(endpoints["http"])
        ceiling_rate = await ceiling(mesh.database_url, ceiling_user)
        print(f"(a) ceiling, one asyncpg connection: {ceiling_rate:,.0f} samples/s")
        write_rate = await write_samples(endpoints["services"]["tracking"], token, grpc_user["user"]["name"])
        print(f"(b) WriteSamples over gRPC, batches of {BATCH}: {write_rate:,.0f} samples/s "
              f"({write_rate / ceiling_rate:.2f} of the ceiling)")
        rest_rate = rest_batch_create(endpoints["http"], rest_user["accessToken"])
        print(f"(c) samples:batchCreate as REST through Envoy: {rest_rate:,.0f} samples/s")
        grpc_latency = await aggregate_grpc(endpoints["grpc"], grpc_user["accessToken"])
        rest_latency = aggregate_rest(endpoints["http"], grpc_user["accessToken"])
        print(f"(d) 30-day DAY aggregate of minute heart rate: gRPC via Envoy {grpc_latency}, REST via Envoy "
              f"{rest_latency}")
    print(json.dumps({
        "ceiling_samples_per_s": round(ceiling_rate), "write_samples_per_s": round(write_rate),
        "rest_samples_per_s": round(rest_rate), "aggregate_p99_ms": rest_latency["p99_ms"],
        "aggregate_grpc_p99_ms": grpc_latency["p99_ms"], "aggregate_p50_ms": rest_latency["p50_ms"],
        "ratio": round(write_rate / ceiling_rate, 3), "batch": BATCH, "samples_per_write_run": DAYS * 1440,
    }))
