"""In-process aio servers on port 0 against the session's real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import os

import grpc
import pytest

from services.common.config import Settings
from services.common.db import migrate
from services.common.server import create_server, stop_server

SERVICE_TOKEN = "test-service-token"
KEK = base64.b64encode(os.urandom(32)).decode()  # one per session: the signing keys in the DB outlive a server


def make_settings(dsn: str, **overrides) -> Settings:
    values = dict(
        DATABASE_URL=dsn,
        key_encryption_key=KEK,
        api_key_pepper="pepper-for-tests-only-0123456789",
        service_token=SERVICE_TOKEN,
        argon2_time_cost=1, argon2_memory_kib=8192,  # the policy is tested in unit tests; speed here
        registrations_per_address=10_000,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def migrated_dsn(pg_dsn: str) -> str:
    for service in ("auth", "tracking"):
        asyncio.run(migrate(pg_dsn, service))
    return pg_dsn


class AuthHarness:
    def __init__(self, built, server, port: int) -> None:
        self.built, self.server, self.port = built, server, port
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")


@pytest.fixture
async def auth_harness(migrated_dsn: str):
    from services.auth.app import build

    built = await build(make_settings(migrated_dsn))
    server, port = await create_server(built.runtime, built.add_servicers)
    built.runtime.audit.start()
    harness = AuthHarness(built, server, port)
    yield harness
    await harness.channel.close()
    await stop_server(server, built.runtime, 0.5)
    await built.close()
