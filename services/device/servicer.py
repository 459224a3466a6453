"""DeviceService: one servicer made of the parts of Device, each a mixin with its RPCs.

RPCs of a part not built yet answer UNIMPLEMENTED (the generated base servicer's methods).
"""

from __future__ import annotations

from healthmesh.device.v1 import device_service_pb2_grpc

from services.common.idempotency import RequestResults
from services.common.pagination import PageTokens
from services.device.registry_rpc import RegistryRpcs
from services.device.service import DeviceService
from services.device.sync_rpc import SyncRpcs
from services.device.sync_service import SyncService
from services.device.telemetry_rpc import TelemetryRpcs
from services.device.telemetry_service import TelemetryService


class DeviceServicer(RegistryRpcs, SyncRpcs, TelemetryRpcs, device_service_pb2_grpc.DeviceServiceServicer):
    def __init__(self, devices: DeviceService, request_results: RequestResults, page_tokens: PageTokens,
                 syncs: SyncService | None = None,
                 telemetry: TelemetryService | None = None) -> None:
        self.devices = devices
        self.syncs = syncs
        self.telemetry = telemetry
        self.request_results = request_results
        self.page_tokens = page_tokens
