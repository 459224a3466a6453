"""Redis for shared counters and caches, with an in-process fallback when Redis is absent or down.

The system keeps working without Redis: limits then hold per process instead of per cluster,
which is the documented degradation, not an error.
"""

from __future__ import annotations

import asyncio
import logging
import time

from services.common import metrics
from services.common.background import cancel

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

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000, name: str = "ttl") -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._items: dict[object, tuple[float, object]] = {}
        self._hit, self._miss = metrics.CACHE.labels(name, "hit").inc, metrics.CACHE.labels(name, "miss").inc

    def get(self, key: object) -> object | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            self._miss()
            return None
        self._hit()
        return hit[1]

    def put(self, key: object, value: object) -> None:
        if len(self._items) >= self.max_entries:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)


class Stamp:
    """The generation a cached value was read under, handed back to GenerationCache.put."""

    __slots__ = ("redis", "local")

    def __init__(self, redis: bytes | None, local: int) -> None:
        self.redis, self.local = redis, local



class GenerationCache:
    """Values per scope (a user), all dropped at once by bumping the scope's generation: one INCR.

    In Redis: `{prefix}:gen:{scope}` counts (no expiry, so a generation never starts over while a
    value tagged with an old number lives), and each value is stored tagged with the generation it
    was computed under; a read fetches both with one MGET and a tag that is not the current
    generation is a miss. A value computed while its scope was bumped is therefore never served.

    Without Redis, or while it fails, the same happens in this process, and values live at most
    `local_ttl_seconds` there: another replica's bumps cannot reach this process's memory, so the
    short life bounds how stale it can be. A bump that fails to reach Redis is kept and sent again
    before Redis is read next (and by a retry loop), so values stored in Redis before an outage
    are not served after it. Redis down is slower, never wrong.
    """

    def __init__(self, redis_url: str = "", prefix: str = "cache", local_ttl_seconds: float = 1.0,
                 max_local: int = 10_000, retry_seconds: float = 0.5) -> None:
        self._prefix = prefix
        self._hit, self._miss = metrics.CACHE.labels(prefix, "hit").inc, metrics.CACHE.labels(prefix, "miss").inc
        self._local_ttl = local_ttl_seconds
        self._max_local = max_local
        self._retry = retry_seconds
        self._generations: dict[str, int] = {}
        self._values: dict[tuple[str, str], tuple[float, int, bytes]] = {}
        self._pending: set[str] = set()  # scopes whose bump has not reached Redis yet
        self._down_until = 0.0
        self._warned = False
        self._redis = None
        self._flusher = None
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(redis_url, socket_timeout=0.2, socket_connect_timeout=0.2)

    def _gen_key(self, scope: str) -> str:
        return f"{self._prefix}:gen:{scope}"

    def _value_key(self, scope: str, key: str) -> str:
        return f"{self._prefix}:val:{scope}:{key}"

    def _redis_usable(self) -> bool:
        return self._redis is not None and time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._retry
        if not self._warned:
            log.warning("redis unavailable, caching in-process for now: %s", type(exc).__name__)
            self._warned = True

    async def _flush_pending(self) -> bool:
        """Sends the bumps Redis missed; False while it still fails."""
        if not self._pending:
            return True
        scopes = list(self._pending)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for scope in scopes:
                    pipe.incr(self._gen_key(scope))
                await pipe.execute()
        except Exception as exc:
            self._failed(exc)
            return False
        self._pending.difference_update(scopes)
        return True

    async def get(self, scope: str, key: str) -> tuple[bytes | None, Stamp]:
        local_gen = self._generations.get(scope, 0)
        if self._redis_usable() and await self._flush_pending():
            try:
                generation, tagged = await self._redis.mget(self._gen_key(scope), self._value_key(scope, key))
            except Exception as exc:
                self._failed(exc)
            else:
                generation = generation or b"0"
                if tagged is not None:
                    tag, _, value = tagged.partition(b"|")
                    if tag == generation:
                        self._hit()
                        return value, Stamp(generation, local_gen)
                self._miss()
                return None, Stamp(generation, local_gen)
        hit = self._values.get((scope, key))
        if hit is not None and hit[0] > time.monotonic() and hit[1] == local_gen:
            self._hit()
            return hit[2], Stamp(None, local_gen)
        self._miss()
        return None, Stamp(None, local_gen)

    async def put(self, scope: str, key: str, value: bytes, ttl_seconds: float, stamp: Stamp) -> None:
        if stamp.redis is not None and self._redis_usable():
            try:
                await self._redis.set(self._value_key(scope, key), stamp.redis + b"|" + value,
                                      px=max(1, int(ttl_seconds * 1000)))
                return
            except Exception as exc:
                self._failed(exc)
        if stamp.local != self._generations.get(scope, 0):
            return  # bumped while it was computed
        if len(self._values) >= self._max_local:
            now = time.monotonic()
            self._values = {k: v for k, v in self._values.items() if v[0] > now}
            if len(self._values) >= self._max_local:
                self._values.clear()
        self._values[(scope, key)] = (time.monotonic() + min(ttl_seconds, self._local_ttl), stamp.local, value)

    async def invalidate(self, scope: str) -> None:
        """Drops every value of the scope, here at once and in Redis with one INCR."""
        self._generations[scope] = self._generations.get(scope, 0) + 1
        if self._redis is None:
            return
        self._pending.add(scope)
        if self._redis_usable() and await self._flush_pending():
            return
        self._retry_later()

    def _retry_later(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            return

        async def flush() -> None:
            while self._pending:
                await asyncio.sleep(self._retry)
                await self._flush_pending()

        self._flusher = asyncio.get_running_loop().create_task(flush())

    async def close(self) -> None:
        await cancel(self._flusher)
        if self._redis is not None:
            await self._redis.aclose()
