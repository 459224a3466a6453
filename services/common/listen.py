"""Listeners that stay up: a PostgreSQL LISTEN (or any other subscription) that reconnects with
jittered backoff when it is lost, and says when it is (again) connected, so its owner can catch
up on what it may have missed while it was down. Revocations (services/common/revocation.py)
and Insight's alert fan-out use it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import Awaitable, Callable

from services.common.background import cancel

log = logging.getLogger(__name__)

Ready = Callable[[], Awaitable[None] | None]  # called once subscribed: the owner catches up here


async def keep_listening(what: str, listen_once: Callable[[Callable[[], None]], Awaitable[None]],
                         on_lost: Callable[[], None] = lambda: None) -> None:
    """Runs `listen_once(up)` until cancelled, again after a jittered backoff whenever it ends;
    `listen_once` calls `up()` once it is connected, so a new outage starts with a short wait."""
    delay = 0.2
    while True:
        was_up = False

        def up() -> None:
            nonlocal was_up
            was_up = True

        try:
            await listen_once(up)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the peer away: listen again after a while
            log.info("%s: listener lost: %s", what, type(exc).__name__)
        on_lost()
        if was_up:
            delay = 0.2
        await asyncio.sleep(delay * (1 + random.random()))
        delay = min(delay * 2, 10)


async def listen_postgres(dsn: str, channel: str, on_payload: Callable[[str], None], ready: Ready) -> None:
    """One LISTEN connection, until it is lost: subscribed first, then `ready()`, so nothing
    committed in between is missed."""
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(channel, lambda _c, _pid, _ch, payload: on_payload(payload))
        result = ready()
        if inspect.isawaitable(result):
            await result
        while not lost.is_set() and not conn.is_closed():
            try:
                await asyncio.wait_for(lost.wait(), 5)
            except TimeoutError:
                await conn.execute("SELECT 1")  # a dead socket shows itself here
    finally:
        if not conn.is_closed():
            conn.terminate()


class ChannelListener:
    """A PostgreSQL channel's payloads to `on_payload`, kept up; `on_connect` after each (re)connect."""

    def __init__(self, dsn: str, channel: str, on_payload: Callable[[str], None],
                 on_connect: Callable[[], None] = lambda: None) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_payload = on_payload
        self._on_connect = on_connect
        self._task: asyncio.Task | None = None
        self.listening = False

    def start(self) -> None:
        self._task = asyncio.create_task(keep_listening(f"listen {self._channel}", self._once, self._lost),
                                         name=f"listen {self._channel}")

    async def close(self) -> None:
        await cancel(self._task)

    async def _once(self, up: Callable[[], None]) -> None:
        def ready() -> None:
            up()
            self.listening = True
            self._on_connect()

        await listen_postgres(self._dsn, self._channel, self._on_payload, ready)

    def _lost(self) -> None:
        self.listening = False
