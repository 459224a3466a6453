"""Syncs' use cases: TriggerSync, GetSync, ListSyncs, RetrySync, and the workers that run them.

A sync is a job in device.syncs (services/common/jobs.py: claimed with FOR UPDATE SKIP LOCKED,
under a lease renewed by heartbeats). The device's `integration` decides how it runs:
- one that pulls (`oura`): the adapter fetches the window with the device's credentials into
  Tracking. A failure that may pass (the vendor or Tracking away) runs again after an
  exponential backoff with jitter, MAX_ATTEMPTS runs in all; expired credentials fail it at once
  and put the device in ERROR.
- `push`: the device is asked over its open telemetry stream (a sync_request) and answers with
  batches naming the sync; the last one (sync_complete) ends it SUCCEEDED. With no stream open
  it stays PENDING until one opens, and fails DEVICE_DISCONNECTED after PUSH_DEADLINE.
Devices with auto_sync get a SCHEDULED sync every sync_interval_seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

from services.common import jobs, telemetry
from services.common.clock import Clock, utcnow
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.ids import uuid7
from services.device.domain import INTEGRATIONS, Credentials, Device
from services.device.domain import State as DeviceState
from services.device.oura.client import Tokens
from services.device.sync_domain import (
    MAX_ATTEMPTS, MAX_BACKFILL_DAYS, OVERLAP, PUSH_DEADLINE, RETRIABLE_STATES, RETRYABLE, State, Sync, SyncCounts,
    SyncFailed, SyncRequest, Trigger, Window, backoff, window_for,
)
from services.device.sync_repository import SqlSyncRepository, SyncJob

log = logging.getLogger(__name__)

# Why a sync failed, when it is the user's to fix: the device goes to ERROR with it.
USER_MUST_FIX = frozenset({"CREDENTIALS_EXPIRED", "CREDENTIALS_MISSING"})


class Devices(Protocol):
    """What syncs need of the registry (services/device/repository.py)."""

    async def get(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Device | None: ...

    async def credentials(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Credentials | None: ...

    async def replace_credentials(self, user_id: uuid.UUID, device_id: uuid.UUID, credentials: Credentials) -> None: ...

    async def synced(self, user_id: uuid.UUID, device_id: uuid.UUID, at: dt.datetime) -> None: ...

    async def set_error(self, user_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> bool: ...


class Streams(Protocol):
    """The open telemetry streams (services/device/telemetry*.py): sends a sync_request on the
    device's stream; False when the device has none open here."""

    async def request_sync(self, user_id: uuid.UUID, device_id: uuid.UUID, request: SyncRequest) -> bool: ...


class PullAdapter(Protocol):
    async def pull(self, window: Window, tokens: Tokens, sink, counts: SyncCounts,
                   on_refresh: Callable[[Tokens], Awaitable[None]] | None = None,
                   types: Collection[str] = ()) -> None: ...


class NoStreams:
    """Until the telemetry streams are wired: no device has one open."""

    async def request_sync(self, user_id: uuid.UUID, device_id: uuid.UUID, request: SyncRequest) -> bool:
        return False


