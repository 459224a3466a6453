"""StreamTelemetry through Envoy to durable storage, measured in one run on a private mesh.

(a) ceiling: as `bench tracking` defines it (the same rows into the same table with the same
    statements, batches of 500, one asyncpg connection, without the services).
(b) saturation, columnar form: DEVICES devices (a user each) stream batches of BATCH samples through
    Envoy with the client library for SECONDS s, each keeping up to WINDOW batches unacked: samples/s
    acked end to end, the ack latency at saturation, Device's RSS growth, the CPU split.
(c) saturation, row form: the same with a Sample message per sample.
(d) paced, columnar form: the same devices at half of (b)'s rate, batches sent on a schedule: the
    ack latency (from the batch's send to its ack) when the queue does not set it.
Each phase also reports the machine's CPU pressure (Linux PSI: the share of the run in which some
task, ours or another engineer's, waited for a CPU), which a p99 on a shared machine follows.
HEALTHMESH_BENCH_SECONDS shortens the runs for a quick look (the figures are for 60).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from healthmesh.device.v1 import device_service_pb2 as pb
from healthmesh.tracking.v1 import sample_pb2, tracking_internal_service_pb2

from bench.harness import new_user, percentile, private_mesh
from bench.tracking import ceiling
from client.telemetry import TelemetryClient

DEVICES = 20
BATCH = 500
WINDOW = 4
SECONDS = float(os.environ.get("HEALTHMESH_BENCH_SECONDS", "60"))
WARMUP_SECONDS = min(5.0, SECONDS / 4)
START_US = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp() * 1_000_000)


class Batches:
    """One device's batches, made from a template (the values vary, the starts follow on at one a second)."""

    def __init__(self, rows: bool) -> None:
        self.rows = rows
        self.next = 0
        values = [float(50 + (i * 7919) % 70) for i in range(BATCH)]
        if rows:
            self.template = pb.TelemetryBatch(samples=[
                sample_pb2.Sample(type="heart_rate", value=v, unit="count/min", utc_offset_minutes=0) for v in values])
        else:
            self.template = tracking_internal_service_pb2.SampleColumns(
                strings=["heart_rate", "count/min", ""], type=[0] * BATCH, unit=[1] * BATCH, source=[2] * BATCH,
                utc_offset_minutes=[0] * BATCH, value=values)

    def make(self) -> dict:
        first, self.next = self.next, self.next + BATCH
        base = START_US // 1_000_000 + first
        if self.rows:
            batch = pb.TelemetryBatch()
            batch.CopyFrom(self.template)
            for i, sample in enumerate(batch.samples):
                sample.start_time.seconds = base + i
            return {"samples": batch.samples}
        columns = tracking_internal_service_pb2.SampleColumns()
        columns.CopyFrom(self.template)
        columns.start_time_micros.extend(range(base * 1_000_000, (base + BATCH) * 1_000_000, 1_000_000))
        return {"columns": columns}


@dataclass
class Acks:
    times: list[float] = field(default_factory=list)  # monotonic time of each ack
    latencies_ms: list[float] = field(default_factory=list)

    def on_ack(self, ack, latency: float) -> None:
        self.times.append(time.monotonic())
        self.latencies_ms.append(latency * 1000)

    def rate(self, start: float, end: float) -> float:
        return sum(1 for t in self.times if start <= t < end) * BATCH / (end - start)

    def latency(self, start: float, end: float) -> tuple[float, float]:
        window = [ms for t, ms in zip(self.times, self.latencies_ms) if start <= t < end]
        return percentile(window, 50), percentile(window, 99)


def devices(http_url: str, n: int) -> list[tuple[str, str]]:
    """n users with a device each: (access token, device name)."""
    out = []
    for _ in range(n):
        login = new_user(http_url)
        reply = httpx.post(f"{http_url}/v1/users/me/devices", timeout=30,
                           headers={"authorization": f"Bearer {login['accessToken']}"},
                           json={"displayName": "Bench Strap", "capabilities": ["heart_rate"]})
        reply.raise_for_status()
        out.append((login["accessToken"], reply.json()["name"]))
    return out


def postgres_pids(state: Path) -> list[int]:
    postmaster = int(next(state.glob("pgdata/**/postmaster.pid")).read_text().split()[0])
    return [postmaster]


def cpu_seconds(pid: int, with_children: bool = False) -> float:
    p = psutil.Process(pid)
    t = p.cpu_times()
    total = t.user + t.system
    if with_children:
        total += t.children_user + t.children_system  # backends that have exited
        for child in p.children(recursive=True):
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.NoSuchProcess:
                pass
    return total


