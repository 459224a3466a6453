"""Insight under faults, with real processes behind Envoy (one private mesh for the module, as
services.runner's Mesh in this process, so Insight can be stopped and started again):

- Insight stopped (SIGTERM) while a watcher is open: the stream ends UNAVAILABLE; samples written
  while Insight is down still raise their alert once it is back (Tracking's outbox kept the
  change), the watcher resuming from its heartbeat's position gets it, and the cached
  recommendations (in Redis, which outlives Insight) are dropped by the same change.
- Insight killed (SIGKILL): the same alert is raised exactly once after the restart.
- NotifySamplesWritten on Insight's own address refuses a malformed change with field violations.
- Deleting a user erases their rules, alerts, insights and evaluated events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import time
import uuid

import asyncpg
import grpc
import httpx
import pytest
from healthmesh.insight.v1 import (
    insight_internal_service_pb2 as internal_pb, insight_internal_service_pb2_grpc, insight_service_pb2 as pb,
    insight_service_pb2_grpc,
)

from services.runner.mesh import Mesh, temporary_mesh
from tests.e2e.conftest import auth, new_user
from tests.e2e.test_rest_insight_alerts import WAIT_SECONDS, alerts, sample, wait_for_alerts, write


@pytest.fixture(scope="module")
def mesh():
    with temporary_mesh("healthmesh-insight-faults-") as m:
        yield m


@pytest.fixture
def http(mesh):
    with httpx.Client(base_url=mesh.endpoints()["http"], timeout=30) as client:
        yield client


def wait_serving(mesh: Mesh, http: httpx.Client, headers: dict) -> None:
    deadline = time.monotonic() + 60
    while http.get("/v1/users/me/alertRules", headers=headers).status_code != 200:
        assert time.monotonic() < deadline, "insight did not come back"
        time.sleep(0.2)


def steps_reason(http: httpx.Client, headers: dict) -> str:
    reply = http.get("/v1/users/me/recommendations", headers=headers)
    assert reply.status_code == 200, reply.text
    return next(r["reason"] for r in reply.json()["recommendations"] if r["id"] == "low_steps")


async def test_stop_insight_write_start_it_the_alert_fires_the_watcher_resumes_and_the_cache_is_dropped(mesh, http):
    headers = auth(new_user(http))
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    # 10:00 on each of the last 8 days (UTC, the user's zone): its later hour below stays on that
    # day at any time of the run (from now - 3 h, it crossed midnight in the run's third hour).
    midnight = now.replace(hour=0, minute=0)
    days = [midnight - dt.timedelta(days=d) + dt.timedelta(hours=10) for d in range(1, 9)]
    write(http, headers, *[sample("step_count", d, 2000, "count", minutes=30) for d in days])
    deadline = time.monotonic() + WAIT_SECONDS
    while "2,000" not in (reason := steps_reason(http, headers)):  # the outbox may still be on its way
        assert time.monotonic() < deadline, reason
        time.sleep(0.1)
    assert steps_reason(http, headers) == reason  # cached now

    write(http, headers, sample("spo2", now - dt.timedelta(minutes=40), 86, "%"))
    first = wait_for_alerts(http, headers, 1)[0]
    md = (("authorization", headers["authorization"]),)
    async with grpc.aio.insecure_channel(mesh.endpoints()["grpc"]) as channel:
        stub = insight_service_pb2_grpc.InsightServiceStub(channel)
        call = stub.WatchAlerts(pb.WatchAlertsRequest(parent="users/me", heartbeat_interval_seconds=5), metadata=md)
        beat = await asyncio.wait_for(call.read(), WAIT_SECONDS)
        position = beat.heartbeat.last_alert
        assert position == first["name"]

        proc = mesh.children["insight"]
        proc.send_signal(signal.SIGTERM)
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            while True:
                message = await asyncio.wait_for(call.read(), WAIT_SECONDS)
                assert message is not grpc.aio.EOF
        assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
        assert await asyncio.to_thread(proc.wait, 60) == 0  # a clean stop

        write(http, headers, sample("spo2", now - dt.timedelta(minutes=6), 97, "%"),
              sample("spo2", now - dt.timedelta(minutes=5), 82, "%"),
              *[sample("step_count", d + dt.timedelta(hours=1), 1000, "count", minutes=30) for d in days])
        mesh.restart("insight")
        await asyncio.to_thread(wait_serving, mesh, http, headers)

        resumed = stub.WatchAlerts(pb.WatchAlertsRequest(parent="users/me", after_alert=position), metadata=md)
        message = await asyncio.wait_for(resumed.read(), WAIT_SECONDS)
        assert message.alert.value == 82
        resumed.cancel()
    assert [a["value"] for a in alerts(http, headers)] == [82, 86]
    deadline = time.monotonic() + WAIT_SECONDS
    while "3,000" not in (reason := steps_reason(http, headers)):
        assert time.monotonic() < deadline, f"the cached recommendation was not dropped: {reason}"
        time.sleep(0.1)


async def test_a_watcher_resumes_from_its_last_alert_across_a_restart(mesh, http):
    headers = auth(new_user(http))
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    write(http, headers, sample("spo2", now - dt.timedelta(minutes=30), 85, "%"))
    first = wait_for_alerts(http, headers, 1)[0]
    md = (("authorization", headers["authorization"]),)
    async with grpc.aio.insecure_channel(mesh.endpoints()["grpc"]) as channel:
        stub = insight_service_pb2_grpc.InsightServiceStub(channel)
        call = stub.WatchAlerts(pb.WatchAlertsRequest(parent="users/me", heartbeat_interval_seconds=5), metadata=md)
        beat = await asyncio.wait_for(call.read(), WAIT_SECONDS)
        assert beat.heartbeat.last_alert == first["name"]  # the newest when the stream started
        mesh.children["insight"].send_signal(signal.SIGKILL)
        await asyncio.to_thread(mesh.children["insight"].wait, 60)
        with pytest.raises(grpc.aio.AioRpcError):
            while True:
                assert await asyncio.wait_for(call.read(), WAIT_SECONDS) is not grpc.aio.EOF
        write(http, headers, sample("spo2", now - dt.timedelta(minutes=20), 97, "%"),
              sample("spo2", now - dt.timedelta(minutes=19), 83, "%"))
        mesh.restart("insight")
        await asyncio.to_thread(wait_serving, mesh, http, headers)
        resumed = stub.WatchAlerts(pb.WatchAlertsRequest(parent="users/me", after_alert=beat.heartbeat.last_alert),
                                   metadata=md)
        message = await asyncio.wait_for(resumed.read(), WAIT_SECONDS)
        assert message.alert.value == 83
        resumed.cancel()
    assert [a["value"] for a in alerts(http, headers)] == [83, 85]  # exactly once each


async def test_notify_samples_written_refuses_a_malformed_change_with_field_violations(mesh):
    secrets = json.loads((mesh.state / "secrets.json").read_text())
    md = (("x-healthmesh-service-token", secrets["HEALTHMESH_SERVICE_TOKEN"]), ("x-healthmesh-service", "tracking"))
    change = internal_pb.SamplesWritten(event_id="", user="users/nobody", sample_types=[])
    change.start_time.FromDatetime(dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    change.end_time.FromDatetime(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports['insight']}") as channel:
        stub = insight_internal_service_pb2_grpc.InsightInternalServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.NotifySamplesWritten(internal_pb.NotifySamplesWrittenRequest(changes=[change]), metadata=md)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    from google.rpc import error_details_pb2, status_pb2
    status = status_pb2.Status.FromString(dict(refused.value.trailing_metadata())["grpc-status-details-bin"])
    fields = set()
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields |= {v.field for v in bad.field_violations}
    assert fields == {"changes[0].event_id", "changes[0].user", "changes[0].sample_types", "changes[0].start_time"}


async def test_deleting_a_user_erases_their_rules_alerts_and_insights(mesh, http):
    session = new_user(http)
    headers = auth(session)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    made = http.post("/v1/users/me/alertRules", headers=headers, json={
        "displayName": "Low", "sampleType": "spo2", "condition": "BELOW", "threshold": 92})
    assert made.status_code == 200, made.text
    write(http, headers, sample("spo2", now - dt.timedelta(minutes=10), 80, "%"),
          *[sample("step_count", now - dt.timedelta(days=d), 1500, "count") for d in range(1, 9)])
    assert len(wait_for_alerts(http, headers, 2)) == 2  # the built-in rule's and the user's own
    http.get("/v1/users/me/recommendations", headers=headers)
    user_id = made.json()["name"].split("/")[1]
    conn = await asyncpg.connect(mesh.database_url)
    try:
        async def rows() -> dict[str, int]:
            return {t: await conn.fetchval(f"SELECT count(*) FROM insight.{t} WHERE user_id = $1", uuid.UUID(user_id))
                    for t in ("alerts", "alert_rules", "insights", "processed_events")}

        deadline = time.monotonic() + WAIT_SECONDS
        while (before := await rows())["insights"] == 0:  # kept behind the recommendations' answer
            assert time.monotonic() < deadline, before
            await asyncio.sleep(0.1)
        assert all(before.values()), before
        assert http.delete("/v1/users/me", headers=headers).status_code == 200
        deadline = time.monotonic() + 60
        while any((left := await rows()).values()):
            assert time.monotonic() < deadline, f"not erased: {left}"
            await asyncio.sleep(0.2)
    finally:
        await conn.close()



@pytest.fixture(scope="module")
def replicated():
    with temporary_mesh("healthmesh-insight-replicas-", replicas={"insight": 2}) as m:
        yield m


async def test_watchers_on_either_insight_replica_get_every_alert(replicated):
    """Envoy spreads the watchers over both Insight processes; Tracking's outbox tells only the
    first, which records the alert; the NOTIFY brings it to the watchers on the other."""
    mesh = replicated
    with httpx.Client(base_url=mesh.endpoints()["http"], timeout=30) as http:
        headers = auth(new_user(http))
        now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        md = (("authorization", headers["authorization"]),)
        async with grpc.aio.insecure_channel(mesh.endpoints()["grpc"]) as channel:
            stub = insight_service_pb2_grpc.InsightServiceStub(channel)
            calls = [stub.WatchAlerts(pb.WatchAlertsRequest(parent="users/me", heartbeat_interval_seconds=5),
                                      metadata=md) for _ in range(6)]
            for call in calls:  # each opened (its first heartbeat), on one replica or the other
                assert (await asyncio.wait_for(call.read(), WAIT_SECONDS)).WhichOneof("event") == "heartbeat"
            served = _watch_streams_per_process(mesh)
            assert served["insight"] >= 1 and served["insight-2"] >= 1, served
            await asyncio.to_thread(write, http, headers, sample("spo2", now - dt.timedelta(minutes=3), 84, "%"))
            for call in calls:
                message = await asyncio.wait_for(call.read(), WAIT_SECONDS)
                while message.WhichOneof("event") == "heartbeat":
                    message = await asyncio.wait_for(call.read(), WAIT_SECONDS)
                assert message.alert.value == 84
                call.cancel()


def _watch_streams_per_process(mesh) -> dict[str, int]:
    """The calls open on each Insight process, from Envoy's per-host counters."""
    ports = {mesh.ports["insight"]: "insight", **{p: n for n, p in mesh.replica_ports.items()}}
    text = httpx.get(f"{mesh.endpoints()['envoy_admin']}/clusters", timeout=10).text
    counts = {name: 0 for name in ports.values()}
    for line in text.splitlines():
        parts = line.split("::")  # insight::127.0.0.1:PORT::rq_active::N
        if len(parts) == 4 and parts[0] == "insight" and parts[2] == "rq_active":
            counts[ports[int(parts[1].rsplit(":", 1)[1])]] += int(parts[3])
    return counts
