"""The Oura pull adapter: one sync's window fetched from the Oura API v2 and handed to a sink
that stores it in Tracking, page by page (memory stays at a page whatever the window).

Heart rate is asked for by time (start_datetime/end_datetime), daily activity and sleep by day
(start_date/end_date), a day wider than the window on each side: Oura filters those by their
`day` with an exclusive start (sleep) or reads a bare end_date as its midnight (daily activity),
so the window's own days would miss today's night and today's steps. Tracking's natural keys and
the sleep periods' request ids make the extra days, and the overlap of a later sync, count as
duplicates or updates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

import httpx

from services.device.oura import mapping
from services.device.oura.client import OuraClient, RetryPolicy, Tokens
from services.device.sync_domain import PulledSample, PulledSleep, SyncCounts, Window

INTEGRATION = "oura"
DAY = dt.timedelta(days=1)


class SyncSink(Protocol):
    async def write_samples(self, samples: list[PulledSample], counts: SyncCounts) -> None: ...

    async def import_sleep(self, sleeps: list[PulledSleep], counts: SyncCounts) -> None: ...


class OuraAdapter:
    def __init__(self, base_url: str, client_id: str = "", client_secret: str = "",
                 policy: RetryPolicy = RetryPolicy(), sleep: Callable[[float], Awaitable[object]] | None = None,
                 timeout_seconds: float = 30.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._client_id, self._client_secret = client_id, client_secret
        self._policy = policy
        self._sleep = sleep
        self._timeout = timeout_seconds

    async def pull(self, window: Window, tokens: Tokens, sink: SyncSink, counts: SyncCounts,
                   on_refresh: Callable[[Tokens], Awaitable[None]] | None = None,
                   types: Collection[str] = ()) -> None:
        """Fetches the window into `sink`, adding to `counts`; raises SyncFailed when it cannot.
        With `types`, only those sample types are taken in (the rest are not asked for); sleep
        sessions are records, not sample types, and always come."""
        wanted = (lambda t: t in types) if types else (lambda t: True)
        extra = {"sleep": self._sleep} if self._sleep is not None else {}
        async with httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout) as http:
            oura = OuraClient(http, tokens, on_refresh, self._client_id, self._client_secret, self._policy, **extra)
            times = {"start_datetime": _iso(window.start), "end_datetime": _iso(window.end)}
            days = {"start_date": (window.start.astimezone(dt.UTC).date() - DAY).isoformat(),
                    "end_date": (window.end.astimezone(dt.UTC).date() + DAY).isoformat()}
            if wanted("heart_rate"):
                async for page in oura.pages("/v2/usercollection/heartrate", times):
                    await _samples(page, mapping.heart_rate, sink, counts)
            if wanted("step_count") or wanted("active_energy"):
                def daily(row: dict) -> list:
                    return [s for s in mapping.daily_activity(row) if wanted(s.type)]

                async for page in oura.pages("/v2/usercollection/daily_activity", days):
                    await _samples(page, daily, sink, counts)
            async for page in oura.pages("/v2/usercollection/sleep", days):
                sleeps, bad = mapping.read_all(page, mapping.sleep)
                counts.add(0, 0, 0, bad)
                if sleeps:
                    await sink.import_sleep(sleeps, counts)


async def _samples(page: list, read, sink: SyncSink, counts: SyncCounts) -> None:
    samples, bad = mapping.read_all(page, read)
    counts.add(0, 0, 0, bad)
    if samples:
        await sink.write_samples(samples, counts)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
