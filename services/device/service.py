"""Device's registry use cases: devices, uploads, health, and what a delete sets off.

Ports: `SampleTypes` (Tracking's catalog, for capabilities), `SampleWriter` (samples to
Tracking's WriteSamples), `WriteQuotas`, and the hooks a delete runs (end the device's streams,
cancel its syncs). Deleted devices' scoped API keys are revoked by KeyRevocations, from a queue
written with the delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Protocol

from services.common import checks
from services.common.background import cancel
from services.common.clock import Clock, utcnow
from services.common.errors import (
    AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted, Violations,
)
from services.common.ids import uuid7
from services.common.principal import Principal
from services.device import domain
from services.device.domain import (
    MAX_BATCH, MAX_DEVICES, STALE_AFTER, Credentials, Device, DeviceFields, HealthReport, HealthStatus, State,
    WriteCounts,
)
from services.device.quotas import WriteQuotas
from services.device.repository import DeviceRepository, HardwareIdTaken

log = logging.getLogger(__name__)


class SampleTypes(Protocol):
    async def known(self) -> Collection[str]:
        """The sample types of Tracking's catalog."""


class SampleWriter(Protocol):
    async def write(self, device: Device, samples: Sequence[object], kept: Sequence[int]) -> WriteCounts:
        """Writes samples[i] for i in kept to Tracking as one batch; counts indexed within `kept`."""


class KeyRevoker(Protocol):
    async def revoke_device_keys(self, user_id: uuid.UUID, device_name: str) -> int: ...


DeletedHook = Callable[[Device], Awaitable[None] | None]


def device_not_found(user_id: uuid.UUID, device_id: uuid.UUID) -> NotFound:
    return NotFound(f"users/{user_id}/devices/{device_id} does not exist", "DEVICE_NOT_FOUND")


def paused(device: Device) -> FailedPrecondition:
    return FailedPrecondition(f"{device.name} is PAUSED: its data is refused until it is ACTIVE", "DEVICE_PAUSED")


