"""Health is readiness: a server reports SERVING only while its database answers and its
migrations are applied, against a real PostgreSQL (and a door to it the test can shut)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from services.common import readiness
from services.common.audit import AuditLog
from services.common.config import Settings
from services.common.credentials import AccessTokenVerifier, Authenticator
from services.common.db import MIGRATIONS_DIR
from services.common.peers import Peers
from services.common.server import Runtime, ServiceSpec, create_server, stop_server

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
NAMES = ("", "healthmesh.tracking.v1.TrackingService", "healthmesh.tracking.v1.TrackingInternalService")


class DatabaseDoor:
    """A TCP listener in front of the test PostgreSQL's socket, to take the database away and give
    it back. Each readiness check opens its own connection, so a shut door is a refused connect."""

    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        self.database = parts.path.lstrip("/")
        host = parse_qs(parts.query).get("host", [""])[0]
        if not host.startswith("/"):
            pytest.skip("the door needs the embedded PostgreSQL's unix socket")
        self.socket = next(str(p) for p in Path(host).glob(".s.PGSQL.*") if not p.name.endswith(".lock"))
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def shut(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(self.socket)

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


async def start(check: readiness.Check | None):
    settings = Settings(service_token="svc-token")
    peers = Peers(settings, "tracking")
    authenticator = Authenticator(AccessTokenVerifier(peers.fetch_jwks, "healthmesh"), peers.authenticate_api_key,
                                  "svc-token")

    async def sink(batch) -> None:
        pass

    runtime = Runtime(ServiceSpec("tracking", internal_services=(NAMES[2],)), authenticator,
                      AuditLog(sink, flush_seconds=60), peers, readiness_check=check)
    server, port = await create_server(runtime, lambda s: None)
    return runtime, server, grpc.aio.insecure_channel(f"127.0.0.1:{port}")


async def statuses(channel) -> set[int]:
    health = health_pb2_grpc.HealthStub(channel)
    return {(await health.Check(health_pb2.HealthCheckRequest(service=n))).status for n in NAMES}


@pytest.fixture
async def served():
    opened = []

    async def serve(check):
        runtime, server, channel = await start(check)
        opened.append((runtime, server, channel))
        return runtime, channel

    yield serve
    for runtime, server, channel in opened:
        await channel.close()
        await stop_server(server, runtime, 0.1)


async def test_a_server_whose_database_answers_with_its_migrations_applied_is_serving(served, migrated_dsn):
    _, channel = await served(readiness.database(migrated_dsn, "tracking"))
    assert await statuses(channel) == {SERVING}


async def test_a_server_whose_database_is_unreachable_is_not_serving(served, caplog):
    with caplog.at_level(logging.INFO, logger="services.common.readiness"):
        runtime, channel = await served(readiness.database("postgresql://postgres@127.0.0.1:1/healthmesh", "tracking"))
        assert await statuses(channel) == {NOT_SERVING}
        for _ in range(3):
            assert not await runtime.readiness.refresh()
    # One line, when it became not ready, without a traceback; not one per check.
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "not ready" in record.getMessage() and record.exc_info is None


async def test_a_server_with_pending_migrations_is_not_serving(served, migrated_dsn, tmp_path):
    ahead = tmp_path / "tracking"
    shutil.copytree(MIGRATIONS_DIR / "tracking", ahead)
    (ahead / "9999_from_a_newer_release.sql").write_text("SELECT 1;")
    runtime, channel = await served(readiness.database(migrated_dsn, "tracking", migrations_dir=tmp_path))
    assert await statuses(channel) == {NOT_SERVING}
    assert not await runtime.readiness.refresh()


async def test_a_schema_never_migrated_is_not_serving(served, migrated_dsn):
    _, channel = await served(readiness.database(migrated_dsn, "insight"))  # no insight schema here
    assert await statuses(channel) == {NOT_SERVING}


async def test_not_serving_while_the_database_is_away_and_serving_again_when_it_returns(served, migrated_dsn):
    door = DatabaseDoor(migrated_dsn)
    await door.open()
    runtime, channel = await served(readiness.database(door.dsn, "tracking"))
    assert await statuses(channel) == {SERVING}
    await door.shut()
    assert not await runtime.readiness.refresh()
    assert await statuses(channel) == {NOT_SERVING}
    await door.open()  # same port: the check's DSN is unchanged
    assert await runtime.readiness.refresh()
    assert await statuses(channel) == {SERVING}
    await door.shut()


async def test_the_server_checks_again_by_itself():
    ready = asyncio.Event()

    async def check() -> str:
        return "" if ready.is_set() else "not yet"

    health = HealthServicer()
    watcher = readiness.Readiness(health, ("",), check, interval_seconds=0.05)
    stop = asyncio.Event()
    await watcher.refresh()
    watcher.start(stop)
    ready.set()
    for _ in range(200):  # waits for the watcher, however slow the machine; asserts no duration
        if watcher.ready:
            break
        await asyncio.sleep(0.05)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=""), None)
    assert reply.status == SERVING
    stop.set()
    await watcher.close()
