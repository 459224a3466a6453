"""Nutrition's RPCs, as a mixin of the Tracking servicer: parse, call the use case, render.

The final servicer sets `self.nutrition` (a NutritionService) and `self.page_tokens` (PageTokens)
in its __init__.
"""

from __future__ import annotations

import datetime as dt
import uuid

from google.protobuf import empty_pb2
from healthmesh.tracking.v1 import tracking_service_pb2

from services.common import pagination
from services.common.principal import caller_parent, current_principal, parse_name
from services.tracking.nutrition import convert
from services.tracking.nutrition.service import NutritionService

ENTRY = "users/{user}/nutritionEntries/{nutrition_entry}"



def _entry_name(name: str, field: str = "name") -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, ENTRY, current_principal.get(), field)
    return uuid.UUID(ids["user"]), uuid.UUID(ids["nutrition_entry"])


def _cursor(tokens: pagination.PageTokens, token: str, query: dict) -> tuple[dt.datetime, uuid.UUID] | None:
    return tokens.decode_keyset(token, query, pagination.instant, uuid.UUID)


class NutritionRpcs:
    nutrition: NutritionService
    page_tokens: pagination.PageTokens

    async def GetNutritionEntry(self, request, context):
        user_id, entry_id = _entry_name(request.name)
        return convert.entry(await self.nutrition.get(user_id, entry_id))

    async def ListNutritionEntries(self, request, context):
        user_id = caller_parent(request.parent)
        where = convert.entry_filter(request)
        query = {"parent": str(user_id), "start": where.start_time, "end": where.end_time,
                 "meal": int(where.meal_type), "kind": "nutritionEntries"}
        size = pagination.page_size(request.page_size)
        # One more than the page tells whether another page exists, so the last page has no token.
        after = _cursor(self.page_tokens, request.page_token, query)
        entries = await self.nutrition.list(user_id, where, size + 1, after)
        entries, more = entries[:size], len(entries) > size
        token = ""
        if more:
            last = entries[-1]
            token = self.page_tokens.encode([last.consume_time.isoformat(), str(last.id)], query)
        return tracking_service_pb2.ListNutritionEntriesResponse(
            nutrition_entries=[convert.entry(e) for e in entries], next_page_token=token)

    async def CreateNutritionEntry(self, request, context):
        user_id = caller_parent(request.parent)
        fields = convert.entry_fields(request.nutrition_entry)
        return convert.entry(await self.nutrition.create(user_id, fields, request.request_id))

    async def UpdateNutritionEntry(self, request, context):
        user_id, entry_id = _entry_name(request.nutrition_entry.name, "nutrition_entry.name")
        fields = convert.entry_fields(request.nutrition_entry)
        entry = await self.nutrition.update(user_id, entry_id, list(request.update_mask.paths), fields)
        return convert.entry(entry)

    async def DeleteNutritionEntry(self, request, context):
        user_id, entry_id = _entry_name(request.name)
        await self.nutrition.delete(user_id, entry_id)
        return empty_pb2.Empty()

    async def SummarizeNutrition(self, request, context):
        user_id = caller_parent(request.parent)
        days = await self.nutrition.summarize(user_id, request.start_date, request.end_date)
        return tracking_service_pb2.SummarizeNutritionResponse(days=[convert.daily(d) for d in days])
