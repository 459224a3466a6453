"""An in-process Device server on port 0, wired as in production (services/device/app.py),
against the auth harness and an in-process Tracking, on a clock the test moves."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import grpc
import pytest
from healthmesh.auth.v1 import auth_service_pb2_grpc
from healthmesh.device.v1 import device_service_pb2_grpc

from services.common.db import migrate
from services.common.server import create_server, stop_server
from tests.integration.conftest import make_settings
from tests.integration.test_auth_service import bearer, register_and_login
from tests.integration.tracking_harness import TrackingServer, start_tracking, stop_tracking

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


class MovableClock:
    def __init__(self, at: dt.datetime = NOW) -> None:
        self.now = at

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class DeviceHarness:
    built: object
    server: grpc.aio.Server
    port: int
    channel: grpc.aio.Channel
    stub: device_service_pb2_grpc.DeviceServiceStub
    tracking: TrackingServer
    auth: auth_service_pb2_grpc.AuthServiceStub
    md: tuple
    session: object
    clock: MovableClock

    async def another_user(self):
        _, session = await register_and_login(self.auth)
        return bearer(session.access_token), session


async def start_device(dsn: str, auth_port: int, clock: MovableClock | None = None, **overrides):
    from services.device.app import build

    await migrate(dsn, "device")
    tracking = await start_tracking(dsn, auth_port)
    clock = clock or MovableClock()
    settings = make_settings(dsn, auth_addr=f"127.0.0.1:{auth_port}", tracking_addr=f"127.0.0.1:{tracking.port}",
                             **overrides)
    built = await build(settings, clock)
    server, port = await create_server(built.runtime, built.add_servicers)
    return built, server, port, tracking, clock


@pytest.fixture
async def device(migrated_dsn, auth_harness):
    built, server, port, tracking, clock = await start_device(migrated_dsn, auth_harness.port)
    auth = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    _, session = await register_and_login(auth)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    harness = DeviceHarness(built, server, port, channel, device_service_pb2_grpc.DeviceServiceStub(channel),
                            tracking, auth, bearer(session.access_token), session, clock)
    yield harness
    await channel.close()
    await stop_server(server, built.runtime, 0.5)
    await built.close()
    await stop_tracking(tracking)
    await asyncio.sleep(0)
