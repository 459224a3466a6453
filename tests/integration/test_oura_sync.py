"""The Oura pull adapter against a local Oura server (tests/integration/oura_server.py, recorded
responses) and, for storing, a real Tracking on real PostgreSQL: paging by next_token, Retry-After
on 429, retries on 5xx, one token refresh on 401 then CREDENTIALS_EXPIRED, windows, and a second
sync over the same window that adds nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from healthmesh.tracking.v1 import tracking_service_pb2 as pb

from services.common.config import Settings
from services.common.peers import Peers
from services.device.oura.adapter import OuraAdapter
from services.device.oura.client import OuraClient, RetryPolicy, Tokens
from services.device.sync_domain import SyncCounts, SyncFailed, Window
from services.device.sync_sink import TrackingSyncSink
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.oura_server import PAGE2, Fault, FakeOura
from healthmesh.auth.v1 import auth_service_pb2_grpc
from healthmesh.tracking.v1 import tracking_service_pb2_grpc

from tests.integration.test_auth_service import bearer, register_and_login
from tests.integration.tracking_harness import start_tracking, stop_tracking

HEARTRATE = "/v2/usercollection/heartrate"
WINDOW = Window(dt.datetime(2025, 5, 25, tzinfo=dt.UTC), dt.datetime(2025, 6, 2, 12, tzinfo=dt.UTC))
POLICY = RetryPolicy(attempts=4, base_seconds=1.0, cap_seconds=8.0)


@pytest.fixture
async def tracking(migrated_dsn, auth_harness):
    """Tracking, a user of it, and Peers as Device's app makes them (Device calls Tracking so)."""
    server = await start_tracking(migrated_dsn, auth_harness.port)
    _, session = await register_and_login(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel))
    peers = Peers(Settings(service_token=SERVICE_TOKEN, tracking_addr=f"127.0.0.1:{server.port}"), "device")
    yield (tracking_service_pb2_grpc.TrackingServiceStub(server.channel), bearer(session.access_token),
           uuid.UUID(session.user.name.split("/")[1]), peers)
    await peers.close()
    await stop_tracking(server)


@pytest.fixture
def oura():
    with FakeOura() as server:
        yield server


