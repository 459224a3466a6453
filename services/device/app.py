"""Assembles Device: storage, use cases and servicers."""

from __future__ import annotations

import uuid

from healthmesh.device.v1 import device_service_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common import readiness
from services.common.app import Built, consume_erasures, remote_runtime
from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.db import create_engine
from services.common.erasure import EraseUser
from services.common.idempotency import RequestResults
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec
from services.device import repository
from services.device.auth import GrpcKeyRevoker
from services.device.convert import DEVICE_TYPES
from services.device.domain import Quota
from services.device.quotas import WriteQuotas
from services.device.repository import SqlDeviceRepository
from services.device.service import DeviceService, KeyRevocations
from services.device.servicer import DeviceServicer
from services.device import sync_repository
from services.device.sync_app import build_syncs
from services.device import telemetry_repository
from services.device.telemetry_app import RegistryAccess, build_telemetry
from services.device.tracking import GrpcSampleWriter, TrackingSampleTypes

# What a device-scoped API key may call: its device's own stream, uploads and health reports.
DEVICE_KEY_METHODS = frozenset(f"/healthmesh.device.v1.DeviceService/{m}"
                               for m in ("StreamTelemetry", "UploadDeviceData", "ReportDeviceHealth"))
SPEC = ServiceSpec("device", device_key_methods=DEVICE_KEY_METHODS)

# Each part of Device that keeps rows of a user adds its EraseUser here.
ERASE_PARTS: list[EraseUser] = [repository.erase_user, sync_repository.erase_user, telemetry_repository.erase_user]


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in ERASE_PARTS:
        counts |= await part(conn, user_id)
    return counts


def quota_of(settings: Settings) -> Quota:
    return Quota(settings.device_quota_per_device, settings.device_quota_per_user,
                 settings.device_quota_window_seconds)


async def build(settings: Settings, clock: Clock = utcnow) -> Built:
    engine = create_engine(settings, "device")
    runtime = remote_runtime(SPEC, settings, engine)
    runtime.readiness_check = readiness.database(settings.database_url, SPEC.name)
    repo = SqlDeviceRepository(engine, settings.kek_bytes)
    quotas = WriteQuotas(quota_of(settings), settings.redis_url)
    key_revocations = KeyRevocations(repo, GrpcKeyRevoker(runtime.peers))
    devices = DeviceService(repo, TrackingSampleTypes(runtime.peers), GrpcSampleWriter(runtime.peers), quotas,
                            DEVICE_TYPES, clock, key_revocations)
    syncs = build_syncs(settings, runtime, engine, repo, clock)  # its worker and scheduler run from here
    stop_syncs = lambda device: syncs.service.device_stopped(device.user_id, device.id)  # noqa: E731
    devices.deleted_hooks.append(stop_syncs)  # deleting or pausing a device cancels its open syncs
    devices.paused_hooks.append(stop_syncs)
    telemetry = build_telemetry(runtime, engine, RegistryAccess(devices), clock=clock,
                                sync_progress=syncs.progress)
    syncs.connect(telemetry)
    devices.deleted_hooks.append(telemetry.device_deleted)
    servicer = DeviceServicer(devices, RequestResults(engine, "device"),
                              PageTokens.from_config(settings.page_token_keys, settings.service_token),
                              syncs=syncs.service,
                              telemetry=telemetry.service)

    def add_servicers(server) -> None:
        device_service_pb2_grpc.add_DeviceServiceServicer_to_server(servicer, server)

    stop_erasures = consume_erasures(runtime, engine, erase_user)
    key_revocations.start()
    return Built(runtime, add_servicers, [engine.dispose, quotas.close, stop_erasures, key_revocations.close,
                                          syncs.close, telemetry.close])
