"""The analyses' RPCs, as a mixin of the Insight servicer: parse, call the use case, render.

The final servicer sets `self.analytics` (an AnalyticsService) and `self.page_tokens` (PageTokens)
in its __init__.
"""

from __future__ import annotations

from healthmesh.insight.v1 import insight_service_pb2

from services.common import pagination
from services.common.principal import caller_parent
from services.insight.analytics import convert
from services.insight.analytics.service import AnalyticsService


class AnalyticsRpcs:
    analytics: AnalyticsService
    page_tokens: pagination.PageTokens

    async def GetRecommendations(self, request, context):
        user_id = caller_parent(request.parent)
        return convert.recommendations(await self.analytics.recommendations(user_id, request.days))

    async def GetTrends(self, request, context):
        user_id = caller_parent(request.parent)
        found = await self.analytics.trends(user_id, request.type, request.days)
        return insight_service_pb2.GetTrendsResponse(trends=[convert.trend(t) for t in found.items])

    async def ListAnomalies(self, request, context):
        user_id = caller_parent(request.parent)
        floor = request.min_severity
        query = {"parent": str(user_id), "type": request.type, "days": request.days, "min_severity": floor,
                 "kind": "anomalies"}
        position = pagination.offset_position(self.page_tokens, request, query)
        found = await self.analytics.anomalies(user_id, request.type, request.days)
        items = [a for a in found.items if convert.SEVERITY_RANK[a.severity] >= floor]
        page, token = pagination.offset_page(self.page_tokens, position, query, items)
        return insight_service_pb2.ListAnomaliesResponse(anomalies=[convert.anomaly(a) for a in page],
                                                         next_page_token=token)

    async def ListCorrelations(self, request, context):
        user_id = caller_parent(request.parent)
        query = {"parent": str(user_id), "type": request.type, "days": request.days, "kind": "correlations"}
        position = pagination.offset_position(self.page_tokens, request, query)
        found = await self.analytics.correlations(user_id, request.type, request.days)
        page, token = pagination.offset_page(self.page_tokens, position, query, list(found.items))
        return insight_service_pb2.ListCorrelationsResponse(correlations=[convert.correlation(c) for c in page],
                                                            next_page_token=token)

    async def GetSummary(self, request, context):
        user_id = caller_parent(request.parent)
        found = await self.analytics.summary(user_id, convert.period_name(request.period), request.date)
        return convert.summary_message(found)
