"""The audit log end to end, over real gRPC and a real PostgreSQL: bad bytes, Auth outages, SIGTERM
and internal calls. Each check counts records in auth.audit_events by request id: every audited
call must be there exactly once."""

from __future__ import annotations

import asyncio
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
from grpc_health.v1 import health_pb2, health_pb2_grpc
from healthmesh.auth.v1 import (
    api_key_pb2, auth_internal_service_pb2, auth_internal_service_pb2_grpc, auth_service_pb2, auth_service_pb2_grpc,
)
from healthmesh.tracking.v1 import (
    tracking_internal_service_pb2, tracking_internal_service_pb2_grpc, tracking_service_pb2,
    tracking_service_pb2_grpc,
)

from services.auth.repository import SqlAuthRepository
from services.common.audit import AuditRecord, AuditRejected
from services.common.audit_outbox import AuditOutbox, OutboxDrainer
from services.common.db import create_engine
from services.common.peers import Peers
from services.common.server import create_server, stop_server
from tests.integration.conftest import KEK, SERVICE_TOKEN, make_settings
from tests.integration.test_auth_service import bearer, register_and_login

REPO = Path(__file__).resolve().parents[2]
WAIT_LIMIT_SECONDS = 60  # a bound for the waiting loops, not a target
# The outage is 30 s; the default here is shorter so the suite stays quick. Set
# HEALTHMESH_TEST_AUTH_OUTAGE_SECONDS=30 to run it as the issue describes.
AUTH_OUTAGE_SECONDS = float(os.environ.get("HEALTHMESH_TEST_AUTH_OUTAGE_SECONDS", "3"))
USER = "0190a5c4-0000-7000-8000-0000000000aa"
GET_SAMPLE = "/healthmesh.tracking.v1.TrackingService/GetSample"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_service(request_id: str, user: str = USER, service: str = "ingest") -> tuple[tuple[str, str], ...]:
    """What a peer sends: the service credential, the end user it acts for, a request id."""
    return (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-service", service),
            ("x-healthmesh-user", user), ("x-request-id", request_id))


async def stored_counts(dsn: str, request_ids: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT request_id, count(*) AS n FROM auth.audit_events "
                                "WHERE request_id = ANY($1) GROUP BY request_id", request_ids)
    finally:
        await conn.close()
    return {r["request_id"]: r["n"] for r in rows}


async def wait_until_stored(dsn: str, request_ids: list[str]) -> dict[str, int]:
    """Waits until every request id is in Auth's log, then returns the counts (each should be 1)."""
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while len(counts := await stored_counts(dsn, request_ids)) < len(request_ids):
        assert time.monotonic() < deadline, f"{len(request_ids) - len(counts)} records never reached Auth"
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)  # a duplicate would come with a retry right behind
    return await stored_counts(dsn, request_ids)


async def outbox_count(dsn: str, request_ids: list[str]) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM tracking.audit_outbox WHERE request_id = ANY($1)",
                                   request_ids)
    finally:
        await conn.close()


class Tracking:
    """Tracking in-process, built as in production (outbox and drainer included), audit running."""

    def __init__(self, dsn: str, auth_port: int, **settings) -> None:
        self._settings = make_settings(dsn, auth_addr=f"127.0.0.1:{auth_port}", audit_flush_seconds=0.1,
                                       **settings)

    async def __aenter__(self):
        from services.tracking.app import build

        self.built = await build(self._settings)
        self.server, self.port = await create_server(self.built.runtime, self.built.add_servicers)
        self.built.runtime.audit.start()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = tracking_service_pb2_grpc.TrackingServiceStub(self.channel)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.channel.close()
        await stop_server(self.server, self.built.runtime, 0.5)
        await self.built.close()


async def get_sample(stub, name: str, request_id: str) -> None:
    """A call whose outcome does not matter here, only that it is audited."""
    try:
        await stub.GetSample(tracking_service_pb2.GetSampleRequest(name=name), metadata=as_service(request_id),
                             timeout=10)
    except grpc.aio.AioRpcError:
        pass


# 1. Bad bytes.

