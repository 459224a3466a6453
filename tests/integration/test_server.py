"""The shared server machinery with real gRPC: error mapping, health forwarding, audit at shutdown."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc

from services.common.audit import AuditLog
from services.common.config import Settings
from services.common.credentials import AccessTokenVerifier, Authenticator
from services.common.errors import InvalidArgument
from services.common.peers import Peers
from services.common.server import Runtime, ServiceSpec, create_server, stop_server

TOKEN = "svc-token"


class Failing(tracking_service_pb2_grpc.TrackingServiceServicer):
    async def ListSampleTypes(self, request, context):
        raise RuntimeError("database password is hunter2")

    async def GetSample(self, request, context):
        raise InvalidArgument.field("name", "is malformed")


@pytest.fixture
async def tracking(auth_harness):
    spec = ServiceSpec("tracking")
    # Device points at a port nothing listens on, to see a peer that is down.
    settings = Settings(service_token=TOKEN, auth_addr=f"127.0.0.1:{auth_harness.port}", device_addr="127.0.0.1:1")
    peers = Peers(settings, "tracking")
    records = []

    async def sink(batch):
        records.extend(batch)

    authenticator = Authenticator(AccessTokenVerifier(peers.fetch_jwks, "healthmesh"), peers.authenticate_api_key, TOKEN)
    runtime = Runtime(spec, authenticator, AuditLog(sink, flush_seconds=60), peers)
    server, port = await create_server(
        runtime, lambda s: tracking_service_pb2_grpc.add_TrackingServiceServicer_to_server(Failing(), s))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield channel, runtime, server, records
    await channel.close()
    await stop_server(server, runtime, 0.1)


SERVICE_MD = (("x-healthmesh-service-token", TOKEN), ("x-healthmesh-user", "0190a5c4-0000-7000-8000-000000000001"))


async def test_unexpected_errors_are_internal_without_details(tracking):
    channel, *_ = tracking
    stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListSampleTypes(tracking_service_pb2.ListSampleTypesRequest(), metadata=SERVICE_MD)
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "hunter2" not in err.value.details() and "request id" in err.value.details()


async def test_domain_errors_keep_their_code(tracking):
    channel, *_ = tracking
    stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetSample(tracking_service_pb2.GetSampleRequest(name="x"), metadata=SERVICE_MD)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_health_is_forwarded_to_the_named_service(tracking, auth_harness):
    channel, *_ = tracking
    health = health_pb2_grpc.HealthStub(channel)
    own = await health.Check(health_pb2.HealthCheckRequest(service="healthmesh.tracking.v1.TrackingService"))
    peer = await health.Check(health_pb2.HealthCheckRequest(service="healthmesh.auth.v1.AuthService"))
    down = await health.Check(health_pb2.HealthCheckRequest(service="healthmesh.device.v1.DeviceService"))
    assert own.status == peer.status == health_pb2.HealthCheckResponse.SERVING
    assert down.status == health_pb2.HealthCheckResponse.NOT_SERVING  # nothing listens at its address


async def test_shutdown_goes_not_serving_and_flushes_the_audit_log(tracking):
    channel, runtime, server, records = tracking
    stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.GetSample(tracking_service_pb2.GetSampleRequest(name="x"), metadata=SERVICE_MD)
    assert records == []  # still buffered: the flush interval is a minute
    await stop_server(server, runtime, 0.1)
    assert [(r.action, r.outcome) for r in records] == [
        ("/healthmesh.tracking.v1.TrackingService/GetSample", "INVALID_ARGUMENT")]
    assert runtime.shutdown.is_set()
    status = await runtime.health.Check(health_pb2.HealthCheckRequest(service=""), None)
    assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_unauthenticated_calls_are_refused_before_the_handler(tracking):
    channel, *_ = tracking
    stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListSampleTypes(tracking_service_pb2.ListSampleTypesRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
