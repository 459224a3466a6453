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
from services.device.convert import DEVICE_TYPES
from services.device.domain import Quota
from services.device.quotas import WriteQuotas
from services.device.repository import SqlDeviceRepository
from services.device.service import DeviceService
from services.device.servicer import DeviceServicer
from services.device import sync_repository
from services.device.sync_app import build_syncs
from services.device.tracking import GrpcSampleWriter, TrackingSampleTypes

SPEC = ServiceSpec("device")

# Each part of Device that keeps rows of a user adds its EraseUser here.
ERASE_PARTS: list[EraseUser] = [repository.erase_user, sync_repository.erase_user]


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in ERASE_PARTS:
        counts |= await part(conn, user_id)
    return counts


def quota_of(settings: Settings) -> Quota:
    return Quota(settings.device_quota_per_device, settings.device_quota_per_user,
                 settings.device_quota_window_seconds)


async def build(settings: Settings, clock: Clock = utcnow) -> Built:
    engine = create_engine(settings)
    runtime = remote_runtime(SPEC, settings, engine)
    runtime.readiness_check = readiness.database(settings.database_url, SPEC.name)
    repo = SqlDeviceRepository(engine, settings.kek_bytes)
    quotas = WriteQuotas(quota_of(settings), settings.redis_url)
    devices = DeviceService(repo, TrackingSampleTypes(runtime.peers), GrpcSampleWriter(runtime.peers), quotas,
                            DEVICE_TYPES, clock)
    syncs = build_syncs(settings, runtime, engine, repo, clock)  # its worker and scheduler run from here
    stop_syncs = lambda device: syncs.service.device_stopped(device.user_id, device.id)  # noqa: E731
    devices.deleted_hooks.append(stop_syncs)  # deleting or pausing a device cancels its open syncs
    devices.paused_hooks.append(stop_syncs)
    servicer = DeviceServicer(devices, RequestResults(engine, "device"),
                              PageTokens.from_config(settings.page_token_keys, settings.service_token),
                              syncs=syncs.service)

    def add_servicers(server) -> None:
        device_service_pb2_grpc.add_DeviceServiceServicer_to_server(servicer, server)

    stop_erasures = consume_erasures(runtime, engine, erase_user)
    return Built(runtime, add_servicers, [engine.dispose, quotas.close, stop_erasures, syncs.close])