async def test_bad_bytes_cost_no_record_and_later_records_flow(auth_harness, migrated_dsn):
    # The red team's call: a NUL in the resource (GET /v1/users/me/samples/%00) stopped every
    # later Tracking record. Here every field gets NUL, a lone surrogate or a megabyte.
    rid = f"bad-{uuid.uuid4()}"
    async with Tracking(migrated_dsn, auth_harness.port) as tracking:
        await get_sample(tracking.stub, "users/me/samples/\x00", f"{rid}-nul-call")
        audit = tracking.built.runtime.audit
        bad = {
            "nul": dict(subject_user_id=USER, actor="services/\x00ingest", action="/x.Y/\x00Z",
                        resource="users/me/\x00", outcome="O\x00K", client_address="127.0.0.1\x00",
                        service="track\x00ing"),
            "surrogate": dict(subject_user_id="\ud800", actor="services/\udcffingest", action="/x.Y/\ud83dZ",
                              resource="users/me/\udfff", outcome="\ud800", client_address="\udc00",
                              service="tracking\ud800"),
            "huge": dict(subject_user_id="a" * 1_000_000, actor="a" * 1_000_000, action="a" * 1_000_000,
                         resource="users/" + "r" * 1_000_000, outcome="a" * 1_000_000,
                         client_address="a" * 1_000_000, service="a" * 1_000_000),
        }
        for kind, fields in bad.items():
            audit.record(AuditRecord(request_id=f"{rid}-{kind}-\x00\ud800" + "x" * 1_000_000, **fields))
            audit.record(AuditRecord(USER, "services/ingest", "/x.Y/Z", f"users/{USER}", "OK", "127.0.0.1",
                                     f"{rid}-good-after-{kind}", "tracking"))
        good = [f"{rid}-nul-call"] + [f"{rid}-good-after-{k}" for k in bad]
        assert set((await wait_until_stored(migrated_dsn, good)).values()) == {1}
        await get_sample(tracking.stub, f"users/me/samples/{uuid.uuid4()}", f"{rid}-later")
        assert await wait_until_stored(migrated_dsn, [f"{rid}-later"]) == {f"{rid}-later": 1}

    conn = await asyncpg.connect(migrated_dsn)
    try:
        call = await conn.fetchrow("SELECT * FROM auth.audit_events WHERE request_id = $1", f"{rid}-nul-call")
        assert call["resource"] == f"users/{USER}/samples/\ufffd" and call["actor"] == "services/ingest"
        rows = await conn.fetch("SELECT * FROM auth.audit_events WHERE request_id LIKE $1", f"{rid}-%-\ufffd\ufffd%")
    finally:
        await conn.close()
    stored = {r["request_id"].split("-")[-2]: r for r in rows}
    assert set(stored) == set(bad), "the sanitised bad records are stored too"
    for row in rows:
        for column in ("actor", "action", "resource", "outcome", "client_address", "request_id", "service"):
            assert "\x00" not in row[column] and len(row[column]) <= 512
    assert stored["nul"]["resource"] == "users/me/\ufffd" and stored["nul"]["actor"] == "services/\ufffdingest"
    assert stored["surrogate"]["action"] == "/x.Y/\ufffdZ" and stored["surrogate"]["subject_user_id"] is None
    huge = stored["huge"]["resource"]
    assert huge.startswith("users/rrrr") and huge.endswith("[1000006 chars]") and len(huge) == 512


