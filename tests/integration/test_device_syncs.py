"""Device's syncs (services/device/sync_service.py) on real PostgreSQL, with the local Oura server
for pulls and a fake of the open streams for push devices, on a clock the test moves: a sync
ends SUCCEEDED or FAILED with failure_reason, retries back off, expired credentials put the device
in ERROR, a push sync waits for a stream and fails after its deadline, RetrySync keeps the window,
auto_sync schedules, and a worker that died leaves its sync to the next."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from services.common.config import Settings
from services.common.db import create_engine, migrate
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.ids import uuid7
from services.device.domain import Credentials, Device, SyncSettings
from services.device.domain import State as DeviceState
from services.device.oura.adapter import OuraAdapter
from services.device.oura.client import RetryPolicy
from services.device.sync_domain import MAX_ATTEMPTS, OVERLAP, PUSH_DEADLINE, State, SyncCounts, Trigger
from services.device.sync_repository import SqlSyncRepository
from services.device.sync_service import SyncService
from tests.integration.oura_server import Fault, FakeOura

NOW = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)  # the recorded Oura data is of the days before
HEARTRATE = "/v2/usercollection/heartrate"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


class Registry:
    """The registry's side, as the Devices port: devices in device.devices (the sync SQL updates
    them there) and credentials in memory."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.credentials_of: dict[uuid.UUID, Credentials] = {}

    async def add(self, integration: str, auto_sync: bool = False, interval: int = 3600,
                  credentials: Credentials | None = None) -> uuid.UUID:
        device_id, user_id = uuid.uuid4(), uuid.uuid4()
        await self._conn.execute(
            "INSERT INTO device.devices (user_id, id, display_name, sample_source, integration, auto_sync, "
            "sync_interval_seconds, backfill_days, state, create_time, update_time) "
            "VALUES ($1, $2, 'Ring', 'Oura Ring', $3, $4, $5, 10, 1, $6, $6)",
            user_id, device_id, integration, auto_sync, interval, NOW - dt.timedelta(days=30))
        if credentials:
            self.credentials_of[device_id] = credentials
        return device_id

    async def user_of(self, device_id: uuid.UUID) -> uuid.UUID:
        return await self._conn.fetchval("SELECT user_id FROM device.devices WHERE id = $1", device_id)

    async def get(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Device | None:
        r = await self._conn.fetchrow("SELECT * FROM device.devices WHERE user_id = $1 AND id = $2", user_id,
                                      device_id)
        if r is None:
            return None
        return Device(
            id=r["id"], user_id=r["user_id"], display_name=r["display_name"], manufacturer="", model="",
            device_type=0, hardware_id="", firmware_version="", capabilities=(), sample_source=r["sample_source"],
            integration=r["integration"], sync_settings=SyncSettings(r["auto_sync"], r["sync_interval_seconds"], (),
                                                                     r["backfill_days"]),
            state=DeviceState(r["state"]), has_credentials=device_id in self.credentials_of,
            last_sync_time=r["last_sync_time"], last_seen_time=r["last_seen_time"], battery_percent=None,
            create_time=r["create_time"], update_time=r["update_time"])

    async def credentials(self, user_id, device_id) -> Credentials | None:
        return self.credentials_of.get(device_id)

    async def replace_credentials(self, user_id, device_id, credentials: Credentials) -> None:
        self.credentials_of[device_id] = credentials

    async def synced(self, user_id, device_id, at: dt.datetime) -> None:
        await self._conn.execute("UPDATE device.devices SET last_sync_time = $3 WHERE user_id = $1 AND id = $2",
                                 user_id, device_id, at)

    async def set_error(self, user_id, device_id, now: dt.datetime) -> bool:
        return await self._conn.fetchval("UPDATE device.devices SET state = 3 WHERE user_id = $1 AND id = $2 "
                                         "AND state = 1 RETURNING true", user_id, device_id) or False


class MemorySink:
    def __init__(self) -> None:
        self.samples = []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        pass

    async def write_samples(self, samples, counts: SyncCounts) -> None:
        self.samples.extend(samples)
        counts.add(len(samples), 0, 0, [])

    async def import_sleep(self, sleeps, counts: SyncCounts) -> None:
        counts.add(len(sleeps), 0, 0, [])


class Streams:
    def __init__(self) -> None:
        self.open: set[uuid.UUID] = set()
        self.asked = []

    async def request_sync(self, user_id, device_id, request) -> bool:
        if device_id in self.open:
            self.asked.append(request)
            return True
        return False


@pytest.fixture
async def world(pg_dsn):
    await migrate(pg_dsn, "device")
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute("DELETE FROM device.syncs")  # the workers here claim any due sync, other tests' too
    engine = create_engine(Settings(DATABASE_URL=pg_dsn))
    clock, registry, streams = Clock(), Registry(conn), Streams()
    with FakeOura() as oura:
        waits = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        adapter = OuraAdapter(oura.url, policy=RetryPolicy(attempts=2), sleep=sleep)
        service = SyncService(SqlSyncRepository(engine), registry, {"oura": adapter}, lambda device: MemorySink(),
                              streams, clock, rand=lambda: 0.5)
        yield service, registry, streams, clock, oura, conn
    await engine.dispose()
    await conn.close()


async def run_due(service: SyncService) -> int:
    ran = 0
    while await service.run_one():
        ran += 1
    return ran


async def test_an_oura_sync_runs_to_succeeded_and_the_next_window_starts_an_overlap_before_it(world):
    service, registry, _, clock, oura, conn = world
    device = await registry.add("oura", credentials=Credentials(access_token="access-1"))
    user = await registry.user_of(device)
    sync = await service.trigger(user, device, None)
    assert (sync.state, sync.trigger) == (State.PENDING, Trigger.MANUAL)
    assert (sync.window.start, sync.window.end) == (NOW - dt.timedelta(days=10), NOW)  # backfill_days
    assert await run_due(service) == 1
    done = await service.get(user, device, sync.id)
    assert done.state == State.SUCCEEDED and done.failure_reason == ""
    assert (done.counts.accepted, done.counts.rejected) == (11, 1)
    assert done.start_time == NOW and done.end_time == NOW and done.attempts == 1
    assert (await registry.get(user, device)).last_sync_time == NOW

    clock.now = NOW + dt.timedelta(hours=2)
    later = await service.trigger(user, device, None)
    assert later.window.start == NOW - OVERLAP and later.window.end == clock.now
    assert [s.id for s in await service.list(user, device, None, 10, None)] == [later.id, sync.id]
    assert [s.id for s in await service.list(user, device, State.SUCCEEDED, 10, None)] == [sync.id]


async def test_a_device_has_one_open_sync_and_a_request_id_returns_the_first(world):
    service, registry, *_ = world
    device = await registry.add("oura", credentials=Credentials(access_token="access-1"))
    user = await registry.user_of(device)
    first = await service.trigger(user, device, None, request_id="7d8e4c1a-0000-4000-8000-000000000001")
    assert (await service.trigger(user, device, None)).id == first.id
    await run_due(service)
    again = await service.trigger(user, device, None, request_id="7d8e4c1a-0000-4000-8000-000000000001")
    assert again.id == first.id and again.state == State.SUCCEEDED


async def test_bad_calls(world):
    service, registry, _, clock, *_ = world
    device = await registry.add("oura")
    user = await registry.user_of(device)
    with pytest.raises(InvalidArgument):
        await service.trigger(user, device, NOW + dt.timedelta(minutes=1))
    with pytest.raises(InvalidArgument):
        await service.trigger(user, device, NOW - dt.timedelta(days=366))
    with pytest.raises(NotFound):
        await service.trigger(user, uuid.uuid4(), None)
    with pytest.raises(NotFound):
        await service.get(user, device, uuid.uuid4())


async def test_expired_credentials_fail_the_sync_put_the_device_in_error_and_a_retry_keeps_the_window(world):
    service, registry, _, clock, oura, conn = world
    device = await registry.add("oura", credentials=Credentials(access_token="stale", refresh_token="refresh-1"))
    user = await registry.user_of(device)
    oura.refresh_works = False
    sync = await service.trigger(user, device, NOW - dt.timedelta(days=3))
    await run_due(service)
    failed = await service.get(user, device, sync.id)
    assert failed.state == State.FAILED and failed.failure_reason == "CREDENTIALS_EXPIRED" and failed.failure_message
    assert (await registry.get(user, device)).state == DeviceState.ERROR

    with pytest.raises(NotFound):
        await service.retry(user, device, uuid.uuid4())
    oura.refresh_works = True
    retried = await service.retry(user, device, sync.id)
    assert (retried.trigger, retried.retry_of, retried.window) == (Trigger.RETRY, sync.id, sync.window)
    await run_due(service)
    assert (await service.get(user, device, retried.id)).state == State.SUCCEEDED
    assert registry.credentials_of[device].access_token == "access-2"  # the renewed token was stored
    with pytest.raises(FailedPrecondition):
        await service.retry(user, device, retried.id)  # SUCCEEDED: nothing to retry


async def test_vendor_outages_back_off_with_jitter_and_fail_after_the_last_attempt(world):
    service, registry, _, clock, oura, _ = world
    device = await registry.add("oura", credentials=Credentials(access_token="access-1"))
    user = await registry.user_of(device)
    oura.faults = [Fault(HEARTRATE, 503) for _ in range(2 * MAX_ATTEMPTS)]  # two tries per run, every run
    sync = await service.trigger(user, device, None)
    waits = []
    for attempt in range(1, MAX_ATTEMPTS):
        assert await run_due(service) == 1
        pending = await service.get(user, device, sync.id)
        assert (pending.state, pending.attempts, pending.failure_reason) == (State.PENDING, attempt, "")
        assert await run_due(service) == 0  # not before its backoff
        row = await world[5].fetchrow("SELECT run_after FROM device.syncs WHERE id = $1", sync.id)
        waits.append((row["run_after"] - clock.now).total_seconds())
        clock.now = row["run_after"]
    assert waits == [15.0, 30.0, 60.0, 120.0]  # 0.5 (the jitter) x 30 s x 2^(attempt-1)
    assert await run_due(service) == 1
    failed = await service.get(user, device, sync.id)
    assert (failed.state, failed.failure_reason, failed.attempts) == (State.FAILED, "VENDOR_UNAVAILABLE", MAX_ATTEMPTS)
    assert (await registry.get(user, device)).state == DeviceState.ACTIVE  # not the user's to fix


async def test_a_bug_in_a_run_ends_the_sync_failed_internal_and_a_crash_loop_ends_it_interrupted(world):
    service, registry, streams, clock, _, conn = world

    class Broken:
        async def pull(self, *args, **kwargs) -> None:
            raise KeyError("a bug")

    broken = SyncService(service._repo, registry, {"oura": Broken()}, lambda device: MemorySink(), streams, clock)
    device = await registry.add("oura", credentials=Credentials(access_token="access-1"))
    user = await registry.user_of(device)
    sync = await broken.trigger(user, device, None)
    assert await broken.run_one()
    failed = await service.get(user, device, sync.id)
    assert (failed.state, failed.failure_reason) == (State.FAILED, "INTERNAL")

    looping = await service.trigger(user, device, None)
    await conn.execute("UPDATE device.syncs SET attempts = $2 WHERE id = $1", looping.id, MAX_ATTEMPTS)
    await run_due(service)  # the claim makes it MAX_ATTEMPTS + 1 runs
    assert (await service.get(user, device, looping.id)).failure_reason == "INTERRUPTED"


async def test_a_pull_device_without_credentials_fails_credentials_missing(world):
    service, registry, *_ = world
    device = await registry.add("oura")
    user = await registry.user_of(device)
    sync = await service.trigger(user, device, None)
    await run_due(service)
    assert (await service.get(user, device, sync.id)).failure_reason == "CREDENTIALS_MISSING"


async def test_a_push_sync_goes_over_the_open_stream_and_ends_with_the_last_batch(world):
    service, registry, streams, clock, *_ = world
    device = await registry.add("push")
    user = await registry.user_of(device)
    streams.open.add(device)
    sync = await service.trigger(user, device, None)
    await run_due(service)
    (asked,) = streams.asked
    assert asked.sync == sync.name and (asked.start, asked.end) == (sync.window.start, sync.window.end)
    assert (await service.get(user, device, sync.id)).state == State.RUNNING
    assert await service.batch_stored(user, device, sync.id, 10, 2, 0, 1, False, [(3, "OUT_OF_RANGE", "bpm 900")])
    assert await service.batch_stored(user, device, sync.id, 5, 0, 1, 0, True)
    done = await service.get(user, device, sync.id)
    assert done.state == State.SUCCEEDED
    assert (done.counts.accepted, done.counts.duplicate, done.counts.updated, done.counts.rejected) == (15, 2, 1, 1)
    assert done.counts.errors == [(3, "OUT_OF_RANGE", "bpm 900")]
    assert not await service.batch_stored(user, device, sync.id, 1, 0, 0, 0, True)  # over: not counted again
    assert (await registry.get(user, device)).last_sync_time == NOW


async def test_a_push_sync_waits_for_a_stream_and_fails_device_disconnected_after_the_deadline(world):
    service, registry, streams, clock, *_ = world
    device = await registry.add("push")
    user = await registry.user_of(device)
    sync = await service.trigger(user, device, None)
    await run_due(service)
    assert (await service.get(user, device, sync.id)).state == State.PENDING  # no stream yet
    clock.now += dt.timedelta(seconds=1)  # before its next look (POLL)
    streams.open.add(device)
    assert await run_due(service) == 0
    await service.stream_opened(user, device)  # due at once, not at the next poll
    assert await run_due(service) == 1 and len(streams.asked) == 1

    other = await registry.add("push")
    other_user = await registry.user_of(other)
    lost = await service.trigger(other_user, other, None)
    clock.now += PUSH_DEADLINE
    await run_due(service)
    failed = await service.get(other_user, other, lost.id)
    assert (failed.state, failed.failure_reason) == (State.FAILED, "DEVICE_DISCONNECTED")
    # the first one was sent but its device never finished: it times out the same way
    clock.now += PUSH_DEADLINE
    await run_due(service)
    assert (await service.get(user, device, sync.id)).failure_reason == "DEVICE_DISCONNECTED"


async def test_auto_sync_devices_get_a_scheduled_sync_every_interval(world):
    service, registry, _, clock, *_ = world
    device = await registry.add("oura", auto_sync=True, interval=900, credentials=Credentials(access_token="access-1"))
    manual = await registry.add("oura", credentials=Credentials(access_token="access-1"))
    user = await registry.user_of(device)
    repo = service._repo
    assert await repo.schedule(clock.now, uuid7, OVERLAP, PUSH_DEADLINE) >= 1
    assert await repo.schedule(clock.now, uuid7, OVERLAP, PUSH_DEADLINE) == 0  # one open already
    (scheduled,) = await service.list(user, device, None, 10, None)
    assert scheduled.trigger == Trigger.SCHEDULED and scheduled.window.start == NOW - dt.timedelta(days=10)
    assert await service.list(await registry.user_of(manual), manual, None, 10, None) == []
    await run_due(service)
    clock.now += dt.timedelta(seconds=899)
    await repo.schedule(clock.now, uuid7, OVERLAP, PUSH_DEADLINE)
    assert len(await service.list(user, device, None, 10, None)) == 1  # not yet
    clock.now += dt.timedelta(seconds=1)
    await repo.schedule(clock.now, uuid7, OVERLAP, PUSH_DEADLINE)
    newest = (await service.list(user, device, None, 10, None))[0]
    assert newest.trigger == Trigger.SCHEDULED and newest.window.start == NOW - OVERLAP


async def test_a_paused_device_is_not_synced_and_its_open_syncs_are_cancelled(world):
    service, registry, _, clock, _, conn = world
    device = await registry.add("push")
    user = await registry.user_of(device)
    sync = await service.trigger(user, device, None)
    assert await service.device_stopped(user, device) == 1
    cancelled = await service.get(user, device, sync.id)
    assert cancelled.state == State.CANCELLED
    await conn.execute("UPDATE device.devices SET state = 2 WHERE id = $1", device)
    with pytest.raises(FailedPrecondition):
        await service.trigger(user, device, None)
    with pytest.raises(FailedPrecondition):
        await service.retry(user, device, sync.id)


async def test_a_sync_whose_worker_died_is_run_by_the_next_worker_once_its_lease_ran_out(world):
    service, registry, _, clock, _, conn = world
    device = await registry.add("oura", credentials=Credentials(access_token="access-1"))
    user = await registry.user_of(device)
    sync = await service.trigger(user, device, None)
    repo = service._repo
    assert await repo.claim("a-worker-that-died", service.LEASE, clock.now) is not None
    assert await run_due(service) == 0  # held
    clock.now += service.LEASE + dt.timedelta(seconds=1)
    assert await run_due(service) == 1
    done = await service.get(user, device, sync.id)
    assert done.state == State.SUCCEEDED and done.attempts == 2
