"""Issue 18 with two processes per service behind Envoy (auth, tracking, insight and device each 2):
a revoked session or API key is refused by every process at once, even where its token was
verified and cached; Insight's cached recommendations are new on both processes once Tracking's
outbox has invalidated them; a newer telemetry stream on the other Device process ends the older
one ABORTED.

Which process answered is read from Envoy's per-host counters (/clusters): Envoy round-robins
the public calls over a service's processes, and services call each other's first process
directly, so a host's rq_total moves only for the calls a test makes through Envoy."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import signal
import time
import uuid

import asyncpg
import grpc
import httpx
import pytest
import redis

from client.telemetry import Backoff, TelemetryClient, TelemetryError
from services.common.cache import GenerationCache
from services.insight.analytics.service import SCOPE_RECOMMENDATIONS
from services.runner.mesh import Mesh, temporary_mesh
from tests.e2e.conftest import auth, new_user
from tests.e2e.test_error_shape import error_info
from tests.e2e.test_metrics import sample
from tests.e2e.test_telemetry_faults import columns, device_of

pytestmark = pytest.mark.e2e

REPLICAS = {"auth": 2, "tracking": 2, "insight": 2, "device": 2}
CALLS = 20  # per phase: round-robin gives each of two processes about half
WAIT_SECONDS = 30  # a bound for polling loops, not a target
LOCAL_TTL_SECONDS = inspect.signature(GenerationCache).parameters["local_ttl_seconds"].default
READS = {"auth": "/v1/users/me", "tracking": "/v1/users/me/samples"}


@pytest.fixture(scope="module")
def mesh():
    with temporary_mesh("healthmesh-replicas-issue18-", replicas=REPLICAS) as m:
        yield m


@pytest.fixture
def http(mesh: Mesh):
    with httpx.Client(base_url=mesh.endpoints()["http"], timeout=30) as client:
        yield client


def _processes(mesh: Mesh, service: str) -> dict[int, str]:
    """port -> child name, for every process of `service`."""
    return {mesh.ports[service]: service,
            **{p: n for n, p in mesh.replica_ports.items() if n.rsplit("-", 1)[0] == service}}


def per_process(mesh: Mesh, service: str, counter: str) -> dict[str, int]:
    """Envoy's `counter` (rq_total, rq_active) for each process of `service`."""
    ports = _processes(mesh, service)
    text = httpx.get(f"{mesh.endpoints()['envoy_admin']}/clusters", timeout=10).text
    counts = {name: 0 for name in ports.values()}
    for line in text.splitlines():
        parts = line.split("::")  # cluster::127.0.0.1:PORT::counter::N
        if len(parts) == 4 and parts[0] == service and parts[2] == counter:
            counts[ports[int(parts[1].rsplit(":", 1)[1])]] += int(parts[3])
    assert len(counts) == 2, counts
    return counts


class Served:
    """The calls each process of the given services took through Envoy while the block ran."""

    def __init__(self, mesh: Mesh, *services: str) -> None:
        self.mesh, self.services = mesh, services

    def __enter__(self) -> Served:
        self.before = {s: per_process(self.mesh, s, "rq_total") for s in self.services}
        return self

    def __exit__(self, *exc) -> None:
        after = {s: per_process(self.mesh, s, "rq_total") for s in self.services}
        self.moved = {s: {n: after[s][n] - self.before[s][n] for n in after[s]} for s in self.services}

    def assert_every_process(self) -> None:
        for service, moved in self.moved.items():
            assert all(n > 0 for n in moved.values()), (service, moved)


def assert_all(http: httpx.Client, headers: dict, expected: int, reason: str = "") -> None:
    """CALLS reads on Auth and on Tracking, each answered `expected` (and, for 401, `reason`)."""
    for i in range(CALLS):
        for service, path in READS.items():
            reply = http.get(path, headers=headers)
            assert reply.status_code == expected, (i, service, reply.status_code, reply.text)
            if reason:
                assert error_info(reply.json())["reason"] == reason, (i, service, reply.text)


# 1. Revocation: at once, on every process, cached verification or not.

@pytest.mark.parametrize("how", ["logout", "revokeSessions"])
def test_an_ended_session_is_refused_at_once_by_both_processes_of_auth_and_tracking(mesh, http, how):
    """Every process that answered 200 holds the token's verified claims (AccessTokenVerifier keeps
    each token that verified, by digest, until its exp): the revocation must beat that cache."""
    session = new_user(http)
    headers = auth(session)
    with Served(mesh, "auth", "tracking") as before:
        assert_all(http, headers, 200)  # each process verified the token once, then kept its claims
    before.assert_every_process()

    if how == "logout":
        ended = http.post("/v1/auth:logout", json={"refreshToken": session["refreshToken"]})
    else:
        ended = http.post("/v1/users/me:revokeSessions", json={}, headers=headers)
    assert ended.status_code == 200, ended.text

    with Served(mesh, "auth", "tracking") as after:  # the very next calls: no waiting for it to spread
        assert_all(http, headers, 401, "CREDENTIAL_REVOKED")
    after.assert_every_process()
    assert http.post("/v1/auth:refresh", json={"refreshToken": session["refreshToken"]}).status_code == 401


