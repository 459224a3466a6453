"""An in-process Tracking server on port 0, wired as in production, against the auth harness."""

from __future__ import annotations

import grpc

from services.common.config import Settings
from services.common.server import create_server, stop_server
from tests.integration.conftest import SERVICE_TOKEN


async def start_tracking(dsn: str, auth_port: int):
    from services.tracking.app import build

    built = await build(Settings(DATABASE_URL=dsn, service_token=SERVICE_TOKEN, auth_addr=f"127.0.0.1:{auth_port}"))
    server, port = await create_server(built.runtime, built.add_servicers)
    return built, server, grpc.aio.insecure_channel(f"127.0.0.1:{port}")


async def stop_tracking(built, server, channel) -> None:
    await channel.close()
    await stop_server(server, built.runtime, 0.5)
    await built.close()
