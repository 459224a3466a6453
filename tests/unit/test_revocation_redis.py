"""The Redis fast path of revocations against a real Redis (the embedded one and the one on PATH):
a revocation Auth publishes reaches a watcher without any read from Auth, and Redis going away
costs nothing but the fast path."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from services.common.errors import Unauthenticated
from services.common.principal import Principal
from services.common.revocation import Kind, Revocation, RevocationPublisher, RevocationWatcher
from tests.unit.test_counters_redis import redis_url  # noqa: F401 (the fixture)
from tests.unit.test_revocation import NOW, FakeAuth

WAIT_LIMIT_SECONDS = 10  # a bound for the loops, not a target
ALICE = Principal("user", "u-alice", "users/u-alice", session="s-1")


async def until(condition) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def test_a_published_revocation_reaches_the_watcher_over_redis(redis_url):  # noqa: F811
    auth = FakeAuth()
    watcher = RevocationWatcher(auth, dt.timedelta(minutes=16), redis_url=redis_url, staleness_seconds=0,
                                poll_seconds=3600, clock=lambda: NOW)
    publisher = RevocationPublisher(redis_url)
    await watcher.start()
    try:
        await until(lambda: watcher.current)  # subscribed and caught up: current with no recent read
        reads = len(auth.reads)
        await publisher.publish([Revocation(1, Kind.SESSION, "u-alice", "s-1", NOW)])
        await until(lambda: watcher.set.revoked(ALICE) is Kind.SESSION)
        assert len(auth.reads) == reads  # it came over Redis, not from a read of Auth
    finally:
        await publisher.close()
        await watcher.close()


async def test_a_watcher_whose_redis_is_away_is_not_current_and_reads_again():
    auth = FakeAuth()
    watcher = RevocationWatcher(auth, dt.timedelta(minutes=16), redis_url="redis://127.0.0.1:1/0",
                                staleness_seconds=0, poll_seconds=3600, clock=lambda: NOW)
    await watcher.start()
    try:
        assert not watcher.current  # nothing listens on port 1
        auth.revoke(Kind.SESSION, "u-alice", "s-1")
        reads = len(auth.reads)
        with pytest.raises(Unauthenticated) as err:
            await watcher.check(ALICE)
        assert err.value.reason == "CREDENTIAL_REVOKED" and len(auth.reads) == reads + 1
    finally:
        await watcher.close()
