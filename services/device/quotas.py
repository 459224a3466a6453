"""Write quotas: samples per window, per device and per user, shared through Redis when there is
one (per process otherwise, the documented degradation of services/common/cache.py).

A write takes its samples from both windows at once and gives them back when either is over,
so a refused write costs the caller nothing. Beyond a quota the answer is RESOURCE_EXHAUSTED
with RetryInfo: the seconds until the window that refused ends.
"""

from __future__ import annotations

import logging
import math
import time
import uuid

from services.common.errors import ResourceExhausted
from services.device.domain import Quota

log = logging.getLogger(__name__)

# Adds `amount` to each key and starts its window on first use; returns each new count and its
# window's time left. Both keys in one call: a streamed batch takes its quota on the ack's path.
_TAKE = """
local out = {}
for _, key in ipairs(KEYS) do
  local count = redis.call('INCRBY', key, ARGV[1])
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, ARGV[2]); ttl = tonumber(ARGV[2]) end
  out[#out + 1] = count
  out[#out + 1] = ttl
end
return out
"""
_GIVE_BACK = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('DECRBY', key, ARGV[1]) end
end
return 0
"""


class LocalWindows:
    """Fixed windows in this process: key -> (window start, count)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._clock = clock

    def take(self, key: str, amount: int, window_seconds: int) -> tuple[int, float]:
        now = self._clock()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= window_seconds:
            start, count = now, 0
        count += amount
        self._windows[key] = (start, count)
        if len(self._windows) > 100_000:  # bound memory under a flood of distinct keys
            self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window_seconds}
        return count, start + window_seconds - now

    def give_back(self, key: str, amount: int) -> None:
        start, count = self._windows.get(key, (0.0, 0))
        if count > 0:
            self._windows[key] = (start, max(0, count - amount))


class WriteQuotas:
    def __init__(self, quota: Quota, redis_url: str = "", local: LocalWindows | None = None) -> None:
        self.quota = quota
        self._local = local or LocalWindows()
        self._redis = None
        self._warned = False
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(redis_url, socket_timeout=0.2, socket_connect_timeout=0.2)
            self._take = self._redis.register_script(_TAKE)
            self._give = self._redis.register_script(_GIVE_BACK)

    async def _take_all(self, keys: list[str], amount: int) -> list[tuple[int, float]]:
        """(count, seconds left) of each key's window after adding `amount` to it."""
        window = self.quota.window_seconds
        if self._redis is not None:
            try:
                flat = await self._take(keys=keys, args=[amount, window * 1000])
                return [(int(flat[i]), int(flat[i + 1]) / 1000) for i in range(0, len(flat), 2)]
            except Exception as exc:  # Redis down: per-process windows
                self._warn(exc)
        return [self._local.take(key, amount, window) for key in keys]

    async def _give_back(self, keys: list[str], amount: int) -> None:
        if self._redis is not None:
            try:
                await self._give(keys=keys, args=[amount])
                return
            except Exception as exc:
                self._warn(exc)
        for key in keys:
            self._local.give_back(key, amount)

    async def take(self, user_id: uuid.UUID, device_id: uuid.UUID, samples: int) -> None:
        """Counts `samples` against the device's and the user's quota; RESOURCE_EXHAUSTED (and
        nothing counted) when that would pass either."""
        q = self.quota
        keys = [f"device:quota:d:{device_id}", f"device:quota:u:{user_id}"]
        (device_count, device_left), (user_count, user_left) = await self._take_all(keys, samples)
        over = [(left, what, limit) for count, left, what, limit in (
            (device_count, device_left, "device", q.per_device), (user_count, user_left, "user", q.per_user))
            if count > limit]
        if not over:
            return
        await self._give_back(keys, samples)
        left, what, limit = max(over)
        log.info("device write quota: %s over %d samples per %d s", what, limit, q.window_seconds)
        raise ResourceExhausted(f"the {what}'s write quota of {limit:,} samples per {q.window_seconds} s is used up; "
                                f"send again in {math.ceil(left)} s", "WRITE_QUOTA_EXCEEDED",
                                retry_after_seconds=max(1, math.ceil(left)))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("redis unavailable, device quotas per process: %s", type(exc).__name__)
            self._warned = True
