"""Assembles Tracking: storage, use cases and servicers."""

from __future__ import annotations

from healthmesh.tracking.v1 import tracking_internal_service_pb2_grpc, tracking_service_pb2_grpc

from services.common.app import Built, remote_runtime
from services.common.config import Settings
from services.common.db import create_engine
from services.common.idempotency import RequestResults
from services.common.server import ServiceSpec
from services.tracking.profiles import AuthProfiles
from services.tracking.samples.catalog import CATALOG
from services.tracking.samples.repository import SqlSampleRepository
from services.tracking.samples.rpc import TrackingInternalServicer
from services.tracking.samples.service import SampleService
from services.tracking.servicer import TrackingServicer

SPEC = ServiceSpec("tracking", internal_services=("healthmesh.tracking.v1.TrackingInternalService",))


async def build(settings: Settings) -> Built:
    engine = create_engine(settings)
    runtime = remote_runtime(SPEC, settings)
    profiles = AuthProfiles(runtime.peers)
    samples = SampleService(SqlSampleRepository(engine, lambda t: CATALOG[t].unit), profiles)

    def add_servicers(server) -> None:
        tracking_service_pb2_grpc.add_TrackingServiceServicer_to_server(TrackingServicer(samples, RequestResults(engine, "tracking")), server)
        tracking_internal_service_pb2_grpc.add_TrackingInternalServiceServicer_to_server(
            TrackingInternalServicer(samples, runtime.shutdown), server)

    return Built(runtime, add_servicers, [engine.dispose])
