"""Insight's servicers: the public InsightService made of its parts' mixins, and the internal one."""

from __future__ import annotations

from google.protobuf import empty_pb2
from healthmesh.insight.v1 import insight_internal_service_pb2_grpc, insight_service_pb2_grpc

from services.common.convert import from_timestamp
from services.common.idempotency import RequestResults
from services.common.pagination import PageTokens
from services.insight.alerts.rpc import AlertRpcs
from services.insight.alerts.service import AlertService
from services.insight.alerts.watch import AlertWatch
from services.insight.analytics.rpc import AnalyticsRpcs
from services.insight.analytics.service import AnalyticsService
from services.insight.insights.repository import SqlInsights
from services.insight.insights.rpc import InsightRpcs
from services.insight.notify import NotifyService, SamplesWritten


class InsightServicer(AnalyticsRpcs, InsightRpcs, AlertRpcs, insight_service_pb2_grpc.InsightServiceServicer):
    def __init__(self, analytics: AnalyticsService, insights: SqlInsights, alerts: AlertService, watch: AlertWatch,
                 request_results: RequestResults, page_tokens: PageTokens) -> None:
        self.analytics = analytics
        self.insights = insights
        self.alerts = alerts
        self.watch = watch
        self.request_results = request_results
        self.page_tokens = page_tokens


class InsightInternalServicer(insight_internal_service_pb2_grpc.InsightInternalServiceServicer):
    def __init__(self, notify: NotifyService) -> None:
        self._notify = notify

    async def NotifySamplesWritten(self, request, context):
        await self._notify.samples_written([
            SamplesWritten(c.event_id, c.user, tuple(c.sample_types),
                           from_timestamp(c.start_time) if c.HasField("start_time") else None,
                           from_timestamp(c.end_time) if c.HasField("end_time") else None)
            for c in request.changes])
        return empty_pb2.Empty()
