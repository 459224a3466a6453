"""Assembles Insight: the analyses, the insights kept from them, the alert rules and their alerts,
all fed by Tracking's outbox through NotifySamplesWritten."""

from __future__ import annotations

import uuid

from healthmesh.insight.v1 import insight_internal_service_pb2_grpc, insight_service_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common import readiness
from services.common.app import Built, consume_erasures, remote_runtime
from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.db import create_engine
from services.common.erasure import EraseUser
from services.common.idempotency import RequestResults
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec
from services.insight.alerts import repository as alert_repository
from services.insight.alerts.app import build_alerts
from services.insight.analytics.app import build_analytics
from services.insight.insights import repository as insight_repository
from services.insight.insights.repository import SqlInsights
from services.insight.notify import NotifyService
from services.insight.servicer import InsightInternalServicer, InsightServicer

SPEC = ServiceSpec("insight", internal_services=("healthmesh.insight.v1.InsightInternalService",))

# Each part of Insight that keeps rows of a user adds its EraseUser here.
ERASE_PARTS: list[EraseUser] = [alert_repository.erase_user, insight_repository.erase_user]


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in ERASE_PARTS:
        counts |= await part(conn, user_id)
    return counts


async def build(settings: Settings, clock: Clock = utcnow, **watch_timers: float) -> Built:
    engine = create_engine(settings, "insight")
    runtime = remote_runtime(SPEC, settings, engine)
    runtime.readiness_check = readiness.database(settings.database_url, SPEC.name)
    insights = SqlInsights(engine, clock)
    analytics = build_analytics(settings, runtime.peers, insights, clock=clock)
    alerts = build_alerts(settings, runtime, engine, analytics.tracking, clock, **watch_timers)
    notify = NotifyService()
    notify.listeners += [analytics.on_samples_written, alerts.service.samples_written]
    page_tokens = PageTokens.from_config(settings.page_token_keys, settings.service_token)
    servicer = InsightServicer(analytics.service, insights, alerts.service, alerts.watch,
                               RequestResults(engine, SPEC.name), page_tokens)
    internal = InsightInternalServicer(notify)

    def add_servicers(server) -> None:
        insight_service_pb2_grpc.add_InsightServiceServicer_to_server(servicer, server)
        insight_internal_service_pb2_grpc.add_InsightInternalServiceServicer_to_server(internal, server)

    async def erase(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
        counts = await erase_user(conn, user_id)
        alerts.store.forget(user_id)  # their built-in rules are written again only if ever needed
        return counts

    stop_erasures = consume_erasures(runtime, engine, erase)
    return Built(runtime, add_servicers, [engine.dispose, analytics.close, alerts.close, stop_erasures])
