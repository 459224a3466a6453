"""The sleep RPCs of TrackingService, as a mixin for the Tracking servicer.

The servicer that mixes this in sets `self.sleep` (a SleepService) and `self.page_tokens`
(PageTokens) in its __init__.
"""

from __future__ import annotations

import uuid

from google.protobuf import empty_pb2
from healthmesh.tracking.v1 import tracking_service_pb2

from services.common import pagination
from services.common.errors import Violations
from services.common.principal import caller_parent, current_principal, parse_name
from services.tracking.sleep import convert
from services.tracking.sleep.service import SleepService

NAME = "users/{user}/sleepSessions/{sleep_session}"



def _name(name: str, field: str = "name") -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, NAME, current_principal.get(), field)
    return uuid.UUID(ids["user"]), uuid.UUID(ids["sleep_session"])


class SleepRpcs:
    sleep: SleepService
    page_tokens: pagination.PageTokens

    async def GetSleepSession(self, request, context):
        return convert.sleep_session(await self.sleep.get(*_name(request.name)))

    async def ListSleepSessions(self, request, context):
        user_id = caller_parent(request.parent)
        v = Violations()
        where = convert.list_filter(request, v)
        v.raise_if_any()
        size = pagination.page_size(request.page_size)
        query = {"parent": str(user_id), "kind": "sleepSessions", "source": where.source,
                 "start": where.start_time, "end": where.end_time}
        after = self.page_tokens.decode_keyset(request.page_token, query, pagination.instant, uuid.UUID)
        items = await self.sleep.list(user_id, where, size + 1, after)
        token = ""
        if len(items) > size:
            items = items[:size]
            token = self.page_tokens.encode([items[-1].end_time.isoformat(), str(items[-1].id)], query)
        return tracking_service_pb2.ListSleepSessionsResponse(
            sleep_sessions=[convert.sleep_session(s) for s in items], next_page_token=token)

    async def CreateSleepSession(self, request, context):
        user_id = caller_parent(request.parent)
        v = Violations()
        fields = convert.sleep_fields(request.sleep_session, v)
        v.raise_if_any()
        return convert.sleep_session(await self.sleep.create(user_id, fields, request.request_id))

    async def UpdateSleepSession(self, request, context):
        user_id, session_id = _name(request.sleep_session.name, "sleep_session.name")
        v = Violations()
        patch = convert.sleep_fields(request.sleep_session, v)
        v.raise_if_any()
        updated = await self.sleep.update(user_id, session_id, patch, list(request.update_mask.paths))
        return convert.sleep_session(updated)

    async def DeleteSleepSession(self, request, context):
        await self.sleep.delete(*_name(request.name))
        return empty_pb2.Empty()

    async def AnalyzeSleep(self, request, context):
        user_id = caller_parent(request.parent)
        v = Violations()
        start, end = convert.analysis_window(request, v)
        v.raise_if_any()
        return convert.analysis(await self.sleep.analyze(user_id, start, end, request.target_sleep_seconds))
