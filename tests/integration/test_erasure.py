"""Deleting a user erases their data in every service, even when a service is killed mid-erasure.

Auth and Ingest run in-process; Tracking runs as a real process (`python -m services.tracking`),
which the test kills with SIGKILL right after the deletion answered and starts again. Afterwards
no row of the user's is left in any schema, and the archive holds none of their bytes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest
from google.api import httpbody_pb2
from google.protobuf import timestamp_pb2
from healthmesh.auth.v1 import api_key_pb2, auth_service_pb2, auth_service_pb2_grpc
from healthmesh.ingest.v1 import ingest_service_pb2_grpc
from healthmesh.tracking.v1 import (
    activity_pb2, goal_pb2, nutrition_entry_pb2, sample_pb2, sleep_session_pb2, tracking_service_pb2 as pb,
    tracking_service_pb2_grpc,
)

from services.common.db import migrate
from services.common.server import create_server, stop_server
from tests.integration.conftest import KEK, SERVICE_TOKEN, make_settings

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "hae" / "v2_week_metric.json"
PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
WAIT_LIMIT_SECONDS = 60  # a bound for the loops, not a target
# Tables that keep a user id after erasure on purpose: the audit log (who touched what, no values)
# and the revocation itself (it is the erasure event, and keeps the user's credentials dead).
KEPT = {("auth", "audit_events"), ("auth", "revocations")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TrackingProcess:
    def __init__(self, dsn: str, auth_port: int, log: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "DATABASE_URL": dsn, "HEALTHMESH_SERVICE_TOKEN": SERVICE_TOKEN,
                    "HEALTHMESH_KEY_ENCRYPTION_KEY": KEK, "HEALTHMESH_AUTH_ADDR": f"127.0.0.1:{auth_port}",
                    "HEALTHMESH_TRACKING_ADDR": f"127.0.0.1:{self.port}", "HEALTHMESH_LOG_LEVEL": "INFO"}
        self.env.pop("REDIS_URL", None)
        self.log = log
        self.proc: subprocess.Popen | None = None

    async def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "services.tracking"], cwd=REPO, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()[-3000:]
                assert time.monotonic() < deadline, "tracking did not start"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
async def services(migrated_dsn, auth_harness, tmp_path):
    from services.ingest.app import build as build_ingest

    await migrate(migrated_dsn, "ingest")
    tracking = TrackingProcess(migrated_dsn, auth_harness.port, tmp_path / "tracking.log")
    await tracking.start()
    ingest = await build_ingest(make_settings(migrated_dsn, auth_addr=f"127.0.0.1:{auth_harness.port}",
                                              tracking_addr=f"127.0.0.1:{tracking.port}"))
    server, ingest_port = await create_server(ingest.runtime, ingest.add_servicers)
    ingest.runtime.audit.start()
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{p}") for p in (tracking.port, ingest_port)]
    yield (auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel),
           tracking_service_pb2_grpc.TrackingServiceStub(channels[0]),
           ingest_service_pb2_grpc.IngestServiceStub(channels[1]), tracking)
    for channel in channels:
        await channel.close()
    await stop_server(server, ingest.runtime, 0.1)
    await ingest.close()
    tracking.kill()


def ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


async def a_user_with_data_everywhere(auth, tracking, ingest) -> tuple[str, tuple]:
    email = f"u{uuid.uuid4().hex[:10]}@example.org"
    await auth.Register(auth_service_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="Ada"))
    session = await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
    md = (("authorization", f"Bearer {session.access_token}"),)
    await auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="watch")), metadata=md)
    for day in range(20):  # 20,000 heart-rate samples: enough that erasing them takes a moment
        await tracking.BatchCreateSamples(pb.BatchCreateSamplesRequest(parent="users/me", samples=[
            sample_pb2.Sample(type="heart_rate", start_time=ts(START + dt.timedelta(days=day, minutes=m)),
                              value=60 + m % 40, unit="count/min", source="Watch") for m in range(1000)]),
            metadata=md)
    await tracking.CreateSample(pb.CreateSampleRequest(parent="users/me", sample=sample_pb2.Sample(
        type="weight", start_time=ts(START), value=70, unit="kg")), metadata=md)
    await tracking.CreateActivity(pb.CreateActivityRequest(parent="users/me", request_id=str(uuid.uuid4()),
                                                           activity=activity_pb2.Activity(
        type="running", start_time=ts(START), end_time=ts(START + dt.timedelta(minutes=30)),
        route=[activity_pb2.RoutePoint(time=ts(START + dt.timedelta(minutes=i)), latitude=48.8, longitude=2.3)
               for i in range(30)],
        heart_rate_series=[activity_pb2.HeartRatePoint(time=ts(START + dt.timedelta(minutes=i)), bpm=140)
                           for i in range(30)])), metadata=md)
    await tracking.CreateSleepSession(pb.CreateSleepSessionRequest(parent="users/me", sleep_session=(
        sleep_session_pb2.SleepSession(start_time=ts(START), end_time=ts(START + dt.timedelta(hours=7)), stages=[
            sleep_session_pb2.SleepStagePeriod(stage=sleep_session_pb2.DEEP, start_time=ts(START),
                                               end_time=ts(START + dt.timedelta(hours=1)))]))), metadata=md)
    await tracking.CreateNutritionEntry(pb.CreateNutritionEntryRequest(
        parent="users/me", nutrition_entry=nutrition_entry_pb2.NutritionEntry(
            consume_time=ts(START), food_name="oats", calories_kcal=300)), metadata=md)
    goal = await tracking.CreateGoal(pb.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
        metric="step_count", target_value=10_000, period=goal_pb2.Goal.DAILY, start_date="2026-03-01")), metadata=md)
    await tracking.GetGoalProgress(pb.GetGoalProgressRequest(name=goal.name), metadata=md)
    body = FIXTURE.read_bytes()
    await ingest.IngestHealthAutoExport(iter([httpbody_pb2.HttpBody(content_type="application/json", data=body)]),
                                        metadata=md)
    return session.user.name.removeprefix("users/"), md


async def rows_of(conn: asyncpg.Connection, user_id: str) -> dict[str, int]:
    """Rows naming the user in every table of every service's schema (by a user_id column, by an
    origin's resource name, or by an archived payload only they uploaded)."""
    found = {}
    tables = await conn.fetch(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema IN ('auth', 'tracking', 'ingest') AND t.table_type = 'BASE TABLE' "
        "AND c.column_name IN ('user_id', 'subject_user_id') AND c.table_name NOT IN ("
        " SELECT inhrelid::regclass::text FROM pg_inherits)")
    for t in tables:
        if (t["table_schema"], t["table_name"]) in KEPT or t["table_name"] in ("erasures", "audit_outbox"):
            continue
        n = await conn.fetchval(f'SELECT count(*) FROM {t["table_schema"]}.{t["table_name"]} '
                                f'WHERE {t["column_name"]}::text = $1', user_id)
        if n:
            found[f"{t['table_schema']}.{t['table_name']}"] = n
    found["auth.users"] = await conn.fetchval("SELECT count(*) FROM auth.users WHERE id = $1::uuid", user_id)
    found["tracking.sample_origins"] = await conn.fetchval(
        "SELECT count(*) FROM tracking.sample_origins WHERE name LIKE $1", f"users/{user_id}/%")
    return {k: v for k, v in found.items() if v}


