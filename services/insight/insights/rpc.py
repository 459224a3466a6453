"""The insights' RPCs, as a mixin of the Insight servicer: parse, call the store, render.

The final servicer sets `self.insights` (SqlInsights) and `self.page_tokens` (PageTokens).
"""

from __future__ import annotations

import uuid

from healthmesh.insight.v1 import category_pb2, insight_pb2, insight_service_pb2

from services.common import pagination
from services.common.errors import NotFound
from services.common.principal import caller_parent, current_principal, parse_name
from services.insight.insights import convert
from services.insight.insights.repository import SqlInsights


def insight_name(name: str) -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, "users/{user}/insights/{insight}", current_principal.get())
    return uuid.UUID(ids["user"]), uuid.UUID(ids["insight"])


def _not_found(user_id: uuid.UUID, insight_id: uuid.UUID) -> NotFound:
    return NotFound(f"insight users/{user_id}/insights/{insight_id} not found", "INSIGHT_NOT_FOUND")


class InsightRpcs:
    insights: SqlInsights
    page_tokens: pagination.PageTokens

    async def GetInsight(self, request, context):
        user_id, insight_id = insight_name(request.name)
        found = await self.insights.get(user_id, insight_id)
        if found is None:
            raise _not_found(user_id, insight_id)
        return convert.insight(found)

    async def ListInsights(self, request, context):
        user_id = caller_parent(request.parent)
        kind = insight_pb2.Insight.Kind.Name(request.kind) if request.kind else ""
        category = category_pb2.Category.Name(request.category) if request.category else ""
        query = {"parent": str(user_id), "unread": request.unread_only, "kind": kind, "category": category,
                 "list": "insights"}
        page, token = await pagination.id_page(
            self.page_tokens, request, query,
            lambda limit, before: self.insights.list(user_id, request.unread_only, kind, category, limit, before))
        unread = await self.insights.unread(user_id)
        return insight_service_pb2.ListInsightsResponse(insights=[convert.insight(i) for i in page], next_page_token=token,
                                                        unread_count=unread)

    async def MarkInsightRead(self, request, context):
        user_id, insight_id = insight_name(request.name)
        found = await self.insights.mark_read(user_id, insight_id)
        if found is None:
            raise _not_found(user_id, insight_id)
        return convert.insight(found)
