"""Redis for shared counters and caches, with an in-process fallback when Redis is absent or down.

The system keeps working without Redis: limits then hold per process instead of per cluster,
which is the documented degradation, not an error.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class LocalCounters:
    """Fixed-window counters in this process."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, window_seconds: int, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        start, count = self._windows.get(key, (now, 0))
        if now - start >= window_seconds:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        if len(self._windows) > 100_000:  # bound memory under a flood of distinct keys
            self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window_seconds}
        return count

    def peek(self, key: str, window_seconds: int, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        start, count = self._windows.get(key, (now, 0))
        return 0 if now - start >= window_seconds else count

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)


class Counters:
    """Fixed-window counters shared through Redis; falls back to LocalCounters on any Redis error."""

    def __init__(self, redis_url: str = "") -> None:
        self._local = LocalCounters()
        self._redis = None
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(redis_url, socket_timeout=0.2, socket_connect_timeout=0.2)
        self._warned = False

    async def hit(self, key: str, window_seconds: int) -> int:
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, window_seconds, nx=True)
                    count, _ = await pipe.execute()
                return int(count)
            except Exception as exc:  # Redis down: degrade to per-process limits
                self._warn(exc)
        return self._local.hit(key, window_seconds)

    async def peek(self, key: str, window_seconds: int) -> int:
        if self._redis is not None:
            try:
                value = await self._redis.get(key)
                return int(value or 0)
            except Exception as exc:
                self._warn(exc)
        return self._local.peek(key, window_seconds)

    async def reset(self, key: str) -> None:
        if self._redis is not None:
            try:
                await self._redis.delete(key)
            except Exception as exc:
                self._warn(exc)
        self._local.reset(key)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("redis unavailable, using in-process counters: %s", type(exc).__name__)
            self._warned = True


class TtlCache:
    """A small in-process cache with per-entry expiry."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._items: dict[object, tuple[float, object]] = {}

    def get(self, key: object) -> object | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: object, value: object) -> None:
        if len(self._items) >= self.max_entries:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)