async def test_deleting_a_user_erases_them_everywhere_despite_a_kill(services, migrated_dsn):
    auth, tracking, ingest, tracking_process = services
    user_id, md = await a_user_with_data_everywhere(auth, tracking, ingest)
    conn = await asyncpg.connect(migrated_dsn)
    try:
        before = await rows_of(conn, user_id)
        digests = [r["payload_digest"] for r in await conn.fetch(
            "SELECT payload_digest FROM ingest.ingestions WHERE user_id = $1::uuid", user_id)]
        assert before["tracking.samples"] >= 20_001 and before["ingest.ingestions"] == 1
        assert {"tracking.activities", "tracking.activity_route_points", "tracking.sleep_sessions",
                "tracking.nutrition_entries", "tracking.goals", "tracking.sample_hours",
                "tracking.sample_origins", "auth.api_keys", "auth.users"} <= set(before)

        await auth.DeleteUser(auth_service_pb2.DeleteUserRequest(name="users/me"), metadata=md)
        tracking_process.kill()  # SIGKILL, at once: mid-erasure, or before it began
        done_before_kill = await conn.fetchval("SELECT count(*) FROM tracking.erasures WHERE user_id = $1::uuid",
                                               user_id)
        print(f"tracking had finished erasing before the kill: {bool(done_before_kill)}")
        await tracking_process.start()

        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while (left := await rows_of(conn, user_id)):
            assert time.monotonic() < deadline, f"still there: {left}"
            await asyncio.sleep(0.2)
        for line in tracking_process.log.read_text().splitlines():
            if "erasure: erased" in line:
                print("tracking:", line[line.index("erasure:"):].split('"')[0])
        archived = await conn.fetchval("SELECT count(*) FROM ingest.payload_chunks WHERE digest = ANY($1)", digests)
        assert archived == 0 and await conn.fetchval(
            "SELECT count(*) FROM ingest.payloads WHERE digest = ANY($1)", digests) == 0
        # Each service says what it did: once, in its erasure table and in the audit log.
        for schema in ("tracking", "ingest"):
            assert await conn.fetchval(f"SELECT count(*) FROM {schema}.erasures WHERE user_id = $1::uuid",
                                       user_id) == 1
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while await conn.fetchval("SELECT count(DISTINCT service) FROM auth.audit_events "
                                  "WHERE subject_user_id = $1::uuid AND action LIKE '%.EraseUser'", user_id) < 2:
            assert time.monotonic() < deadline, "the erasures were not audited"
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await tracking.ListSamples(pb.ListSamplesRequest(parent="users/me"), metadata=md)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
