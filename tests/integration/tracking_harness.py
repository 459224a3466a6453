"""An in-process Tracking server on port 0, wired as in production, against the auth harness."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.server import create_server, stop_server
from services.tracking.ports import Profiles
from services.tracking.samples.catalog import CATALOG
from services.tracking.samples.repository import SqlSampleRepository
from services.tracking.samples.service import SampleService
from tests.integration.conftest import SERVICE_TOKEN


@dataclass
class TrackingServer:
    built: object
    server: grpc.aio.Server
    port: int
    channel: grpc.aio.Channel


async def start_tracking(dsn: str, auth_port: int, clock: Clock = utcnow, **settings) -> TrackingServer:
    """`settings`: any other Settings, e.g. insight_addr for the outbox relay's peer."""
    from services.tracking.app import build

    built = await build(Settings(DATABASE_URL=dsn, service_token=SERVICE_TOKEN, auth_addr=f"127.0.0.1:{auth_port}",
                                 **settings), clock)
    server, port = await create_server(built.runtime, built.add_servicers)
    return TrackingServer(built, server, port, grpc.aio.insecure_channel(f"127.0.0.1:{port}"))


async def stop_tracking(tracking: TrackingServer) -> None:
    await tracking.channel.close()
    await stop_server(tracking.server, tracking.built.runtime, 0.5)
    await tracking.built.close()


def sample_service(engine, profiles: Profiles, clock: Clock) -> SampleService:
    """The samples store as services/tracking/app.py builds it, on the test's clock: the real
    SampleReader for harnesses that serve only some of Tracking's parts."""
    return SampleService(SqlSampleRepository(engine, lambda t: CATALOG[t].unit), profiles, clock)
