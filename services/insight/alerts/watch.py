"""WatchAlerts: a user's alerts as they are recorded, by any Insight process or replica.

The alerts table is the record; a NOTIFY on `insight_alerts` committed with each alert wakes
every process's watchers of that user (AlertFeed), which then read what is new after the last
alert they sent. While the LISTEN connection is down the watchers poll, and when it comes back
they all look once, so an alert is never missed, only later. The stream ends with its
credential: at once on a revocation (OpenCalls), at the access token's expiry, and on the
re-check of the credential every RECHECK_SECONDS (an API key that expired).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

from services.common.listen import ChannelListener
from services.common.open_calls import OpenCalls, expired_error
from services.common.principal import Principal
from services.insight.alerts.repository import CHANNEL, Alert, SqlAlertStore

PAGE = 100
POLL_SECONDS = 1.0  # how often a watcher looks while the LISTEN connection is down
RECHECK_SECONDS = 60.0
DEFAULT_HEARTBEAT_SECONDS = 30


@dataclass(frozen=True)
class Heartbeat:
    last_alert: uuid.UUID | None  # the position to resume from


class AlertFeed:
    def __init__(self, dsn: str) -> None:
        self._waiting: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._listener = ChannelListener(dsn, CHANNEL, self._on_payload, self._wake_all)

    @property
    def listening(self) -> bool:
        return self._listener.listening

    def start(self) -> None:
        self._listener.start()

    async def close(self) -> None:
        await self._listener.close()

    @contextlib.contextmanager
    def subscribe(self, user_id: uuid.UUID) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiting.setdefault(user_id, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiting.get(user_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[user_id]

    def wake(self, user_id: uuid.UUID) -> None:
        for event in self._waiting.get(user_id, ()):
            event.set()

    def _on_payload(self, payload: str) -> None:
        try:
            self.wake(uuid.UUID(payload))
        except ValueError:
            pass

    def _wake_all(self) -> None:
        for events in self._waiting.values():
            for event in events:
                event.set()


Authenticate = Callable[[Mapping[str, str]], Awaitable[Principal]]


class AlertWatch:
    def __init__(self, store: SqlAlertStore, feed: AlertFeed, calls: OpenCalls, authenticate: Authenticate, *,
                 poll_seconds: float = POLL_SECONDS, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self._store = store
        self._feed = feed
        self._calls = calls
        self._authenticate = authenticate
        self._poll = poll_seconds
        self._recheck = recheck_seconds

    async def watch(self, principal: Principal, metadata: Mapping[str, str], user_id: uuid.UUID,
                    after: uuid.UUID | None, heartbeat_seconds: float) -> AsyncIterator[Alert | Heartbeat]:
        """The alerts created after `after` (after the newest one when None), then new ones as
        they come, with a heartbeat after `heartbeat_seconds` of silence."""
        with self._feed.subscribe(user_id) as wake:
            call = self._calls.open(principal, wake)
            try:
                last = after if after is not None else await self._store.newest_alert(user_id)
                sent_at = time.monotonic()
                next_check = sent_at + self._recheck
                while True:
                    wake.clear()
                    batch = await self._store.alerts_after(user_id, last, PAGE)
                    for alert in batch:
                        yield alert
                        last, sent_at = alert.id, time.monotonic()
                    if len(batch) == PAGE:
                        continue
                    if call.ended.is_set():
                        raise call.error
                    now = time.monotonic()
                    deadline = min(sent_at + heartbeat_seconds, next_check)
                    if not self._feed.listening:
                        deadline = min(deadline, now + self._poll)
                    if principal.expire_time:
                        deadline = min(deadline, now + max(0.0, principal.expire_time - time.time()))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), max(0.0, deadline - now))
                    if call.ended.is_set():
                        raise call.error
                    if principal.expire_time and time.time() >= principal.expire_time:
                        raise expired_error(principal.expire_time)
                    now = time.monotonic()
                    if now >= next_check:
                        await self._authenticate(metadata)  # UNAUTHENTICATED once no longer valid
                        next_check = now + self._recheck
                    if now - sent_at >= heartbeat_seconds:
                        yield Heartbeat(last)
                        sent_at = now
            finally:
                self._calls.close(call)
