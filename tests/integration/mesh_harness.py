"""Auth, Tracking and Ingest in-process, each built as in production (services/*/app.py) and
served on port 0 against the session's PostgreSQL; a registered user with a bearer token."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from healthmesh.auth.v1 import auth_service_pb2_grpc
from healthmesh.ingest.v1 import ingest_service_pb2_grpc
from healthmesh.tracking.v1 import tracking_service_pb2_grpc

from services.common.config import Settings
from services.common.db import create_engine, migrate
from services.common.server import create_server, stop_server
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.test_auth_service import register_and_login
from tests.integration.tracking_harness import start_tracking, stop_tracking


class Mesh:
    def __init__(self, auth, tracking, ingest, md, engine, raw_channel) -> None:
        self.auth, self.tracking, self.ingest, self.md, self.engine = auth, tracking, ingest, md, engine
        self.raw_channel = raw_channel  # Tracking's, for calls with bytes no stub would send


@pytest.fixture
async def mesh(migrated_dsn, auth_harness):
    from services.ingest.app import build

    await migrate(migrated_dsn, "ingest")
    tracking = await start_tracking(migrated_dsn, auth_harness.port)
    settings = Settings(DATABASE_URL=migrated_dsn, service_token=SERVICE_TOKEN,
                        auth_addr=f"127.0.0.1:{auth_harness.port}", tracking_addr=f"127.0.0.1:{tracking.port}")
    built = await build(settings)
    server, port = await create_server(built.runtime, built.add_servicers)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    auth = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    _, session = await register_and_login(auth)
    engine = create_engine(settings)
    yield Mesh(auth, tracking_service_pb2_grpc.TrackingServiceStub(tracking.channel),
               ingest_service_pb2_grpc.IngestServiceStub(channel),
               (("authorization", f"Bearer {session.access_token}"),), engine, tracking.channel)
    await engine.dispose()
    await channel.close()
    await stop_server(server, built.runtime, 0.5)
    await built.close()
    await stop_tracking(tracking)


def bad_request(err: grpc.aio.AioRpcError) -> dict[str, str]:
    """The field violations of a failed call: {field: description}."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    return {v.field: v.description for v in bad.field_violations}
    return {}


def traceback_free(caplog) -> None:
    """Asserts nothing was logged with a traceback or at ERROR: a client's mistake is at most
    one INFO/WARNING line."""
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
