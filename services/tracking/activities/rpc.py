"""The activity RPCs of TrackingService, as a mixin for the Tracking servicer.

The servicer that mixes this in sets `self.activities` (an ActivityService) and
`self.page_tokens` (PageTokens) in its __init__.
"""

from __future__ import annotations

import uuid

from google.protobuf import empty_pb2
from healthmesh.tracking.v1 import tracking_service_pb2

from services.common import pagination
from services.common.errors import Violations
from services.common.principal import caller_parent, current_principal, parse_name
from services.tracking.activities import convert
from services.tracking.activities.service import ActivityService

NAME = "users/{user}/activities/{activity}"



def _name(name: str, field: str = "name") -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, NAME, current_principal.get(), field)
    return uuid.UUID(ids["user"]), uuid.UUID(ids["activity"])


class ActivityRpcs:
    activities: ActivityService
    page_tokens: pagination.PageTokens

    async def GetActivity(self, request, context):
        user_id, activity_id = _name(request.name)
        v = Violations()
        full = convert.view(request.view, True, v)
        v.raise_if_any()
        return convert.activity(await self.activities.get(user_id, activity_id, full))

    async def ListActivities(self, request, context):
        user_id = caller_parent(request.parent)
        v = Violations()
        where = convert.list_filter(request, v)
        full = convert.view(request.view, False, v)
        v.raise_if_any()
        size = pagination.page_size(request.page_size)
        # The token is bound to the parent and the filters, not to the view.
        query = {"parent": str(user_id), "kind": "activities", "type": where.type, "source": where.source,
                 "start": where.start_time, "end": where.end_time}
        after = self.page_tokens.decode_keyset(request.page_token, query, pagination.instant, uuid.UUID)
        items = await self.activities.list(user_id, where, size + 1, after, full)
        token = ""
        if len(items) > size:
            items = items[:size]
            token = self.page_tokens.encode([items[-1].start_time.isoformat(), str(items[-1].id)], query)
        return tracking_service_pb2.ListActivitiesResponse(
            activities=[convert.activity(a) for a in items], next_page_token=token)

    async def CreateActivity(self, request, context):
        user_id = caller_parent(request.parent)
        v = Violations()
        fields = convert.activity_fields(request.activity, v)
        v.raise_if_any()
        return convert.activity(await self.activities.create(user_id, fields, request.request_id))

    async def UpdateActivity(self, request, context):
        user_id, activity_id = _name(request.activity.name, "activity.name")
        v = Violations()
        patch = convert.activity_fields(request.activity, v)
        v.raise_if_any()
        updated = await self.activities.update(user_id, activity_id, patch, list(request.update_mask.paths))
        return convert.activity(updated)

    async def DeleteActivity(self, request, context):
        user_id, activity_id = _name(request.name)
        await self.activities.delete(user_id, activity_id)
        return empty_pb2.Empty()
