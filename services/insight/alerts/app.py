"""Assembles the alert rules, their evaluation and WatchAlerts for Insight's app.py:

    alerts = build_alerts(settings, runtime, engine, analytics.tracking, clock)
    notify.listeners.append(alerts.service.samples_written)
    closers.append(alerts.close)
    # the servicer: class InsightServicer(AlertRpcs, ...) with self.alerts, self.watch
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.background import cancel
from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.open_calls import OpenCalls
from services.common.server import Runtime
from services.insight.alerts.repository import SqlAlertStore
from services.insight.alerts.service import AlertService, AlertTracking
from services.insight.alerts.watch import AlertFeed, AlertWatch

log = logging.getLogger(__name__)

PRUNE_SECONDS = 3600.0


@dataclass
class Alerts:
    service: AlertService
    watch: AlertWatch
    store: SqlAlertStore
    _feed: AlertFeed
    _tasks: list[asyncio.Task]

    async def close(self) -> None:
        for task in self._tasks:
            await cancel(task)
        await self._feed.close()


async def _prune(service: AlertService) -> None:
    """Forgets the outbox events evaluated a week ago, hourly."""
    while True:
        try:
            await service.prune()
        except Exception as exc:  # noqa: BLE001 - the database away: next hour
            log.warning("alerts: pruning evaluated events failed: %s", type(exc).__name__)
        await asyncio.sleep(PRUNE_SECONDS)


def build_alerts(settings: Settings, runtime: Runtime, engine: AsyncEngine, tracking: AlertTracking,
                 clock: Clock = utcnow, **watch_timers: float) -> Alerts:
    store = SqlAlertStore(engine)
    service = AlertService(store, tracking, clock)
    feed = AlertFeed(settings.database_url)
    feed.start()
    calls = OpenCalls("insight")
    revocations = getattr(runtime.authenticator, "revocations", None)
    if revocations is not None:
        revocations.subscribe(calls.revoked)
    watch = AlertWatch(store, feed, calls, runtime.authenticator.principal, **watch_timers)
    tasks = [calls.end_on(runtime.shutdown), asyncio.create_task(_prune(service), name="alerts prune")]
    return Alerts(service, watch, store, feed, tasks)
