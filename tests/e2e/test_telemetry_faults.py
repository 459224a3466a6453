"""StreamTelemetry under faults, with real processes behind Envoy: the client library streams
200,000 samples while Device or Tracking is killed (SIGKILL) and started again, or Device gets
SIGTERM under load; afterwards exactly every sample is stored once (0 lost, 0 duplicated).

One private mesh for the module (services.runner's Mesh, in this process, so each child can be
killed and started again with the environment the mesh gave it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from healthmesh.tracking.v1 import tracking_internal_service_pb2

from client.telemetry import Backoff, TelemetryClient
from services.runner.mesh import Mesh, temporary_mesh
from tests.e2e.conftest import new_user

SAMPLES = 200_000
BATCH = 500
START_US = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp() * 1_000_000)


@pytest.fixture(scope="module")
def mesh():
    with temporary_mesh("healthmesh-faults-") as m:
        yield m


def columns(first: int, n: int) -> tracking_internal_service_pb2.SampleColumns:
    return tracking_internal_service_pb2.SampleColumns(
        strings=["heart_rate", "count/min", ""], type=[0] * n, unit=[1] * n, source=[2] * n,
        start_time_micros=[START_US + (first + i) * 1_000_000 for i in range(n)], utc_offset_minutes=[0] * n,
        value=[float(50 + (first + i) % 70) for i in range(n)])


def device_of(mesh: Mesh) -> tuple[str, str, str]:
    """A new user with a device: (user id, access token, device name)."""
    with httpx.Client(base_url=mesh.endpoints()["http"], timeout=30) as http:
        login = new_user(http)
        reply = http.post("/v1/users/me/devices", json={"displayName": "Fault Watch", "capabilities": ["heart_rate"]},
                          headers={"authorization": f"Bearer {login['accessToken']}"})
        assert reply.status_code == 200, reply.text
    return login["user"]["name"].split("/")[1], login["accessToken"], reply.json()["name"]


async def stored(mesh: Mesh, user_id: str) -> tuple[int, int]:
    """(rows, distinct start times) of the user's samples."""
    conn = await asyncpg.connect(mesh.database_url)
    try:
        row = await conn.fetchrow("SELECT count(*) AS n, count(DISTINCT start_time) AS d FROM tracking.samples "
                                  "WHERE user_id = $1", uuid.UUID(user_id))
        return row["n"], row["d"]
    finally:
        await conn.close()


async def stream(mesh: Mesh, token: str, device: str, samples: int, fault_at: int | None = None, fault=None):
    """Streams `samples` in batches; once `fault_at` batches are acked, runs `fault()` (in a
    thread: killing and starting processes blocks) while the client keeps sending."""
    client = TelemetryClient(mesh.endpoints()["grpc"], device, token, max_unacked=32,
                             backoff=Backoff(initial=0.05, maximum=1.0))
    await client.start()
    faulted = None
    for first in range(0, samples, BATCH):
        await client.send(columns=columns(first, min(BATCH, samples - first)))
        if fault_at is not None and faulted is None and client.totals.batches >= fault_at:
            faulted = asyncio.create_task(asyncio.to_thread(fault))
    if faulted is None and fault is not None:
        faulted = asyncio.create_task(asyncio.to_thread(fault))
    await client.close()
    if faulted is not None:
        await faulted
    return client


def kill_and_restart(mesh: Mesh, name: str):
    def fault() -> None:
        proc = mesh.children[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        mesh.restart(name)
    return fault


@pytest.mark.parametrize("victim", ["device", "tracking"])
async def test_kill_9_mid_stream_loses_nothing_and_stores_nothing_twice(mesh, victim):
    user_id, token, device = device_of(mesh)
    client = await stream(mesh, token, device, SAMPLES, fault_at=SAMPLES // BATCH // 3,
                          fault=kill_and_restart(mesh, victim))
    assert client.totals.reconnects >= 1  # the stream really broke and was resumed
    assert await stored(mesh, user_id) == (SAMPLES, SAMPLES)
    assert not client.unacked()


async def test_sigterm_of_device_under_load_ends_streams_unavailable_and_clients_resume(mesh):
    devices = [device_of(mesh) for _ in range(4)]
    per_device = 40_000

    def fault() -> None:
        proc = mesh.children["device"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0  # a clean stop: streams ended, not cut
        mesh.restart("device")

    async def one(i: int, token: str, name: str):
        return await stream(mesh, token, name, per_device, fault_at=(per_device // BATCH // 3) if i == 0 else None,
                            fault=fault if i == 0 else None)

    clients = await asyncio.gather(*(one(i, token, name) for i, (_, token, name) in enumerate(devices)))
    assert all(c.totals.reconnects >= 1 for c in clients)
    for (user_id, _, _), c in zip(devices, clients):
        assert await stored(mesh, user_id) == (per_device, per_device)
    log = (mesh.logs / "device.log").read_text(errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 2000:][:6000]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def busiest(mesh: Mesh, names: list[str]) -> str:
    """The child that burns the most CPU over a moment: the replica the stream is on."""
    before = {n: cpu_ticks(mesh.children[n].pid) for n in names}
    time.sleep(1.0)
    return max(names, key=lambda n: cpu_ticks(mesh.children[n].pid) - before[n])


@pytest.fixture(scope="module")
def replicated():
    with temporary_mesh("healthmesh-replicas-", replicas={"device": 2}) as m:
        yield m


async def test_two_device_replicas_behind_envoy_a_kill_9_moves_the_stream_to_the_other(replicated):
    mesh = replicated
    user_id, token, device = device_of(mesh)
    killed: list[str] = []

    def fault() -> None:
        victim = busiest(mesh, ["device", "device-2"])
        mesh.children[victim].send_signal(signal.SIGKILL)
        mesh.children[victim].wait(30)
        killed.append(victim)  # not started again: the other replica takes the stream

    client = await stream(mesh, token, device, SAMPLES, fault_at=SAMPLES // BATCH // 4, fault=fault)
    assert killed and client.totals.reconnects >= 1
    assert await stored(mesh, user_id) == (SAMPLES, SAMPLES)
    assert not client.unacked()
    survivor = "device-2" if killed == ["device"] else "device"
    assert mesh.children[survivor].poll() is None
    mesh.restart(killed[0])  # for the mesh's orderly stop