def test_a_deleted_api_key_is_refused_at_once_by_both_processes_of_auth_and_tracking(mesh, http):
    session = new_user(http)
    created = http.post("/v1/users/me/apiKeys", json={"displayName": "exporter"}, headers=auth(session))
    assert created.status_code == 200, created.text
    by_key = {"authorization": f"Bearer {created.json()['secret']}"}
    with Served(mesh, "auth", "tracking") as before:
        assert_all(http, by_key, 200)  # each process resolved the key once and keeps it (api_key_cache_seconds)
    before.assert_every_process()

    deleted = http.delete(f"/v1/{created.json()['apiKey']['name']}", headers=auth(session))
    assert deleted.status_code == 200, deleted.text

    with Served(mesh, "auth", "tracking") as after:  # within the key cache's life, on every process
        assert_all(http, by_key, 401, "CREDENTIAL_REVOKED")
    after.assert_every_process()
    assert_all(http, auth(session), 200)  # the user's own session is untouched


# 2. Insight's cache, shared by both processes.

def _water(day: dt.date, hour: int, ml: float) -> dict:
    return {"type": "water", "startTime": f"{day.isoformat()}T{hour:02d}:00:00Z", "utcOffsetMinutes": 0,
            "value": ml, "unit": "mL", "source": "e2e"}


def _write(http: httpx.Client, headers: dict, samples: list[dict]) -> None:
    reply = http.post("/v1/users/me/samples:batchCreate", headers=headers, json={"samples": samples})
    assert reply.status_code == 200 and reply.json().get("rejected", 0) == 0, reply.text[:500]


def _recommended(http: httpx.Client, headers: dict) -> list[str]:
    reply = http.get("/v1/users/me/recommendations?days=30", headers=headers)
    assert reply.status_code == 200, reply.text
    return [r["id"] for r in reply.json().get("recommendations", [])]


