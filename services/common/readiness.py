"""Readiness: a service reports SERVING only while what it needs to answer is there.

Envoy routes to a backend only while its health check says SERVING, so health here means ready,
not merely started: a service whose database is unreachable, or whose schema is behind its code,
says NOT_SERVING. A service's app passes a check: an async callable that returns why the service
is not ready, or "" when it is. The server runs it before it starts, then every few seconds, and
sets every name it answers for from the result; a check that raises or hangs counts as not ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from services.common.background import cancel
from services.common.db import MIGRATIONS_DIR

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[str]]

INTERVAL_SECONDS = 2.0
TIMEOUT_SECONDS = 2.0


def database(dsn: str, service: str, migrations_dir: Path = MIGRATIONS_DIR) -> Check:
    """Ready when the database answers and every migration file of `service` is applied.

    Each check opens its own connection rather than borrowing one from the service's pool: a pool
    exhausted by a busy service must not take that service out of rotation."""
    expected = {path.stem for path in (migrations_dir / service).glob("*.sql")}

    async def check() -> str:
        conn = await asyncpg.connect(dsn, timeout=TIMEOUT_SECONDS)
        try:
            applied = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{service}".schema_migrations')}
        finally:
            await conn.close()
        pending = sorted(expected - applied)
        return f"migrations not applied: {', '.join(pending)}" if pending else ""

    return check


class Readiness:
    """Keeps the health status of `names` in step with `check` (None: always ready)."""

    def __init__(self, health: HealthServicer, names: tuple[str, ...], check: Check | None,
                 interval_seconds: float = INTERVAL_SECONDS, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self._health = health
        self._names = names
        self._check = check
        self._interval = interval_seconds
        self._timeout = timeout_seconds
        self._reason: str | None = None  # None until the first check
        self._task: asyncio.Task | None = None

    @property
    def ready(self) -> bool:
        return self._reason == ""

    async def refresh(self) -> bool:
        """Runs the check once and sets the status; says whether the service is ready."""
        reason = await self._why_not()
        if reason != self._reason:
            # One line when the answer changes, not one every interval.
            if reason:
                log.warning("not ready: %s", reason)
            elif self._reason is not None:
                log.info("ready again")
        self._reason = reason
        status = health_pb2.HealthCheckResponse.NOT_SERVING if reason else health_pb2.HealthCheckResponse.SERVING
        for name in self._names:
            await self._health.set(name, status)  # ignored once a graceful shutdown has begun
        return not reason

    def start(self, stop: asyncio.Event) -> None:
        """Re-checks every interval until `stop` is set."""
        if self._check is not None and self._task is None:
            self._task = asyncio.create_task(self._watch(stop), name="readiness")

    async def close(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self._interval)
            except TimeoutError:
                await self.refresh()

    async def _why_not(self) -> str:
        if self._check is None:
            return ""
        try:
            return await asyncio.wait_for(self._check(), self._timeout)
        except TimeoutError:
            return f"the readiness check took longer than {self._timeout:g} s"
        except Exception as exc:  # the database down, refusing us, or without our schema
            return f"{type(exc).__name__}: {exc}"[:300]