class DeviceService:
    def __init__(self, repo: DeviceRepository, sample_types: SampleTypes, writer: SampleWriter,
                 quotas: WriteQuotas, known_device_types: Collection[int], clock: Clock = utcnow,
                 key_revocations: KeyRevocations | None = None) -> None:
        self._repo = repo
        self._types = sample_types
        self._writer = writer
        self._quotas = quotas
        self._device_types = known_device_types
        self.clock = clock
        self._revocations = key_revocations
        self.deleted_hooks: list[DeletedHook] = []  # telemetry ends the streams, syncs cancel theirs
        self.paused_hooks: list[DeletedHook] = []  # run when a device is set PAUSED (syncs cancel theirs)

    # Devices.

    async def get(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Device:
        device = await self._repo.get(user_id, device_id)
        if device is None:
            raise device_not_found(user_id, device_id)
        return device

    async def create(self, user_id: uuid.UUID, fields: DeviceFields) -> Device:
        device = domain.new_device(user_id, uuid7(), fields, await self._types.known(), self._device_types,
                                   self.clock())
        if await self._repo.count(user_id) >= MAX_DEVICES:
            raise ResourceExhausted(f"a user may register at most {MAX_DEVICES} devices", "TOO_MANY_DEVICES")
        try:
            return await self._repo.add(device, fields.credentials)
        except HardwareIdTaken:
            raise AlreadyExists(f"a device with hardware_id {fields.hardware_id!r} is already registered",
                                "HARDWARE_ID_EXISTS") from None

    async def list(self, user_id: uuid.UUID, state: int, device_type: int, stale: bool, limit: int,
                   after: uuid.UUID | None) -> list[Device]:
        stale_before = self.clock() - STALE_AFTER if stale else None
        return await self._repo.list(user_id, state, device_type, stale_before, limit, after)

    async def update(self, user_id: uuid.UUID, device_id: uuid.UUID, paths: Sequence[str],
                     fields: DeviceFields) -> Device:
        v = Violations()
        checks.update_mask(paths, domain.UPDATABLE_FIELDS, domain.OUTPUT_ONLY_FIELDS | domain.IMMUTABLE_FIELDS,
                           "Device", v)
        v.raise_if_any()
        current = await self.get(user_id, device_id)
        changed = domain.apply_update(current, paths, fields, await self._types.known(), self._device_types,
                                      self.clock())
        saved = await self._repo.save(changed, fields.credentials, "credentials" in paths)
        if saved is None:
            raise device_not_found(user_id, device_id)
        if saved.state == State.PAUSED and current.state != State.PAUSED:
            await _run_hooks(self.paused_hooks, saved, "pausing")
        return saved

    async def delete(self, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
        device = await self.get(user_id, device_id)
        if not await self._repo.delete(user_id, device_id, self.clock()):
            raise device_not_found(user_id, device_id)
        await _run_hooks(self.deleted_hooks, device, "deleting")
        if self._revocations is not None:
            self._revocations.wake()

    async def credentials(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Credentials | None:
        """The device's credentials in the clear, for the syncs that pull with them."""
        return await self._repo.credentials(user_id, device_id)

    async def seen(self, device: Device) -> None:
        """The device sent something (a stream opened, a heartbeat, a batch)."""
        await self._repo.seen(device.user_id, device.id, self.clock())

    async def synced(self, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
        """A sync of the device succeeded now: last_sync_time and last_seen_time."""
        await self._repo.synced(user_id, device_id, self.clock())

    async def sync_failed_for_user(self, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
        """A sync failed for a reason the user must fix (expired credentials): the device goes to
        ERROR until its credentials or state are updated."""
        await self._repo.set_error(user_id, device_id, self.clock())

    # Access for the device's own calls, which a device-scoped API key may make.

    async def for_device_call(self, principal: Principal, user_id: uuid.UUID, device_id: uuid.UUID) -> Device:
        """The device, when the caller may send its data: PERMISSION_DENIED for a key scoped to
        another device, NOT_FOUND for an unknown or deleted device."""
        scoped = principal.device
        if scoped and scoped != f"users/{user_id}/devices/{device_id}":
            raise PermissionDenied(f"this API key is bound to {scoped} and may not act for another device",
                                   "DEVICE_SCOPED_KEY")
        return await self.get(user_id, device_id)

    async def charge(self, user_id: uuid.UUID, device_id: uuid.UUID, samples: int) -> None:
        """Counts written samples against the device's and the user's quota (RESOURCE_EXHAUSTED
        with a retry delay beyond either), for every path that writes: uploads, streams, syncs."""
        await self._quotas.take(user_id, device_id, samples)

    # Uploads.

    async def upload(self, principal: Principal, user_id: uuid.UUID, device_id: uuid.UUID, types: Sequence[str],
                     samples: Sequence[object]) -> WriteCounts:
        if not samples:
            raise InvalidArgument.field("samples", "must hold at least one sample")
        if len(samples) > MAX_BATCH:
            raise InvalidArgument.field("samples", f"must hold at most {MAX_BATCH:,} samples")
        device = await self.for_device_call(principal, user_id, device_id)
        if device.state == State.PAUSED:
            raise paused(device)
        await self.charge(user_id, device_id, len(samples))
        kept, own = domain.split_by_capability(device, types)
        sent = await self._writer.write(device, samples, kept) if kept else WriteCounts()
        await self.seen(device)
        return domain.merge_counts(sent, kept, own)

    # Health.

    async def report_health(self, principal: Principal, user_id: uuid.UUID, device_id: uuid.UUID,
                            report: HealthReport) -> tuple[HealthReport, HealthStatus]:
        device = await self.for_device_call(principal, user_id, device_id)
        now = self.clock()
        stored = domain.check_report(report, now)
        if not await self._repo.report_health(user_id, device_id, stored):
            raise device_not_found(user_id, device_id)
        return stored, domain.health_status(stored, now, device.create_time, now)

    async def health(self, user_id: uuid.UUID, device_id: uuid.UUID) -> tuple[HealthReport | None, HealthStatus]:
        device = await self.get(user_id, device_id)
        report = await self._repo.health(user_id, device_id)
        return report, domain.health_status(report, device.last_seen_time, device.create_time, self.clock())


async def _run_hooks(hooks: list[DeletedHook], device: Device, what: str) -> None:
    for hook in hooks:
        try:
            result = hook(device)
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # noqa: BLE001 - the change is stored; what holds on to the device checks again
            log.warning("device: a hook after %s a device failed", what, exc_info=True)


class KeyRevocations:
    """Revokes deleted devices' scoped API keys through Auth, from the queue the delete wrote: at
    once after a delete, and every `poll_seconds` for what Auth could not take then."""

    def __init__(self, repo: DeviceRepository, revoker: KeyRevoker, poll_seconds: float = 30.0) -> None:
        self._repo = repo
        self._revoker = revoker
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def wake(self) -> None:
        self._wake.set()

    async def drain(self) -> int:
        """Revokes what is queued; how many devices' keys were revoked."""
        done = 0
        for user_id, device_id in await self._repo.pending_key_revocations(100):
            await self._revoker.revoke_device_keys(user_id, f"users/{user_id}/devices/{device_id}")
            await self._repo.key_revocation_done(user_id, device_id)
            done += 1
        return done

    async def _run(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception as exc:  # noqa: BLE001 - Auth or the database away: the queue waits
                log.warning("device: revoking deleted devices' keys failed (%s); retrying", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()

    async def close(self) -> None:
        await cancel(self._task)