def cpu_stalled_seconds() -> float | None:
    """How long, in all, some runnable task of this machine waited for a CPU (Linux PSI), or None."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return None
    return int(some.rsplit("total=", 1)[1]) / 1e6


class Cpu:
    def __init__(self, mesh) -> None:
        # Insight is on the path too: every batch's outbox row reaches its NotifySamplesWritten.
        self.pids = {"client": os.getpid(), "envoy": mesh.children["envoy"].pid, "device": mesh.children["device"].pid,
                     "tracking": mesh.children["tracking"].pid, "insight": mesh.children["insight"].pid,
                     "postgres": postgres_pids(mesh.state)[0]}

    def read(self) -> dict[str, float]:
        return {name: cpu_seconds(pid, name == "postgres") for name, pid in self.pids.items()}

    @staticmethod
    def split(before: dict, after: dict, seconds: float) -> dict[str, float]:
        """Cores used by each, on average over the run."""
        return {k: round((after[k] - before[k]) / seconds, 2) for k in before}


async def stream(target: str, fleet: list[tuple[str, str]], rows: bool, seconds: float, paced_rate: float | None,
                 mesh) -> dict:
    """Streams from every device for `seconds` after a warm-up; returns the figures of the run."""
    acks = Acks()
    clients = [TelemetryClient(target, name, token, max_unacked=WINDOW, window=WINDOW, on_ack=acks.on_ack)
               for token, name in fleet]
    for c in clients:
        await c.start()
    started = time.monotonic()
    measure_from = started + WARMUP_SECONDS
    until = measure_from + seconds
    device_rss = psutil.Process(mesh.children["device"].pid)
    cpu = Cpu(mesh)
    marks: dict = {}

    async def mark_start() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        marks["rss"] = device_rss.memory_info().rss
        marks["cpu"] = cpu.read()
        marks["stalled"] = cpu_stalled_seconds()

    async def drive(k: int, client: TelemetryClient) -> None:
        batches = Batches(rows)
        interval = DEVICES * BATCH / paced_rate if paced_rate else 0.0
        due = time.monotonic() + k * interval / DEVICES  # staggered: the devices' batches do not come in bursts
        while time.monotonic() < until:
            if interval:
                due += interval
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            await client.send(**batches.make())

    marker = asyncio.create_task(mark_start())
    await asyncio.gather(*(drive(k, c) for k, c in enumerate(clients)))
    await marker
    after_cpu, after_rss, stalled = cpu.read(), device_rss.memory_info().rss, cpu_stalled_seconds()
    for c in clients:
        await c.close()
    p50, p99 = acks.latency(measure_from, until)
    # The share of the run in which some task of the machine (ours or another's) waited for a
    # CPU: on a shared 2-core machine the p99 follows it far more than any change of ours.
    pressure = None if stalled is None or marks["stalled"] is None else round(
        (stalled - marks["stalled"]) / (time.monotonic() - measure_from), 2)
    return {"cpu_pressure": pressure, "samples_per_s": round(acks.rate(measure_from, until)), "ack_p50_ms": round(p50, 1),
            "ack_p99_ms": round(p99, 1), "rss_growth_mb": round((after_rss - marks["rss"]) / 2**20, 1),
            "cpu_cores": Cpu.split(marks["cpu"], after_cpu, time.monotonic() - measure_from),
            "acked_samples": sum(c.totals.samples for c in clients)}


async def run() -> None:
    # 61 users register from 127.0.0.1 (a user per device and run, plus the ceiling's)
    os.environ.setdefault("HEALTHMESH_REGISTRATIONS_PER_ADDRESS", "100000")
    with private_mesh() as mesh:
        endpoints = mesh.endpoints()
        http_url, target = endpoints["http"], endpoints["grpc"]
        ceiling_user = uuid.UUID(new_user(http_url)["user"]["name"].split("/")[1])
        ceiling_rate = await ceiling(mesh.database_url, ceiling_user)
        print(f"(a) ceiling, one asyncpg connection: {ceiling_rate:,.0f} samples/s")
        columnar = await stream(target, devices(http_url, DEVICES), False, SECONDS, None, mesh)
        print(f"(b) {DEVICES} devices, columnar, saturated, {SECONDS:.0f} s: {columnar['samples_per_s']:,} samples/s "
              f"({columnar['samples_per_s'] / ceiling_rate:.2f} of the ceiling), ack p50 {columnar['ack_p50_ms']} ms "
              f"p99 {columnar['ack_p99_ms']} ms, Device RSS +{columnar['rss_growth_mb']} MB, "
              f"cores {columnar['cpu_cores']}, CPU pressure {columnar['cpu_pressure']}")
        rows = await stream(target, devices(http_url, DEVICES), True, SECONDS, None, mesh)
        print(f"(c) {DEVICES} devices, rows, saturated: {rows['samples_per_s']:,} samples/s, ack p99 "
              f"{rows['ack_p99_ms']} ms, cores {rows['cpu_cores']}, CPU pressure {rows['cpu_pressure']}")
        half = columnar["samples_per_s"] / 2
        paced = await stream(target, devices(http_url, DEVICES), False, SECONDS, half, mesh)
        print(f"(d) {DEVICES} devices, columnar, paced at {half:,.0f} samples/s: {paced['samples_per_s']:,} samples/s, "
              f"ack p50 {paced['ack_p50_ms']} ms p99 {paced['ack_p99_ms']} ms, cores {paced['cpu_cores']}, "
              f"CPU pressure {paced['cpu_pressure']}")
    print(json.dumps({
        "samples_per_s": columnar["samples_per_s"], "ceiling_samples_per_s": round(ceiling_rate),
        "ratio": round(columnar["samples_per_s"] / ceiling_rate, 3), "ack_p50_ms": paced["ack_p50_ms"],
        "ack_p99_ms": paced["ack_p99_ms"], "saturated_ack_p99_ms": columnar["ack_p99_ms"],
        "rss_growth_mb": columnar["rss_growth_mb"], "row_samples_per_s": rows["samples_per_s"],
        "paced_samples_per_s": paced["samples_per_s"], "cpu_cores": columnar["cpu_cores"],
        "row_cpu_cores": rows["cpu_cores"], "cpu_pressure": columnar["cpu_pressure"],
        "paced_cpu_pressure": paced["cpu_pressure"], "devices": DEVICES, "batch": BATCH, "seconds": SECONDS,
    }))