async def test_auth_stores_every_record_of_a_batch_whatever_a_sender_puts_in_it(auth_harness, migrated_dsn):
    # Auth trusts no sender: a raw WriteAuditEvents with NUL everywhere, a megabyte and subjects
    # that are not users is answered OK and every record is stored, made storable. (A lone
    # surrogate cannot travel: protobuf strings are UTF-8, and the sender's library refuses it.)
    rid = f"raw-{uuid.uuid4()}"
    internal = auth_internal_service_pb2_grpc.AuthInternalServiceStub(auth_harness.channel)
    pb = auth_internal_service_pb2
    records = [
        pb.AuditRecord(subject=f"users/{USER}", actor="services/x", action="/a.B/C", resource="ok",
                       outcome="OK", request_id=f"{rid}-good-1", service="x"),
        pb.AuditRecord(subject="users/\x00", actor="\x00", action="\x00", resource="users/\x00", outcome="\x00",
                       client_address="\x00", request_id=f"{rid}-nul\x00", service="\x00"),
        pb.AuditRecord(subject="users/not-a-uuid", action="", resource="r" * 1_000_000,
                       request_id=f"{rid}-huge-" + "x" * 1_000_000),
        pb.AuditRecord(subject=f"users/{USER}", actor="services/x", action="/a.B/C", resource="ok",
                       outcome="OK", request_id=f"{rid}-good-2", service="x"),
    ]
    await internal.WriteAuditEvents(pb.WriteAuditEventsRequest(records=records),
                                    metadata=(("x-healthmesh-service-token", SERVICE_TOKEN),))
    conn = await asyncpg.connect(migrated_dsn)
    try:
        rows = {r["request_id"][len(rid) + 1:][:6]: r for r in await conn.fetch(
            "SELECT * FROM auth.audit_events WHERE request_id LIKE $1", f"{rid}-%")}
    finally:
        await conn.close()
    assert set(rows) == {"good-1", "nul\ufffd", "huge-x", "good-2"}
    assert rows["nul\ufffd"]["resource"] == "users/\ufffd" and rows["nul\ufffd"]["subject_user_id"] is None
    assert len(rows["huge-x"]["resource"]) == 512 and len(rows["huge-x"]["request_id"]) == 128


async def test_a_record_the_database_refuses_is_counted_and_the_others_stored(auth_harness, migrated_dsn):
    # The last line of defence, below the cleaning: the database's own refusal of one record.
    engine = create_engine(make_settings(migrated_dsn))
    repo = SqlAuthRepository(engine)
    rid = f"refused-{uuid.uuid4()}"
    good = [AuditRecord(USER, "a", "b", "c", "OK", "", f"{rid}-{i}", "auth") for i in range(3)]
    # Not cleaned: PostgreSQL refuses the NUL, the driver cannot encode the surrogate.
    poison = [AuditRecord(USER, "a", "b", "users/\x00", "OK", "", f"{rid}-nul", "auth"),
              AuditRecord(USER, "a", "\ud800", "", "OK", "", f"{rid}-surrogate", "auth")]
    try:
        assert await repo.append_audit([good[0], poison[0], good[1], poison[1], good[2]]) == 2
    finally:
        await engine.dispose()
    assert await stored_counts(migrated_dsn, [r.request_id for r in good + poison]) == {
        r.request_id: 1 for r in good}


# 2. Auth down, and batches sent again.

async def test_a_batch_sent_again_is_stored_once(auth_harness, migrated_dsn):
    peers = Peers(make_settings(migrated_dsn, auth_addr=f"127.0.0.1:{auth_harness.port}"), "tracking")
    rid = f"again-{uuid.uuid4()}"
    batch = [AuditRecord(USER, "services/ingest", "/a.B/C", "", "OK", "", f"{rid}-{i}", "tracking")
             for i in range(5)]
    try:
        await peers.write_audit(batch)
        await peers.write_audit(batch[2:])  # the acknowledgement was lost: the sender tries again
        await peers.write_audit(batch)
    finally:
        await peers.close()
    assert await stored_counts(migrated_dsn, [r.request_id for r in batch]) == {r.request_id: 1 for r in batch}


async def test_a_lost_acknowledgement_and_a_refused_record_neither_duplicate_nor_stall(auth_harness, migrated_dsn):
    settings = make_settings(migrated_dsn, auth_addr=f"127.0.0.1:{auth_harness.port}")
    engine, peers = create_engine(settings), Peers(settings, "tracking")
    outbox = AuditOutbox(engine, "tracking")
    rid = f"ack-{uuid.uuid4()}"
    records = [AuditRecord(USER, "services/ingest", "/a.B/C", "", "OK", "", f"{rid}-{i}", "tracking")
               for i in range(6)]
    refused = records[3]
    calls = 0

    async def flaky_send(batch, timeout):
        nonlocal calls
        calls += 1
        if any(r.id == refused.id for r in batch):
            if len(batch) > 1:
                await peers.write_audit([r for r in batch if r.id != refused.id], timeout)  # Auth took these
            raise AuditRejected("records[3].subject is bad")
        await peers.write_audit(batch, timeout)
        if calls == 2:
            raise ConnectionError("Auth stored the batch, but its answer was lost")

    async def left_in_outbox():
        conn = await asyncpg.connect(migrated_dsn)
        try:
            return [(r["request_id"], r["reject_time"] is not None) for r in await conn.fetch(
                "SELECT request_id, reject_time FROM tracking.audit_outbox WHERE request_id LIKE $1", f"{rid}-%")]
        finally:
            await conn.close()

    drainer = OutboxDrainer(outbox, flaky_send, batch_size=4, max_backoff_seconds=0.5)
    await outbox.put(records)
    await outbox.put(records[:2])  # a flush whose commit went unconfirmed, tried again
    running = asyncio.create_task(drainer.run())
    try:
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while (kept := await left_in_outbox()) != [(refused.request_id, True)]:
            assert time.monotonic() < deadline, f"the outbox still holds {kept}"
            await asyncio.sleep(0.1)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await peers.close()
        await engine.dispose()
    assert calls > 2, "the lost acknowledgement was sent again"
    others = [r.request_id for r in records if r is not refused]
    assert await stored_counts(migrated_dsn, others) == {r: 1 for r in others}


