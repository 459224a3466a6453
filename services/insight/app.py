"""Assembles Insight: the analyses, fed by Tracking's outbox through NotifySamplesWritten."""

from __future__ import annotations

from healthmesh.insight.v1 import insight_internal_service_pb2_grpc, insight_service_pb2_grpc

from services.common.app import Built, remote_runtime
from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec
from services.insight.analytics.app import build_analytics
from services.insight.notify import NotifyService
from services.insight.servicer import InsightInternalServicer, InsightServicer

SPEC = ServiceSpec("insight", internal_services=("healthmesh.insight.v1.InsightInternalService",))


async def build(settings: Settings, clock: Clock = utcnow) -> Built:
    runtime = remote_runtime(SPEC, settings)
    analytics = build_analytics(settings, runtime.peers, clock=clock)
    notify = NotifyService()
    notify.listeners.append(analytics.on_samples_written)
    servicer = InsightServicer(analytics.service,
                               PageTokens.from_config(settings.page_token_keys, settings.service_token))
    internal = InsightInternalServicer(notify)

    def add_servicers(server) -> None:
        insight_service_pb2_grpc.add_InsightServiceServicer_to_server(servicer, server)
        insight_internal_service_pb2_grpc.add_InsightInternalServiceServicer_to_server(internal, server)

    return Built(runtime, add_servicers, [analytics.close])
