"""The Oura API v2 over HTTP: paged GETs with the device's access token, and what to do when the
vendor says no.

- 429: wait as long as Retry-After says (capped), then go on backing off if it says so again.
- 5xx and network errors: retry with exponential backoff and full jitter, a few times, then the
  sync fails VENDOR_UNAVAILABLE.
- 401: refresh the access token once with the refresh token (if there is one) and try again; if
  that fails too, the sync fails CREDENTIALS_EXPIRED. New tokens go to `on_refresh`, so they are
  stored before they are used.
Sleeps go through an injected `sleep`, so tests see the waits without waiting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx

from services.common.clock import Clock, utcnow
from services.device.sync_domain import SyncFailed

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.ouraring.com"
MAX_PAGES = 1000  # a window of a year is a few hundred pages; more means the vendor loops


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str = ""
    expire_time: dt.datetime | None = None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # per request, the first included
    base_seconds: float = 1.0
    cap_seconds: float = 60.0
    retry_after_cap_seconds: float = 300.0  # a Retry-After beyond this is taken as this

    def backoff(self, attempt: int, rand: Callable[[], float]) -> float:
        """Full jitter (AWS's architecture blog): uniform in [0, min(cap, base * 2^attempt)]."""
        return rand() * min(self.cap_seconds, self.base_seconds * 2 ** attempt)


class OuraClient:
    def __init__(self, http: httpx.AsyncClient, tokens: Tokens,
                 on_refresh: Callable[[Tokens], Awaitable[None]] | None = None,
                 client_id: str = "", client_secret: str = "", policy: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random, clock: Clock = utcnow) -> None:
        self._http = http
        self._now = clock
        self._tokens = tokens
        self._on_refresh = on_refresh
        self._client_id, self._client_secret = client_id, client_secret
        self._policy = policy
        self._sleep = sleep
        self._rand = rand
        self._refreshed = False  # once per sync: a second 401 after a refresh is final

    async def pages(self, path: str, params: dict[str, str]) -> AsyncIterator[list[dict]]:
        """The `data` of each page of a collection, following next_token to the end."""
        query = dict(params)
        for _ in range(MAX_PAGES):
            body = await self._get(path, query)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise SyncFailed("VENDOR_UNAVAILABLE", f"Oura answered {path} without a data list")
            yield data
            token = body.get("next_token")
            if not token:
                return
            query = {**params, "next_token": str(token)}
        raise SyncFailed("VENDOR_UNAVAILABLE", f"Oura's {path} did not end after {MAX_PAGES} pages")

    async def _get(self, path: str, query: dict[str, str]) -> object:
        attempt = 0
        while True:
            try:
                reply = await self._http.get(path, params=query,
                                             headers={"Authorization": f"Bearer {self._tokens.access_token}"})
            except httpx.TransportError as exc:
                reply, problem = None, type(exc).__name__
            else:
                problem = f"HTTP {reply.status_code}"
                if reply.status_code == 200:
                    try:
                        return reply.json()
                    except ValueError:
                        raise SyncFailed("VENDOR_UNAVAILABLE", f"Oura answered {path} with a body that is not JSON") from None
                if reply.status_code == 401:
                    await self._refresh()
                    continue  # (not an attempt: the refresh happens once, then a 401 is final)
                if reply.status_code != 429 and reply.status_code < 500:
                    raise SyncFailed("VENDOR_REFUSED", f"Oura answered {path} with HTTP {reply.status_code}")
            attempt += 1
            if attempt >= self._policy.attempts:
                raise SyncFailed("VENDOR_UNAVAILABLE",
                                 f"Oura did not answer {path} after {attempt} attempts (last: {problem})")
            wait = self._policy.backoff(attempt - 1, self._rand)
            if reply is not None and reply.status_code == 429:
                wait = max(wait, _retry_after(reply, self._policy.retry_after_cap_seconds))
            log.info("oura %s: %s, trying again in %.1f s", path, problem, wait)
            await self._sleep(wait)

    async def _refresh(self) -> None:
        if self._refreshed or not self._tokens.refresh_token:
            raise SyncFailed("CREDENTIALS_EXPIRED", "Oura refused the access token and it could not be renewed; "
                                                    "connect the device again")
        self._refreshed = True
        form = {"grant_type": "refresh_token", "refresh_token": self._tokens.refresh_token}
        if self._client_id:
            form |= {"client_id": self._client_id, "client_secret": self._client_secret}
        try:
            reply = await self._http.post("/oauth/token", data=form)
            body = reply.json() if reply.status_code == 200 else None
        except (httpx.TransportError, ValueError):
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            raise SyncFailed("CREDENTIALS_EXPIRED", "Oura refused to renew the access token; connect the device again")
        expires = body.get("expires_in")
        self._tokens = Tokens(
            body["access_token"], body.get("refresh_token") or self._tokens.refresh_token,
            self._now() + dt.timedelta(seconds=expires) if isinstance(expires, int) else None)
        if self._on_refresh is not None:
            await self._on_refresh(self._tokens)  # stored first: Oura's refresh tokens are single-use


def _retry_after(reply: httpx.Response, cap: float) -> float:
    """Retry-After in seconds (the HTTP-date form is rare for APIs and taken as a short wait)."""
    try:
        return min(max(float(reply.headers.get("retry-after", "")), 0.0), cap)
    except ValueError:
        return 1.0