async def test_calls_made_while_auth_is_down_are_all_stored_once_it_is_back(migrated_dsn, tmp_path):
    # Auth is a real process here, stopped by SIGTERM and started again on its port.
    rid = f"outage-{uuid.uuid4()}"
    made: list[str] = []
    auth_back = asyncio.Event()
    auth_port = free_port()
    async with ServiceProcess("auth", migrated_dsn, auth_port, tmp_path / "auth.log") as auth:
        async with Tracking(migrated_dsn, auth_port) as tracking:
            async def load(worker: int) -> None:
                n = 0
                while not auth_back.is_set() or n < 5:  # until Auth is back, and a few calls after
                    request_id = f"{rid}-{worker}-{n}"
                    made.append(request_id)
                    await get_sample(tracking.stub, f"users/me/samples/{uuid.uuid4()}", request_id)
                    n += 1
                    await asyncio.sleep(0.01)

            workers = [asyncio.create_task(load(w)) for w in range(8)]
            await asyncio.sleep(0.5)
            assert await auth.sigterm() == 0
            before = len(made)
            await asyncio.sleep(AUTH_OUTAGE_SECONDS)
            during = len(made) - before
            await auth.start()
            auth_back.set()
            await asyncio.gather(*workers)
            assert during > 50, "Tracking went on serving while Auth was down"
            counts = await wait_until_stored(migrated_dsn, made)
    assert counts == {r: 1 for r in made}, "every call exactly once"


# 3. SIGTERM of a real process.

