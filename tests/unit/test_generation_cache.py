"""GenerationCache against a real Redis (the embedded 6.2 and the one on PATH, as the counter
tests start them) and on its own: one INCR drops a scope, a value computed across a bump is never
served, and Redis stopping mid-run makes it slower, never wrong and never failing."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time

import pytest
import redis.asyncio as aioredis

from services.common import cache as cache_module
from services.common.cache import GenerationCache
from services.runner.mesh import real_clock_env
from tests.unit.test_counters_redis import _binaries


class RedisServer:
    def __init__(self, binary: str, tmp_path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(tmp_path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=real_clock_env())
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise
                time.sleep(0.05)


@pytest.fixture(params=_binaries() or [None])
def redis_server(request, tmp_path):
    if request.param is None:
        pytest.skip("no redis-server here")
    server = RedisServer(request.param, tmp_path)
    yield server
    server.proc.send_signal(signal.SIGCONT)
    server.proc.kill()
    server.proc.wait(10)


@pytest.fixture
def redis_url(redis_server):
    return redis_server.url


async def _fill(cache: GenerationCache, scope: str, key: str, value: bytes, ttl: float = 60.0) -> None:
    _, stamp = await cache.get(scope, key)
    await cache.put(scope, key, value, ttl, stamp)


async def test_values_live_in_redis_and_one_incr_drops_a_scope(redis_url):
    cache = GenerationCache(redis_url, prefix="t")
    direct = aioredis.from_url(redis_url)
    try:
        await _fill(cache, "u1", "a", b"one")
        await _fill(cache, "u2", "a", b"two")
        assert (await cache.get("u1", "a"))[0] == b"one"
        assert await direct.get("t:val:u1:a") == b"0|one"  # in Redis, tagged with the generation
        await cache.invalidate("u1")
        assert int(await direct.get("t:gen:u1")) == 1
        assert (await cache.get("u1", "a"))[0] is None
        assert (await cache.get("u2", "a"))[0] == b"two"  # another scope is untouched
        other = GenerationCache(redis_url, prefix="t")  # another replica sees the same
        await _fill(other, "u1", "a", b"again")
        assert (await cache.get("u1", "a"))[0] == b"again"
        await other.invalidate("u1")
        assert (await cache.get("u1", "a"))[0] is None
        await other.close()
    finally:
        await cache.close()
        await direct.aclose()


async def test_a_value_computed_across_a_bump_is_not_served(redis_url):
    cache = GenerationCache(redis_url, prefix="t")
    try:
        _, stamp = await cache.get("u", "k")
        await cache.invalidate("u")  # the data changed while the value was computed
        await cache.put("u", "k", b"stale", 60, stamp)
        assert (await cache.get("u", "k"))[0] is None
    finally:
        await cache.close()


async def test_redis_stopping_mid_run_is_slower_never_wrong(redis_server):
    redis_url = redis_server.url
    cache = GenerationCache(redis_url, prefix="t", local_ttl_seconds=30, retry_seconds=0.05)
    direct = aioredis.from_url(redis_url)
    try:
        await _fill(cache, "u", "k", b"before")
        assert (await cache.get("u", "k"))[0] == b"before"
        redis_server.proc.send_signal(signal.SIGSTOP)  # Redis hangs: every call now times out
        try:
            assert (await cache.get("u", "k"))[0] is None  # no answer from Redis: a miss, not an error
            await cache.invalidate("u")  # kept to send again
            await _fill(cache, "u", "k", b"during")  # cached in this process meanwhile
            assert (await cache.get("u", "k"))[0] == b"during"
            await cache.invalidate("u")
            assert (await cache.get("u", "k"))[0] is None  # and dropped here at once
        finally:
            redis_server.proc.send_signal(signal.SIGCONT)
        # Redis is back with the value stored before it stopped; the bumps it missed reach it
        # before it is read again, so that value is never served.
        for _ in range(200):
            if await direct.get("t:gen:u") not in (None, b"0"):
                break
            await asyncio.sleep(0.05)
        assert (await cache.get("u", "k"))[0] is None
        assert int(await direct.get("t:gen:u")) >= 1
    finally:
        await cache.close()
        await direct.aclose()


async def test_redis_killed_then_absent_keeps_answering(redis_server):
    cache = GenerationCache(redis_server.url, prefix="t", local_ttl_seconds=30, retry_seconds=0.05)
    try:
        await _fill(cache, "u", "k", b"v")
        redis_server.proc.kill()
        redis_server.proc.wait(10)
        for _ in range(3):  # refused connections: misses, never errors
            assert (await cache.get("u", "k"))[0] is None
        await _fill(cache, "u", "k2", b"local")
        assert (await cache.get("u", "k2"))[0] == b"local"
        await cache.invalidate("u")
        assert (await cache.get("u", "k2"))[0] is None
    finally:
        await cache.close()


async def test_without_redis_values_are_kept_briefly_in_the_process(monkeypatch):
    now = [100.0]
    cache = GenerationCache("", local_ttl_seconds=1.0)
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: now[0])
    try:
        await _fill(cache, "u", "k", b"v", ttl=3600)
        assert (await cache.get("u", "k"))[0] == b"v"
        now[0] += 1.01  # at most local_ttl_seconds: other replicas' changes cannot reach here
        assert (await cache.get("u", "k"))[0] is None
    finally:
        await cache.close()


async def test_the_local_fallback_is_bounded():
    cache = GenerationCache("", max_local=3)
    for i in range(10):
        await _fill(cache, "u", str(i), b"x")
    assert [(await cache.get("u", str(i)))[0] for i in range(10)].count(b"x") <= 3
    await cache.close()