class Waits:
    """The injected sleep: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


class MemorySink:
    def __init__(self) -> None:
        self.samples, self.sleeps = [], []

    async def write_samples(self, samples, counts: SyncCounts) -> None:
        self.samples.extend(samples)
        counts.add(len(samples), 0, 0, [])

    async def import_sleep(self, sleeps, counts: SyncCounts) -> None:
        self.sleeps.extend(sleeps)
        counts.add(len(sleeps), 0, 0, [])


async def pages(oura: FakeOura, tokens: Tokens, waits: Waits, refreshed: list | None = None) -> list[list[dict]]:
    async def on_refresh(new: Tokens) -> None:
        refreshed.append(new)

    async with httpx.AsyncClient(base_url=oura.url) as http:
        client = OuraClient(http, tokens, on_refresh if refreshed is not None else None, policy=POLICY, sleep=waits,
                            rand=lambda: 0.5)
        return [page async for page in client.pages(HEARTRATE, {"start_datetime": "2025-05-25T00:00:00Z",
                                                               "end_datetime": "2025-06-02T12:00:00Z"})]


async def test_heart_rate_is_read_page_by_page_with_the_bearer_token(oura):
    got = await pages(oura, Tokens("access-1"), Waits())
    assert [len(p) for p in got] == [4, 3]
    asked = oura.gets(HEARTRATE)
    assert [r.query.get("next_token") for r in asked] == [None, PAGE2]
    assert all(r.query["start_datetime"] == "2025-05-25T00:00:00Z" for r in asked)  # the window on every page
    assert {r.authorization for r in asked} == {"Bearer access-1"}


async def test_a_429_waits_as_long_as_retry_after_says_then_goes_on(oura):
    oura.faults = [Fault(HEARTRATE, 429, {"Retry-After": "7"}), Fault(HEARTRATE, 429, {"Retry-After": "0"})]
    waits = Waits()
    got = await pages(oura, Tokens("access-1"), waits)
    assert [len(p) for p in got] == [4, 3]
    # 7 s as told; then Retry-After 0 still backs off (jittered: 0.5 of 2 s at the second attempt)
    assert waits.seconds == [7.0, 1.0]


async def test_5xx_is_retried_with_growing_jittered_waits_and_then_fails_vendor_unavailable(oura):
    oura.faults = [Fault(HEARTRATE, 503), Fault(HEARTRATE, 500)]
    waits = Waits()
    assert [len(p) for p in await pages(oura, Tokens("access-1"), waits)] == [4, 3]
    assert waits.seconds == [0.5, 1.0]

    oura.faults = [Fault(HEARTRATE, 502) for _ in range(POLICY.attempts)]
    waits = Waits()
    with pytest.raises(SyncFailed) as failed:
        await pages(oura, Tokens("access-1"), waits)
    assert failed.value.reason == "VENDOR_UNAVAILABLE" and "HTTP 502" in failed.value.message
    assert waits.seconds == [0.5, 1.0, 2.0]  # attempts - 1 waits, then it gives up


async def test_a_401_renews_the_token_once_stores_it_and_goes_on(oura):
    oura.access_token = "access-2"  # the device's token is out of date
    oura.refresh_token = "refresh-1"
    refreshed: list[Tokens] = []
    got = await pages(oura, Tokens("access-1", "refresh-1"), Waits(), refreshed)
    assert [len(p) for p in got] == [4, 3]
    assert [(t.access_token, t.refresh_token) for t in refreshed] == [("access-3", "refresh-3")]
    token_calls = [r for r in oura.requests if r.path == "/oauth/token"]
    assert [r.form["refresh_token"] for r in token_calls] == ["refresh-1"]
    assert [r.authorization for r in oura.gets(HEARTRATE)] == ["Bearer access-1", "Bearer access-3", "Bearer access-3"]


@pytest.mark.parametrize("case", ["refresh refused", "no refresh token", "401 again after a refresh"])
async def test_a_401_that_a_refresh_does_not_cure_fails_credentials_expired(oura, case):
    tokens = Tokens("stale", "refresh-1")
    if case == "refresh refused":
        oura.refresh_works = False
    elif case == "no refresh token":
        tokens = Tokens("stale")
    else:
        oura.faults = [Fault(HEARTRATE, 401)]
        oura.faults.append(Fault(HEARTRATE, 401))
        tokens = Tokens("access-1", "refresh-1")
    with pytest.raises(SyncFailed) as failed:
        await pages(oura, tokens, Waits(), [])
    assert failed.value.reason == "CREDENTIALS_EXPIRED"
    assert len([r for r in oura.requests if r.path == "/oauth/token"]) == (0 if case == "no refresh token" else 1)


async def test_the_adapter_asks_each_collection_for_the_window_and_hands_every_row_on(oura):
    sink, counts = MemorySink(), SyncCounts()
    await OuraAdapter(oura.url, policy=POLICY, sleep=Waits()).pull(WINDOW, Tokens("access-1"), sink, counts)
    assert len(sink.samples) == 6 + 4 and len(sink.sleeps) == 1  # 6 heart rates, 2 days x (steps, energy)
    assert (counts.accepted, counts.rejected) == (11, 1)  # the heart-rate row without bpm
    daily = oura.gets("/v2/usercollection/daily_activity")[0].query
    assert daily == {"start_date": "2025-05-24", "end_date": "2025-06-03"}  # a day wider on each side
    assert oura.gets("/v2/usercollection/sleep")[0].query == daily


async def test_only_the_sample_types_asked_for_are_taken_in(oura):
    sink, counts = MemorySink(), SyncCounts()
    await OuraAdapter(oura.url, policy=POLICY).pull(WINDOW, Tokens("access-1"), sink, counts, types={"step_count"})
    assert {s.type for s in sink.samples} == {"step_count"} and len(sink.sleeps) == 1
    assert oura.gets(HEARTRATE) == []  # not even asked for
    assert (counts.accepted, counts.rejected) == (3, 0)  # 2 days of steps, 1 night


async def test_a_later_window_asks_for_its_times_and_the_days_around_them(oura):
    sink, counts = MemorySink(), SyncCounts()
    later = Window(dt.datetime(2025, 6, 1, 21, 12, tzinfo=dt.UTC), dt.datetime(2025, 6, 1, 23, 0, tzinfo=dt.UTC))
    await OuraAdapter(oura.url, policy=POLICY).pull(later, Tokens("access-1"), sink, counts)
    assert [s.value for s in sink.samples if s.type == "heart_rate"] == [52, 128, 80]  # from 21:15 on
    assert oura.gets("/v2/usercollection/daily_activity")[0].query == {"start_date": "2025-05-31",
                                                                       "end_date": "2025-06-02"}
    assert len(sink.sleeps) == 1  # the night that ends on June 2, whose day Oura's filter needs the end for


async def test_synced_into_tracking_twice_the_second_sync_adds_nothing_and_a_grown_day_is_updated(oura, tracking):
    stub, md, user_id, peers = tracking
    adapter = OuraAdapter(oura.url, policy=POLICY)
    device_id = uuid.uuid4()

    async def sync() -> SyncCounts:
        counts = SyncCounts()
        async with TrackingSyncSink(peers, user_id, device_id, "Oura Ring") as sink:
            await adapter.pull(WINDOW, Tokens("access-1"), sink, counts)
        return counts

    first = await sync()
    assert (first.accepted, first.duplicate, first.updated, first.rejected) == (11, 0, 0, 1)
    again = await sync()
    assert (again.accepted, again.duplicate, again.updated, again.rejected) == (0, 11, 0, 1)
    oura.daily_activity[1] = {**oura.daily_activity[1], "steps": 5000}  # June 2 grew since
    grown = await sync()
    assert (grown.accepted, grown.duplicate, grown.updated) == (0, 10, 1)

    heart = await stub.ListSamples(pb.ListSamplesRequest(parent="users/me", type="heart_rate", page_size=100),
                                   metadata=md)
    assert sorted(s.value for s in heart.samples) == [52, 55, 64, 71, 80, 128]
    assert {s.source for s in heart.samples} == {"Oura Ring"}
    steps = await stub.ListSamples(pb.ListSamplesRequest(parent="users/me", type="step_count"), metadata=md)
    assert sorted(s.value for s in steps.samples) == [5000, 9321]
    nights = await stub.ListSleepSessions(pb.ListSleepSessionsRequest(parent="users/me"), metadata=md)
    (night,) = nights.sleep_sessions
    assert night.deep_seconds == 16 * 300 and night.rem_seconds == 20 * 300 and night.awake_seconds == 6 * 300
    assert night.source == "Oura Ring" and night.utc_offset_minutes == 120