class ServiceProcess:
    """`python -m services.<name>` with its environment, as the runner starts it."""

    def __init__(self, name: str, dsn: str, auth_port: int, log: Path, **env: str) -> None:
        self.name = name
        self.port = auth_port if name == "auth" else free_port()
        settings = make_settings(dsn)
        self.env = {**os.environ, "DATABASE_URL": dsn, "HEALTHMESH_SERVICE_TOKEN": SERVICE_TOKEN,
                    "HEALTHMESH_KEY_ENCRYPTION_KEY": KEK, "HEALTHMESH_API_KEY_PEPPER": settings.api_key_pepper,
                    "HEALTHMESH_AUTH_ADDR": f"127.0.0.1:{auth_port}", f"HEALTHMESH_{name.upper()}_ADDR":
                    f"127.0.0.1:{self.port}", "HEALTHMESH_LOG_LEVEL": "INFO", **env}
        self.env.pop("REDIS_URL", None)
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = tracking_service_pb2_grpc.TrackingServiceStub(self.channel)

    async def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", f"services.{self.name}"], cwd=REPO, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        health = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while True:
            assert self.proc.poll() is None, f"{self.name} exited: {self.log.read_text()[-2000:]}"
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            assert time.monotonic() < deadline, f"{self.name} did not start"
            await asyncio.sleep(0.2)

    async def sigterm(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"{self.name} did not stop after SIGTERM"
            await asyncio.sleep(0.1)
        return self.proc.returncode

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.channel.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def test_sigterm_writes_every_record_to_auth(auth_harness, migrated_dsn, tmp_path):
    rid = f"term-{uuid.uuid4()}"
    # A flush interval of a minute: at SIGTERM every record is still in memory only.
    async with ServiceProcess("tracking", migrated_dsn, auth_harness.port, tmp_path / "tracking.log",
                               HEALTHMESH_AUDIT_FLUSH_SECONDS="60") as tracking:
        made = [f"{rid}-{i}" for i in range(40)]
        await asyncio.gather(*(get_sample(tracking.stub, f"users/me/samples/{uuid.uuid4()}", r) for r in made))
        assert await tracking.sigterm() == 0
    assert await stored_counts(migrated_dsn, made) == {r: 1 for r in made}
    assert await outbox_count(migrated_dsn, made) == 0


async def test_sigterm_with_auth_unreachable_keeps_records_in_the_outbox_for_the_next_start(
        auth_harness, migrated_dsn, tmp_path):
    rid = f"term-down-{uuid.uuid4()}"
    log = tmp_path / "tracking.log"
    nothing_there = free_port()
    async with ServiceProcess("tracking", migrated_dsn, nothing_there, log,
                              HEALTHMESH_AUDIT_FLUSH_SECONDS="60") as tracking:
        made = [f"{rid}-{i}" for i in range(40)]
        await asyncio.gather(*(get_sample(tracking.stub, f"users/me/samples/{uuid.uuid4()}", r) for r in made))
        assert await tracking.sigterm() == 0
    assert await stored_counts(migrated_dsn, made) == {}
    assert await outbox_count(migrated_dsn, made) == len(made)
    said = log.read_text()
    assert "audit records left in the outbox for the next start" in said and "AUDIT RECORDS LOST" not in said

    async with ServiceProcess("tracking", migrated_dsn, auth_harness.port, log) as tracking:  # Auth reachable again
        assert set((await wait_until_stored(migrated_dsn, made)).values()) == {1}
        assert await tracking.sigterm() == 0
    assert await stored_counts(migrated_dsn, made) == {r: 1 for r in made}
    assert await outbox_count(migrated_dsn, made) == 0


# 4. Internal calls, under the end user.

async def test_internal_calls_are_audited_under_the_end_user(auth_harness, migrated_dsn):
    stub = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    user, session = await register_and_login(stub)
    user_id = user.name.removeprefix("users/")
    key = await stub.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="exporter")), metadata=bearer(session.access_token))
    rid = f"internal-{uuid.uuid4()}"
    async with Tracking(migrated_dsn, auth_harness.port) as tracking:
        # Ingest's calls into Tracking, as services/ingest/tracking_sink.py makes them.
        internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(tracking.channel)
        pb = tracking_internal_service_pb2
        acks = internal.WriteSamples(iter([pb.WriteSamplesRequest(sequence=1, user=user.name)]),
                                     metadata=as_service(f"{rid}-write", user_id))
        assert [a.sequence async for a in acks] == [1]
        with pytest.raises(grpc.aio.AioRpcError):  # no records: refused, and audited all the same
            await internal.ImportRecords(pb.ImportRecordsRequest(user=user.name),
                                         metadata=as_service(f"{rid}-import", user_id))
        # An API key makes Tracking ask Auth's internal AuthenticateApiKey.
        await tracking.stub.ListSampleTypes(tracking_service_pb2.ListSampleTypesRequest(),
                                            metadata=(("authorization", f"Bearer {key.secret}"),
                                                      ("x-request-id", f"{rid}-key")))
        await wait_until_stored(migrated_dsn, [f"{rid}-write", f"{rid}-import", f"{rid}-key"])
    await auth_harness.built.runtime.audit.flush()
    conn = await asyncpg.connect(migrated_dsn)
    try:
        rows = await conn.fetch("SELECT action, actor, service, outcome FROM auth.audit_events "
                                "WHERE subject_user_id = $1::uuid", uuid.UUID(user_id))
    finally:
        await conn.close()
    seen = {(r["action"].rsplit(".", 1)[1], r["actor"], r["service"], r["outcome"]) for r in rows}
    assert {
        ("TrackingInternalService/WriteSamples", "services/ingest", "tracking", "OK"),
        ("TrackingInternalService/ImportRecords", "services/ingest", "tracking", "INVALID_ARGUMENT"),
        ("TrackingService/ListSampleTypes", key.api_key.name, "tracking", "OK"),
        ("AuthInternalService/AuthenticateApiKey", "services/tracking", "auth", "OK"),
    } <= seen
