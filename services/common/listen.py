"""A PostgreSQL LISTEN that stays up: reconnects with jittered backoff when its connection is
lost, and says when it (re)connected, so the caller can catch up on what it may have missed."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import asyncpg

from services.common.background import cancel

log = logging.getLogger(__name__)


class ChannelListener:
    def __init__(self, dsn: str, channel: str, on_payload: Callable[[str], None],
                 on_connect: Callable[[], None] = lambda: None) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_payload = on_payload
        self._on_connect = on_connect
        self._task: asyncio.Task | None = None
        self.listening = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"listen {self._channel}")

    async def close(self) -> None:
        await cancel(self._task)

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database away: listen again after a while
                log.info("listen %s: connection lost: %s", self._channel, type(exc).__name__)
            if self.listening:
                delay = 0.2  # it was up: a new outage starts with a short wait
            self.listening = False
            await asyncio.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 10)

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=5)
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c: lost.set())
            await conn.add_listener(self._channel, lambda _c, _pid, _ch, payload: self._on_payload(payload))
            self.listening = True
            self._on_connect()  # subscribed first, then caught up: nothing committed in between is missed
            while not lost.is_set() and not conn.is_closed():
                try:
                    await asyncio.wait_for(lost.wait(), 5)
                except TimeoutError:
                    await conn.execute("SELECT 1")  # a dead socket shows itself here
        finally:
            if not conn.is_closed():
                conn.terminate()
