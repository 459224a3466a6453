"""The insights' RPCs, as a mixin of the Insight servicer: parse, call the store, render.

The final servicer sets `self.insights` (SqlInsights) and `self.page_tokens` (PageTokens).
"""

from __future__ import annotations

import uuid

from healthmesh.insight.v1 import category_pb2, insight_pb2, insight_service_pb2, severity_pb2

from services.common import pagination
from services.common.convert import set_timestamp
from services.common.errors import NotFound
from services.common.principal import caller_parent, current_principal, parse_name
from services.insight.insights.repository import Insight, SqlInsights


def insight_name(name: str) -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, "users/{user}/insights/{insight}", current_principal.get())
    return uuid.UUID(ids["user"]), uuid.UUID(ids["insight"])


def message(i: Insight) -> insight_pb2.Insight:
    out = insight_pb2.Insight(
        name=i.name, kind=insight_pb2.Insight.Kind.Value(i.kind), rule=i.rule,
        category=category_pb2.Category.Value(i.category), severity=severity_pb2.Severity.Value(i.severity),
        title=i.title, body=i.body, sample_type=i.sample_type, start_date=i.start_date.isoformat(),
        end_date=i.end_date.isoformat(), read=i.read_time is not None)
    if i.read_time is not None:
        set_timestamp(out.read_time, i.read_time)
    set_timestamp(out.create_time, i.create_time)
    set_timestamp(out.update_time, i.update_time)
    return out


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
        return message(found)

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
        return insight_service_pb2.ListInsightsResponse(insights=[message(i) for i in page], next_page_token=token,
                                                        unread_count=unread)

    async def MarkInsightRead(self, request, context):
        user_id, insight_id = insight_name(request.name)
        found = await self.insights.mark_read(user_id, insight_id)
        if found is None:
            raise _not_found(user_id, insight_id)
        return message(found)
