"""Insight's servicers: the public InsightService made of its parts' mixins, and the internal one."""

from __future__ import annotations

from google.protobuf import empty_pb2
from healthmesh.insight.v1 import insight_internal_service_pb2_grpc, insight_service_pb2_grpc

from services.common.convert import from_timestamp
from services.common.pagination import PageTokens
from services.insight.analytics.rpc import AnalyticsRpcs
from services.insight.analytics.service import AnalyticsService
from services.insight.notify import NotifyService, SamplesWritten


class InsightServicer(AnalyticsRpcs, insight_service_pb2_grpc.InsightServiceServicer):
    """The analyses; insights, alert rules and alerts still answer UNIMPLEMENTED (the base class)."""

    def __init__(self, analytics: AnalyticsService, page_tokens: PageTokens) -> None:
        self.analytics = analytics
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
