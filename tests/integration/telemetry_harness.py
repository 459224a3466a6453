"""StreamTelemetry in process: Auth (the auth harness), a real Tracking, and a Device server with
the telemetry RPC on the real runtime (interceptor, authenticator, revocations), against the
session's PostgreSQL. The registry's side (may this principal stream for this device) is a small
table of devices here, keyed by name, owned by their user."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field

import grpc
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from healthmesh.device.v1 import device_service_pb2_grpc
from healthmesh.tracking.v1 import sample_pb2, tracking_internal_service_pb2

from services.common.app import remote_runtime
from services.common.db import create_engine, migrate
from services.common.errors import NotFound
from services.common.principal import Principal, parse_name
from services.common.server import ServiceSpec, create_server, stop_server
from services.device.telemetry_app import Telemetry, build_telemetry
from services.device.telemetry_rpc import TelemetryRpcs
from services.device.telemetry_service import StreamDevice
from tests.integration.conftest import make_settings
from tests.integration.tracking_harness import TrackingServer, start_tracking, stop_tracking

PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@dataclass
class Devices:
    """DeviceAccess over a dict: the device must be the principal's own."""

    known: dict[str, StreamDevice] = field(default_factory=dict)

    def add(self, user_id: str, paused: bool = False) -> StreamDevice:
        device_id = uuid.uuid4()
        name = f"users/{user_id}/devices/{device_id}"
        self.known[name] = StreamDevice(uuid.UUID(user_id), device_id, name, "Test Watch", paused)
        return self.known[name]

    async def for_stream(self, principal: Principal, device: str) -> StreamDevice:
        ids = parse_name(device, "users/{user}/devices/{device}", principal, "open.device")
        found = self.known.get(f"users/{ids['user']}/devices/{ids['device']}")
        if found is None:
            raise NotFound("no such device", "DEVICE_NOT_FOUND")
        return found


class TestDeviceServicer(TelemetryRpcs, device_service_pb2_grpc.DeviceServiceServicer):
    def __init__(self, telemetry) -> None:
        self.telemetry = telemetry


@dataclass
class DeviceServer:
    telemetry: Telemetry
    runtime: object
    server: grpc.aio.Server
    port: int
    engine: object
    channel: grpc.aio.Channel

    @property
    def stub(self) -> device_service_pb2_grpc.DeviceServiceStub:
        return device_service_pb2_grpc.DeviceServiceStub(self.channel)


async def start_device(dsn: str, auth_port: int, tracking_port: int, devices: Devices, port: int = 0,
                       **timers: float) -> DeviceServer:
    await migrate(dsn, "device")
    settings = make_settings(dsn, auth_addr=f"127.0.0.1:{auth_port}", tracking_addr=f"127.0.0.1:{tracking_port}")
    engine = create_engine(settings)
    runtime = remote_runtime(ServiceSpec("device"), settings)
    telemetry = build_telemetry(runtime, engine, devices, **timers)
    servicer = TestDeviceServicer(telemetry.service)
    server, port = await create_server(runtime, lambda s: device_service_pb2_grpc.add_DeviceServiceServicer_to_server(
        servicer, s), port=port)
    return DeviceServer(telemetry, runtime, server, port, engine, grpc.aio.insecure_channel(f"127.0.0.1:{port}"))


async def stop_device(device: DeviceServer, grace: float = 0.5) -> None:
    await device.channel.close()
    await stop_server(device.server, device.runtime, grace, audit_drain_seconds=0.1)
    await device.telemetry.close()
    await device.engine.dispose()


@dataclass
class Stack:
    auth: auth_service_pb2_grpc.AuthServiceStub
    auth_port: int
    tracking: TrackingServer
    device: DeviceServer
    devices: Devices
    dsn: str


async def new_user(auth: auth_service_pb2_grpc.AuthServiceStub) -> tuple[str, auth_service_pb2.LoginResponse]:
    email = f"t{uuid.uuid4().hex[:10]}@example.org"
    await auth.Register(auth_service_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="Ada"))
    login = await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
    return login.user.name.split("/")[1], login


def heart_rate_samples(first: int, n: int, source: str = "") -> list[sample_pb2.Sample]:
    out = []
    for i in range(first, first + n):
        s = sample_pb2.Sample(type="heart_rate", value=55 + i % 60, unit="count/min", utc_offset_minutes=0,
                              source=source)
        s.start_time.FromDatetime(START + dt.timedelta(seconds=i))
        out.append(s)
    return out


def heart_rate_columns(first: int, n: int) -> tracking_internal_service_pb2.SampleColumns:
    base = int(START.timestamp() * 1_000_000)
    return tracking_internal_service_pb2.SampleColumns(
        strings=["heart_rate", "count/min", "Column Watch"], type=[0] * n, unit=[1] * n, source=[2] * n,
        start_time_micros=[base + i * 1_000_000 for i in range(first, first + n)], utc_offset_minutes=[0] * n,
        value=[float(55 + i % 60) for i in range(first, first + n)])


async def stored(dsn: str, user_id: str) -> int:
    import asyncpg
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM tracking.samples WHERE user_id = $1", uuid.UUID(user_id))
    finally:
        await conn.close()


async def until(predicate, limit_seconds: float = 15.0) -> None:
    """Waits for `predicate()` (a bound for the loop, not a timed assertion)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_seconds
    while not await predicate():
        assert loop.time() < end, "gave up waiting"
        await asyncio.sleep(0.02)