class SyncService:
    LEASE = dt.timedelta(seconds=60)
    POLL = dt.timedelta(seconds=5)  # a push sync without a stream looks for one again after this

    def __init__(self, repo: SqlSyncRepository, devices: Devices, adapters: dict[str, PullAdapter],
                 sinks: Callable[[Device], object], streams: Streams | None = None, clock: Clock = utcnow,
                 rand: Callable[[], float] = random.random) -> None:
        self._repo = repo
        self._devices = devices
        self._adapters = adapters
        self._sinks = sinks
        self.streams: Streams = streams or NoStreams()
        self._now = clock
        self._rand = rand
        self._owner = jobs.worker_id()
        self._wake = asyncio.Event()

    # The RPCs' use cases.

    async def _device(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Device:
        device = await self._devices.get(user_id, device_id)
        if device is None:
            raise NotFound(f"users/{user_id}/devices/{device_id} does not exist")
        return device

    async def trigger(self, user_id: uuid.UUID, device_id: uuid.UUID, start: dt.datetime | None,
                      request_id: str = "") -> Sync:
        device = await self._device(user_id, device_id)
        now = self._now()
        if start is not None and start > now:
            raise InvalidArgument.field("start_time", "is in the future")
        if start is not None and start < now - dt.timedelta(days=MAX_BACKFILL_DAYS):
            raise InvalidArgument.field("start_time", f"is more than {MAX_BACKFILL_DAYS} days back")
        if device.state == DeviceState.PAUSED:
            raise FailedPrecondition("the device is paused; set it ACTIVE to sync it", "DEVICE_PAUSED")
        window = window_for(now, device.last_sync_time, device.sync_settings.backfill_days, OVERLAP, start)
        return await self._add(device, Trigger.MANUAL, window, None, request_id, now)

    async def retry(self, user_id: uuid.UUID, device_id: uuid.UUID, sync_id: uuid.UUID, request_id: str = "") -> Sync:
        """A new sync over the window of a FAILED or CANCELLED one."""
        old = await self.get(user_id, device_id, sync_id)
        device = await self._device(user_id, device_id)
        if old.state not in RETRIABLE_STATES:
            raise FailedPrecondition(f"the sync is {old.state.name}; only a FAILED or CANCELLED one is retried",
                                     "SYNC_NOT_RETRIABLE")
        if device.state == DeviceState.PAUSED:
            raise FailedPrecondition("the device is paused; set it ACTIVE to sync it", "DEVICE_PAUSED")
        return await self._add(device, Trigger.RETRY, old.window, old.id, request_id, self._now())

    async def _add(self, device: Device, trigger: Trigger, window: Window, retry_of: uuid.UUID | None,
                   request_id: str, now: dt.datetime) -> Sync:
        sync = Sync(id=uuid7(), user_id=device.user_id, device_id=device.id, state=State.PENDING, trigger=trigger,
                    window=window, counts=SyncCounts(), failure_reason="", failure_message="", retry_of=retry_of,
                    attempts=0, create_time=now, start_time=None, end_time=None, update_time=now)
        stored, added = await self._repo.create(sync, request_id, now + PUSH_DEADLINE, telemetry.traceparent())
        if added:
            self._wake.set()
        return stored

    async def get(self, user_id: uuid.UUID, device_id: uuid.UUID, sync_id: uuid.UUID) -> Sync:
        await self._device(user_id, device_id)
        found = await self._repo.get(user_id, device_id, sync_id)
        if found is None:
            raise NotFound(f"users/{user_id}/devices/{device_id}/syncs/{sync_id} does not exist")
        return found

    async def list(self, user_id: uuid.UUID, device_id: uuid.UUID, state: State | None, limit: int,
                   before: uuid.UUID | None) -> list[Sync]:
        await self._device(user_id, device_id)
        return await self._repo.list(user_id, device_id, state, limit, before)

    # What the registry and the streams tell syncs.

    async def device_stopped(self, user_id: uuid.UUID, device_id: uuid.UUID) -> int:
        """The device was paused or deleted: its open syncs are cancelled."""
        return await self._repo.cancel_open(user_id, device_id, self._now())

    async def stream_opened(self, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
        """A telemetry stream opened: a sync waiting for one runs now."""
        if await self._repo.due_now(user_id, device_id, self._now()):
            self._wake.set()

    async def batch_stored(self, user_id: uuid.UUID, device_id: uuid.UUID, sync_id: uuid.UUID, accepted: int,
                           duplicate: int, updated: int, rejected: int, complete: bool,
                           errors: list[tuple[int, str, str]] = ()) -> bool:
        """A batch a push device sent for a sync was stored; False when the sync is no longer open
        (it timed out or was cancelled: the samples are stored all the same)."""
        now = self._now()
        sync = await self._repo.add_batch(user_id, device_id, sync_id, accepted, duplicate, updated, rejected,
                                          list(errors), complete, now)
        if sync is not None and sync.state == State.SUCCEEDED:
            await self._devices.synced(user_id, device_id, now)
        return sync is not None

    # The workers.

    async def run_jobs(self, stop: asyncio.Event, poll_seconds: float = 2.0) -> None:
        def failed(job: SyncJob, exc: Exception) -> None:
            log.error("sync %s failed", job.sync.id, exc_info=exc)

        await jobs.run_worker(lambda: self._repo.claim(self._owner, self.LEASE, self._now()), self._run,
                              lambda job: self._repo.extend_lease(job.sync, self._owner, None),
                              stop, self._wake, poll_seconds, failed, name="device.sync")

    async def run_schedule(self, stop: asyncio.Event, every_seconds: float = 30.0) -> None:
        """Adds the SCHEDULED syncs that are due, every `every_seconds`, until `stop`."""
        while not stop.is_set():
            try:
                if await self._repo.schedule(self._now(), uuid7, OVERLAP, PUSH_DEADLINE):
                    self._wake.set()
            except Exception as exc:  # the database away for a moment: the next round tries again
                log.warning("scheduling syncs failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)

    async def run_one(self) -> bool:
        """Claims and runs one due sync, if any (what the worker loop does, for tests and tools)."""
        job = await self._repo.claim(self._owner, self.LEASE, self._now())
        if job is None:
            return False
        await self._run(job)
        return True

    async def _run(self, job: SyncJob) -> None:
        sync, now = job.sync, self._now()
        device = await self._devices.get(sync.user_id, sync.device_id)
        if device is None or device.state == DeviceState.PAUSED:
            await self._repo.finish(sync, State.CANCELLED, sync.counts, now, owner=self._owner)
            return
        integration = INTEGRATIONS.get(device.integration)
        if integration is not None and integration.pulls:
            await self._pull(sync, device)
        else:
            await self._push(sync, device, job.deadline)

    async def _push(self, sync: Sync, device: Device, deadline: dt.datetime) -> None:
        now = self._now()
        if now >= deadline:
            await self._fail(sync, sync.counts, SyncFailed(
                "DEVICE_DISCONNECTED", "the device did not open a telemetry stream and send the data in time"))
            return
        request = SyncRequest(sync.name, sync.window.start, sync.window.end, device.sync_settings.sample_types)
        if await self.streams.request_sync(sync.user_id, sync.device_id, request):
            # RUNNING until its last batch; a new deadline for the device to send it all.
            await self._repo.wait(sync, State.RUNNING, now + PUSH_DEADLINE, self._owner, now,
                                  deadline=now + PUSH_DEADLINE)
        else:
            await self._repo.wait(sync, State.PENDING, min(now + self.POLL, deadline), self._owner, now)

    async def _pull(self, sync: Sync, device: Device) -> None:
        adapter = self._adapters.get(device.integration)
        credentials = await self._devices.credentials(sync.user_id, sync.device_id)
        counts = SyncCounts()
        if sync.attempts > MAX_ATTEMPTS:  # its workers kept stopping mid-run (killed, or the lease lost)
            await self._fail(sync, counts, SyncFailed("INTERRUPTED", "the sync was interrupted too often; retry it"))
            return
        if adapter is None:
            await self._fail(sync, counts, SyncFailed("INTEGRATION_UNAVAILABLE",
                                                      f"no adapter runs {device.integration} syncs here"))
            return
        if credentials is None or not credentials.access_token:
            await self._fail(sync, counts, SyncFailed("CREDENTIALS_MISSING",
                                                      "the device has no access token; set its credentials"))
            return

        async def on_refresh(tokens: Tokens) -> None:
            await self._devices.replace_credentials(sync.user_id, sync.device_id, Credentials(
                access_token=tokens.access_token, refresh_token=tokens.refresh_token, expire_time=tokens.expire_time,
                api_key=credentials.api_key, extra=credentials.extra))

        async def renew() -> None:
            await self._repo.extend_lease(sync, self._owner, self._now() + self.LEASE)
            await self._repo.save_counts(sync, counts, self._owner, self._now())

        try:
            async with jobs.heartbeat(self.LEASE, renew), self._sinks(device) as sink:
                await adapter.pull(
                    sync.window, Tokens(credentials.access_token, credentials.refresh_token, credentials.expire_time),
                    sink, counts, on_refresh, device.sync_settings.sample_types or device.capabilities)
        except SyncFailed as exc:
            await self._fail(sync, counts, exc)
            return
        except Exception:  # a bug: said once, and the sync ends FAILED rather than run again and again
            log.exception("sync %s stopped on an internal error", sync.id)
            await self._fail(sync, counts, SyncFailed("INTERNAL", "the sync stopped on an internal error; retry it"))
            return
        now = self._now()
        if await self._repo.finish(sync, State.SUCCEEDED, counts, now, owner=self._owner) is not None:
            await self._devices.synced(sync.user_id, sync.device_id, now)
        log.info("sync %s succeeded: %d accepted, %d duplicate, %d updated, %d rejected", sync.id, counts.accepted,
                 counts.duplicate, counts.updated, counts.rejected)

    async def _fail(self, sync: Sync, counts: SyncCounts, exc: SyncFailed) -> None:
        now = self._now()
        if exc.reason in RETRYABLE and sync.attempts < MAX_ATTEMPTS:
            wait = backoff(sync.attempts, self._rand)
            log.warning("sync %s: %s, run %d of %d again in %.0f s", sync.id, exc.reason, sync.attempts + 1,
                        MAX_ATTEMPTS, wait.total_seconds())
            await self._repo.wait(sync, State.PENDING, now + wait, self._owner, now)
            return
        log.warning("sync %s failed: %s", sync.id, exc.reason)
        await self._repo.finish(sync, State.FAILED, counts, now, exc.reason, exc.message, owner=self._owner)
        if exc.reason in USER_MUST_FIX:
            await self._devices.set_error(sync.user_id, sync.device_id, now)
