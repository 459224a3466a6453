"""Assembles StreamTelemetry for Device's app.py: one call, after the runtime, the engine and the
registry's DeviceService exist.

    telemetry = build_telemetry(runtime, engine, RegistryAccess(devices), sync_progress=syncs.progress)
    devices.deleted_hooks.append(telemetry.device_deleted)
    telemetry.service.seen.append(...)           # more hooks on an open stream, e.g. a sync waiting for it
    closers.append(telemetry.close)
    # the servicer: class DeviceServicer(TelemetryRpcs, ...) with self.telemetry = telemetry.service
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.clock import Clock, utcnow
from services.common.principal import Principal, parse_name
from services.common.server import Runtime
from services.device.telemetry import TelemetryStreams
from services.device.telemetry_repository import SqlResumePoints
from services.device.telemetry_rpc import ProtoBatches
from services.device.telemetry_service import DeviceAccess, StreamDevice, SyncProgress, TelemetryService
from services.device.telemetry_tracking import GrpcTracking

PAUSED = 2  # Device.State.PAUSED


class RegistryAccess:
    """DeviceAccess over the registry's DeviceService (for_device_call: the caller's own device,
    or the one its device-scoped API key is bound to), with its last_seen_time as a Seen hook and
    its write quotas (the uploads' own) as the stream's Charge."""

    def __init__(self, devices) -> None:
        self._devices = devices

    async def for_stream(self, principal: Principal, device: str) -> StreamDevice:
        ids = parse_name(device, "users/{user}/devices/{device}", principal, "open.device")
        found = await self._devices.for_device_call(principal, uuid.UUID(ids["user"]), uuid.UUID(ids["device"]))
        return StreamDevice(found.user_id, found.id, found.name, found.sample_source, int(found.state) == PAUSED,
                            tuple(found.capabilities))

    async def seen(self, device: StreamDevice) -> None:
        await self._devices.seen(await self._devices.get(device.user_id, device.device_id))

    async def charge(self, device: StreamDevice, samples: int) -> None:
        await self._devices.charge(device.user_id, device.device_id, samples)


@dataclass
class Telemetry:
    service: TelemetryService
    streams: TelemetryStreams  # request_sync(device_id, SyncRequest) for the syncs
    resume_points: SqlResumePoints
    _watch: asyncio.Task

    def device_deleted(self, device) -> None:
        """A DeletedHook for the registry: the device's stream ends NOT_FOUND."""
        self.streams.end_device(device.id)

    async def close(self) -> None:
        self.streams.shutdown()
        self._watch.cancel()


def build_telemetry(runtime: Runtime, engine: AsyncEngine, devices: DeviceAccess, *,
                    sync_progress: SyncProgress | None = None, clock: Clock = utcnow, **timers: float) -> Telemetry:
    """The stream's service, its registry ended at once by revocations and by shutdown."""
    streams = TelemetryStreams()
    revocations = getattr(runtime.authenticator, "revocations", None)
    if revocations is not None:
        revocations.subscribe(streams.revoked)
    seen = [devices.seen] if hasattr(devices, "seen") else []
    points = SqlResumePoints(engine)
    service = TelemetryService(streams, points, GrpcTracking(runtime.peers), devices,
                               runtime.authenticator.principal, clock=clock, sync_progress=sync_progress,
                               seen=seen, charge=getattr(devices, "charge", None), batches=ProtoBatches(), **timers)
    return Telemetry(service, streams, points, streams.end_on(runtime.shutdown))
