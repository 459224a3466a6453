"""The registry's RPCs (devices, uploads, health), as a mixin of the Device servicer: parse, call
the use case, render.

The final servicer sets `self.devices` (a DeviceService), `self.request_results` (RequestResults)
and `self.page_tokens` (PageTokens) in its __init__.
"""

from __future__ import annotations

import uuid

from google.protobuf import empty_pb2
from healthmesh.device.v1 import device_pb2, device_service_pb2

from services.common import pagination
from services.common.errors import InvalidArgument
from services.common.idempotency import RequestResults
from services.common.principal import caller_parent, current_principal, parse_name
from services.device import convert
from services.device.service import DeviceService

DEVICE = "users/{user}/devices/{device}"
HEALTH = "users/{user}/devices/{device}/health"


def device_name(name: str, field: str = "name", pattern: str = DEVICE) -> tuple[uuid.UUID, uuid.UUID]:
    """The user and device of a device's name (or of a name under it), the user being the caller."""
    ids = parse_name(name, pattern, current_principal.get(), field)
    return uuid.UUID(ids["user"]), uuid.UUID(ids["device"])


def _enum(value: int, known, field: str) -> int:
    if value not in known:
        raise InvalidArgument.field(field, "is not a known value")
    return value


class RegistryRpcs:
    devices: DeviceService
    request_results: RequestResults
    page_tokens: pagination.PageTokens

    async def GetDevice(self, request, context):
        return convert.device(await self.devices.get(*device_name(request.name)))

    async def ListDevices(self, request, context):
        user_id = caller_parent(request.parent)
        state = _enum(request.state, device_pb2.Device.State.values(), "state")
        device_type = _enum(request.device_type, convert.DEVICE_TYPES, "device_type")
        query = {"parent": str(user_id), "state": state, "device_type": device_type, "stale": request.stale,
                 "kind": "devices"}
        page, token = await pagination.id_page(
            self.page_tokens, request, query,
            lambda limit, after: self.devices.list(user_id, state, device_type, request.stale, limit, after))
        return device_service_pb2.ListDevicesResponse(devices=[convert.device(d) for d in page],
                                                      next_page_token=token)

    async def CreateDevice(self, request, context):
        user_id = caller_parent(request.parent)

        async def create():
            return convert.device(await self.devices.create(user_id, convert.device_fields(request.device)))

        return await self.request_results.once(user_id, "CreateDevice", request.request_id,
                                               device_pb2.Device.FromString, create)

    async def UpdateDevice(self, request, context):
        user_id, device_id = device_name(request.device.name, "device.name")
        device = await self.devices.update(user_id, device_id, list(request.update_mask.paths),
                                           convert.device_fields(request.device))
        return convert.device(device)

    async def DeleteDevice(self, request, context):
        await self.devices.delete(*device_name(request.name))
        return empty_pb2.Empty()

    async def UploadDeviceData(self, request, context):
        user_id, device_id = device_name(request.name)
        principal = current_principal.get()

        async def upload():
            counts = await self.devices.upload(principal, user_id, device_id, [s.type for s in request.samples],
                                               request.samples)
            return convert.upload_response(counts)

        return await self.request_results.once(user_id, "UploadDeviceData", request.request_id,
                                               device_service_pb2.UploadDeviceDataResponse.FromString, upload)

    async def ReportDeviceHealth(self, request, context):
        user_id, device_id = device_name(request.name)
        report, status = await self.devices.report_health(current_principal.get(), user_id, device_id,
                                                          convert.health_report(request))
        return convert.health(f"users/{user_id}/devices/{device_id}/health", report, status)

    async def GetDeviceHealth(self, request, context):
        user_id, device_id = device_name(request.name, pattern=HEALTH)
        report, status = await self.devices.health(user_id, device_id)
        return convert.health(f"users/{user_id}/devices/{device_id}/health", report, status)
