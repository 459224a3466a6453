"""An in-process Tracking server on port 0, wired as in production, against the auth harness."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.common.config import Settings
from services.common.server import create_server, stop_server
from tests.integration.conftest import SERVICE_TOKEN


@dataclass
class TrackingServer:
    built: object
    server: grpc.aio.Server
    port: int
    channel: grpc.aio.Channel


async def start_tracking(dsn: str, auth_port: int) -> TrackingServer:
    from services.tracking.app import build

    built = await build(Settings(DATABASE_URL=dsn, service_token=SERVICE_TOKEN, auth_addr=f"127.0.0.1:{auth_port}"))
    server, port = await create_server(built.runtime, built.add_servicers)
    return TrackingServer(built, server, port, grpc.aio.insecure_channel(f"127.0.0.1:{port}"))


async def stop_tracking(tracking: TrackingServer) -> None:
    await tracking.channel.close()
    await stop_server(tracking.server, tracking.built.runtime, 0.5)
    await tracking.built.close()
