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

    def undo(self, key: str) -> None:
        start, count = self._windows.get(key, (0.0, 0))
        if count > 0:
            self._windows[key] = (start, count - 1)

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)


# One round trip, atomic in Redis: count, and start the window on the first hit. (EXPIRE ... NX
# would say the same but needs Redis 7; the embedded Redis is 6.2, where it failed every call.)
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
# Takes back one hit without bringing an expired key back to life (a bare DECR would, forever, at -1).
_UNDO = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


class Counters:
    """Fixed-window counters shared through Redis; falls back to LocalCounters on any Redis error.

    A limit is checked by hitting first and comparing the count it returns (never peek, then
    hit): the count is taken in one atomic step, so concurrent callers cannot all pass at once.
    """

    def __init__(self, redis_url: str = "") -> None:
        self._local = LocalCounters()
        self._redis = None
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(redis_url, socket_timeout=0.2, socket_connect_timeout=0.2)
            self._hit = self._redis.register_script(_HIT)
            self._undo = self._redis.register_script(_UNDO)
        self._warned = False

    async def hit(self, key: str, window_seconds: int) -> int:
        """Counts one more in the key's window and returns the count, this hit included."""
        if self._redis is not None:
            try:
                return int(await self._hit(keys=[key], args=[window_seconds]))
            except Exception as exc:  # Redis down: degrade to per-process limits
                self._warn(exc)
        return self._local.hit(key, window_seconds)

    async def undo(self, key: str) -> None:
        """Takes back one hit (one that turned out not to count, such as a login that succeeded)."""
        if self._redis is not None:
            try:
                await self._undo(keys=[key])
                return
            except Exception as exc:
                self._warn(exc)
        self._local.undo(key)

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