async def _outbox_rows(mesh: Mesh, user_id: str) -> int:
    conn = await asyncpg.connect(mesh.database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM tracking.outbox WHERE user_id = $1", uuid.UUID(user_id))
    finally:
        await conn.close()


def delivered(mesh: Mesh, user_id: str) -> None:
    """Waits until Tracking's outbox has no row of the user's left: Insight answered OK to each,
    and it answers only after its listeners, the cache invalidation among them, have run."""
    deadline = time.monotonic() + WAIT_SECONDS
    while asyncio.run(_outbox_rows(mesh, user_id)):
        assert time.monotonic() < deadline, "Tracking's outbox never delivered the user's changes"
        time.sleep(0.05)


def test_both_insight_processes_answer_the_new_recommendations_once_the_outbox_delivered(mesh, http):
    session = new_user(http)
    headers = auth(session)
    user_id = session["user"]["name"].split("/")[1]
    today = dt.datetime.now(dt.UTC).date()  # the mesh runs on the real clock; the user's zone is UTC
    days = [today - dt.timedelta(days=i) for i in range(10)]
    store = redis.Redis.from_url(mesh.endpoints()["redis_url"])
    generation_key = f"insight:gen:{user_id}:{SCOPE_RECOMMENDATIONS}"  # GenerationCache's keys

    def generation() -> int:
        return int(store.get(generation_key) or 0)

    _write(http, headers, [_water(d, 12, 1000) for d in days])  # 1 L a day: too little
    delivered(mesh, user_id)
    with Served(mesh, "insight") as old:
        answers = [tuple(_recommended(http, headers)) for _ in range(CALLS)]
    old.assert_every_process()
    assert set(answers) == {("low_water",)}, answers
    assert store.keys(f"insight:val:{user_id}:{SCOPE_RECOMMENDATIONS}:*"), "the answer was not cached in Redis"

    settled = generation()
    _write(http, headers, [_water(d, 18, 1500) for d in days])  # 2.5 L a day: enough
    delivered(mesh, user_id)  # Insight's first process took the change; the replica was not told
    assert generation() > settled  # ...but the generation both read in Redis moved on
    with Served(mesh, "insight") as new:
        answers = [tuple(_recommended(http, headers)) for _ in range(CALLS)]
    new.assert_every_process()
    assert set(answers) == {()}, answers  # no process kept the old answer


# 3. A newer telemetry stream on the other Device process.

async def _open(mesh: Mesh, token: str, device: str) -> tuple[TelemetryClient, str]:
    """A stream for `device`, and the Device process Envoy gave it (the one whose rq_total moved)."""
    before = per_process(mesh, "device", "rq_total")
    client = TelemetryClient(mesh.endpoints()["grpc"], device, token, backoff=Backoff(initial=0.05, maximum=0.5))
    await client.start()
    after = per_process(mesh, "device", "rq_total")
    [host] = [n for n in after if after[n] > before[n]]
    assert sum(after.values()) == sum(before.values()) + 1, (before, after)
    return client, host


async def _ended_by_newer_stream(client: TelemetryClient) -> TelemetryError:
    """Sends batches until the stream ends; each ack makes it write its resume point, where a
    newer stream on another process shows (the ack itself may come first)."""
    deadline = time.monotonic() + WAIT_SECONDS
    first = 10
    while time.monotonic() < deadline:
        try:
            await client.send(columns=columns(first, 10))
            await asyncio.wait_for(client.flush(), WAIT_SECONDS)
        except TelemetryError as exc:
            return exc
        first += 10
    raise AssertionError("the older stream was never ended")


async def test_a_newer_stream_on_the_other_device_process_ends_the_older_aborted(mesh):
    """Round-robin usually puts the second stream on the other process; when it lands on the same
    one (the in-process case, ABORTED as well), a new device tries again."""
    hosts: list[tuple[str, str]] = []
    for _attempt in range(6):
        _, token, device = device_of(mesh)
        older, older_host = await _open(mesh, token, device)
        try:
            await older.send(columns=columns(0, 10))
            await older.flush()  # acked, and its resume point written under its epoch
            newer, newer_host = await _open(mesh, token, device)
            hosts.append((older_host, newer_host))
            ended = await _ended_by_newer_stream(older)
            assert ended.code == grpc.StatusCode.ABORTED, ended
            assert "newer stream" in str(ended), ended
            assert older.totals.reconnects == 0  # ABORTED is final: the client did not open a third stream
            await newer.send(columns=columns(1000, 10))
            await newer.close()  # the newer stream goes on: acked, then ended OK
            assert newer.totals.accepted == 10 and newer.totals.reconnects == 0 and not newer.unacked()
        finally:
            await older.abort()
        if older_host != newer_host:
            break
    print(f"(older, newer) stream's Device process per attempt: {hosts}")
    assert any(a != b for a, b in hosts), f"the second stream never landed on the other process: {hosts}"


# 4. Insight's cache without Redis (last: it stops Redis for a while).

def _insight_cache(mesh: Mesh, result: str) -> float:
    """Insight's cache lookups with `result` (hit, miss), summed over both processes (either port)."""
    reply = httpx.get(f"http://127.0.0.1:{mesh.ports['insight'] + 1000}/metrics", timeout=10)
    assert reply.status_code == 200
    return sample(reply.text, "healthmesh_cache_lookups_total", 'cache="insight"', f'result="{result}"')


def test_with_redis_stopped_each_insight_process_is_stale_at_most_its_local_ttl(mesh, http):
    """Redis unanswering (SIGSTOP): each Insight process caches in its own memory, where the
    replica, which the outbox does not tell, may keep an old answer, but at most local_ttl_seconds.
    Redis is put back (SIGCONT) at the end."""
    session = new_user(http)
    headers = auth(session)
    user_id = session["user"]["name"].split("/")[1]
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=i) for i in range(10)]
    _write(http, headers, [_water(d, 12, 1000) for d in days])
    delivered(mesh, user_id)
    redis_server = mesh.children["redis"]
    redis_server.send_signal(signal.SIGSTOP)
    try:
        hits = _insight_cache(mesh, "hit")
        with Served(mesh, "insight") as old:
            answers = [tuple(_recommended(http, headers)) for _ in range(CALLS)]
        old.assert_every_process()
        assert set(answers) == {("low_water",)}, answers
        # Redis cannot answer, so any hit is in-process (how many depends on the pace: a copy lives 1 s).
        assert _insight_cache(mesh, "hit") > hits
        _write(http, headers, [_water(d, 18, 1500) for d in days])
        delivered(mesh, user_id)  # the first process dropped its answer; the replica was not told
        time.sleep(LOCAL_TTL_SECONDS)  # the documented bound on the replica's old answer, then none is left
        with Served(mesh, "insight") as new:
            answers = [tuple(_recommended(http, headers)) for _ in range(CALLS)]
        new.assert_every_process()
        assert set(answers) == {()}, answers
    finally:
        redis_server.send_signal(signal.SIGCONT)
