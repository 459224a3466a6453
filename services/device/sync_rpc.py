"""Syncs' RPCs, as a mixin of the Device servicer: parse, call the use case, render.

The final servicer sets `self.syncs` (a SyncService) and `self.page_tokens` (PageTokens) in its
__init__.
"""

from __future__ import annotations

import uuid

from healthmesh.device.v1 import device_service_pb2

from services.common import pagination
from services.common.convert import from_timestamp
from services.common.principal import current_principal, parse_name
from services.device import sync_convert as convert
from services.device.sync_service import SyncService

DEVICE = "users/{user}/devices/{device}"
SYNC = "users/{user}/devices/{device}/syncs/{sync}"


def _device(name: str, field: str) -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, DEVICE, current_principal.get(), field)
    return uuid.UUID(ids["user"]), uuid.UUID(ids["device"])


def _sync(name: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    ids = parse_name(name, SYNC, current_principal.get())
    return uuid.UUID(ids["user"]), uuid.UUID(ids["device"]), uuid.UUID(ids["sync"])


class SyncRpcs:
    syncs: SyncService
    page_tokens: pagination.PageTokens

    async def TriggerSync(self, request, context):
        user_id, device_id = _device(request.name, "name")
        start = from_timestamp(request.start_time) if request.HasField("start_time") else None
        return convert.sync(await self.syncs.trigger(user_id, device_id, start, request.request_id))

    async def GetSync(self, request, context):
        return convert.sync(await self.syncs.get(*_sync(request.name)))

    async def ListSyncs(self, request, context):
        user_id, device_id = _device(request.parent, "parent")
        state = convert.state_filter(request.state)
        query = {"parent": f"{user_id}/{device_id}", "state": int(state or 0), "kind": "syncs"}
        size = pagination.page_size(request.page_size)
        cursor = self.page_tokens.decode_keyset(request.page_token, query, uuid.UUID)
        # One more than the page tells whether another page exists, so the last page has no token.
        found = await self.syncs.list(user_id, device_id, state, size + 1, cursor[0] if cursor else None)
        page, more = found[:size], len(found) > size
        token = self.page_tokens.encode([str(page[-1].id)], query) if more else ""
        return device_service_pb2.ListSyncsResponse(syncs=[convert.sync(s) for s in page], next_page_token=token)

    async def RetrySync(self, request, context):
        return convert.sync(await self.syncs.retry(*_sync(request.name), request.request_id))
