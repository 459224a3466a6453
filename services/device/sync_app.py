"""Assembles syncs for Device's app.py: one call once the runtime, engine and registry exist.

    syncs = build_syncs(settings, runtime, engine, device_repository, clock)
    ERASE_PARTS.append(sync_repository.erase_user); closers.append(syncs.close)
    telemetry = build_telemetry(..., sync_progress=syncs.progress)
    syncs.connect(telemetry)
    # the servicer: class DeviceServicer(SyncRpcs, ...) with self.syncs = syncs.service
The registry tells syncs when a device is paused or deleted (its paused_hooks and deleted_hooks):
syncs.service.device_stopped(user, device).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.background import cancel
from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.server import Runtime
from services.device.domain import Credentials, Device
from services.device.oura.adapter import INTEGRATION as OURA, OuraAdapter
from services.device.sync_domain import SyncRequest
from services.device.sync_repository import SqlSyncRepository
from services.device.sync_service import SyncService
from services.device.sync_sink import TrackingSyncSink


class RegistryDevices:
    """The registry's repository as syncs need it (the Devices port)."""

    def __init__(self, repo) -> None:
        self._repo = repo

    async def get(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Device | None:
        return await self._repo.get(user_id, device_id)

    async def credentials(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Credentials | None:
        return await self._repo.credentials(user_id, device_id)

    async def replace_credentials(self, user_id: uuid.UUID, device_id: uuid.UUID, credentials: Credentials) -> None:
        device = await self._repo.get(user_id, device_id)
        if device is not None:
            await self._repo.save(device, credentials, True)

    async def synced(self, user_id: uuid.UUID, device_id: uuid.UUID, at: dt.datetime) -> None:
        await self._repo.synced(user_id, device_id, at)

    async def set_error(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> bool:
        return await self._repo.set_error(user_id, device_id, now)


class StreamRequests:
    """The telemetry streams (services/device/telemetry.py) as syncs need them (the Streams port)."""

    def __init__(self, streams) -> None:
        self._streams = streams

    async def request_sync(self, user_id: uuid.UUID, device_id: uuid.UUID, request: SyncRequest) -> bool:
        from services.device.telemetry import SyncRequest as TelemetrySyncRequest

        return self._streams.request_sync(device_id, TelemetrySyncRequest(
            request.sync, request.start, request.end, tuple(request.sample_types)))


class StreamProgress:
    """What the telemetry streams report of a sync's batches (their SyncProgress)."""

    def __init__(self, service: SyncService) -> None:
        self._service = service

    async def batch_acked(self, device, sync: str, counts, complete: bool) -> None:
        prefix = f"{device.name}/syncs/"
        if not sync.startswith(prefix):
            return  # another device's sync: its counts are not this stream's to add
        try:
            sync_id = uuid.UUID(sync[len(prefix):])
        except ValueError:
            return
        await self._service.batch_stored(device.user_id, device.device_id, sync_id, counts.accepted,
                                         counts.duplicate, counts.updated, counts.rejected, complete)


@dataclass
class Syncs:
    service: SyncService
    progress: StreamProgress
    _tasks: list[asyncio.Task]

    def connect(self, telemetry) -> None:
        """Push syncs go over the telemetry streams (services/device/telemetry_app.py's Telemetry),
        and a sync waiting for its device's stream runs as soon as one opens."""
        self.service.streams = StreamRequests(telemetry.streams)
        telemetry.service.seen.append(self._stream_seen)

    async def _stream_seen(self, device) -> None:
        await self.service.stream_opened(device.user_id, device.device_id)

    async def close(self) -> None:
        await cancel(*self._tasks)


def build_syncs(settings: Settings, runtime: Runtime, engine: AsyncEngine, device_repository,
                clock: Clock = utcnow) -> Syncs:
    """The sync use cases, their worker and their scheduler (both stop with runtime.shutdown)."""
    adapters = {OURA: OuraAdapter(settings.oura_api_url, settings.oura_client_id, settings.oura_client_secret)}
    service = SyncService(
        SqlSyncRepository(engine), RegistryDevices(device_repository), adapters,
        lambda device: TrackingSyncSink(runtime.peers, device.user_id, device.id, device.sample_source), clock=clock)
    tasks = [asyncio.create_task(service.run_jobs(runtime.shutdown), name="device-syncs"),
             asyncio.create_task(service.run_schedule(runtime.shutdown), name="device-sync-schedule")]
    return Syncs(service, StreamProgress(service), tasks)
