"""TrackingService: one servicer made of the parts of Tracking, each a mixin with its RPCs."""

from __future__ import annotations

from healthmesh.tracking.v1 import tracking_service_pb2_grpc

from services.common.idempotency import RequestResults
from services.tracking.samples.rpc import SampleRpcs
from services.tracking.samples.service import SampleService


class TrackingServicer(SampleRpcs, tracking_service_pb2_grpc.TrackingServiceServicer):
    def __init__(self, samples: SampleService, request_results: RequestResults) -> None:
        self.samples = samples
        self.request_results = request_results
