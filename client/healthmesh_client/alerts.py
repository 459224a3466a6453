"""The alerts watch with resume: InsightService.WatchAlerts, opened again after every break.

The stream sends every alert after `after_alert`, then new ones, with heartbeats that carry the
position (the last alert) in between. When it ends (UNAVAILABLE at a server shutdown, a network cut,
a deadline, or a plain end), the watch calls again with the last alert it saw, after a backoff with
full jitter, so no alert is lost or repeated. An expired access token is refreshed and the watch
resumes; any other error (INVALID_ARGUMENT, PERMISSION_DENIED, ...) ends it with that ApiError.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator

import grpc
from healthmesh.insight.v1 import alert_pb2

from .errors import ApiError

RESUMABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL,
             grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED}


class _Position:
    """Where the watch resumes, and how long it waits before it does."""

    def __init__(self, after_alert: str, max_reconnects: int | None, initial: float, maximum: float,
                 rng: random.Random | None) -> None:
        self.last_alert = after_alert
        self.reconnects = 0
        self._max = max_reconnects
        self._attempt = 0
        self._initial, self._maximum = initial, maximum
        self._rng = rng or random.Random()
        self._refreshed = False

    def saw(self, response) -> alert_pb2.Alert | None:
        self._attempt, self._refreshed = 0, False
        if response.WhichOneof("event") == "alert":
            self.last_alert = response.alert.name
            return response.alert
        if response.heartbeat.last_alert:
            self.last_alert = response.heartbeat.last_alert
        return None

    def after_break(self, error: ApiError | None, can_refresh: bool) -> tuple[float, bool]:
        """(seconds to wait, refresh the token first); raises `error` when resuming cannot help."""
        if self._max is not None and self.reconnects >= self._max:
            if error is not None:
                raise error
            raise Unresumable("the alert watch ended and max_reconnects is spent")
        self.reconnects += 1
        if error is not None and error.code == grpc.StatusCode.UNAUTHENTICATED:
            if error.reason != "TOKEN_EXPIRED" or not can_refresh or self._refreshed:
                raise error
            self._refreshed = True
            return 0.0, True
        if error is not None and error.code not in RESUMABLE:
            raise error
        delay = self._rng.uniform(0, min(self._maximum, self._initial * 2 ** self._attempt))
        self._attempt += 1
        return delay, False


class Unresumable(Exception):
    """The watch ended and may not reconnect again."""


class AlertWatch:
    """Iterates over a user's alerts as they come, forever (or until max_reconnects breaks);
    `last_alert` is where it would resume."""

    def __init__(self, open_stream: Callable[[str], Iterator], refresh: Callable[[], None] | None, *,
                 after_alert: str = "", max_reconnects: int | None = None, initial_backoff: float = 0.2,
                 max_backoff: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self._open, self._refresh, self._sleep = open_stream, refresh, sleep
        self._position = _Position(after_alert, max_reconnects, initial_backoff, max_backoff, rng)

    @property
    def last_alert(self) -> str:
        return self._position.last_alert

    @property
    def reconnects(self) -> int:
        return self._position.reconnects

    def __iter__(self) -> Iterator[alert_pb2.Alert]:
        while True:
            error = None
            try:
                for response in self._open(self._position.last_alert):
                    if (alert := self._position.saw(response)) is not None:
                        yield alert
            except ApiError as exc:
                error = exc
            delay, refresh = self._position.after_break(error, self._refresh is not None)
            if refresh:
                self._refresh()
            self._sleep(delay)


class AsyncAlertWatch:
    """AlertWatch for asyncio: `async for alert in client.watch_alerts()`."""

    def __init__(self, open_stream: Callable[[str], AsyncIterator], refresh, *, after_alert: str = "",
                 max_reconnects: int | None = None, initial_backoff: float = 0.2, max_backoff: float = 10.0,
                 sleep=asyncio.sleep, rng: random.Random | None = None) -> None:
        self._open, self._refresh, self._sleep = open_stream, refresh, sleep
        self._position = _Position(after_alert, max_reconnects, initial_backoff, max_backoff, rng)

    @property
    def last_alert(self) -> str:
        return self._position.last_alert

    @property
    def reconnects(self) -> int:
        return self._position.reconnects

    async def __aiter__(self) -> AsyncIterator[alert_pb2.Alert]:
        while True:
            error = None
            try:
                async for response in self._open(self._position.last_alert):
                    if (alert := self._position.saw(response)) is not None:
                        yield alert
            except ApiError as exc:
                error = exc
            delay, refresh = self._position.after_break(error, self._refresh is not None)
            if refresh:
                await self._refresh()
            await self._sleep(delay)
