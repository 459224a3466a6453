"""Assembles Tracking: storage, use cases and servicers."""

from __future__ import annotations

from healthmesh.tracking.v1 import tracking_internal_service_pb2_grpc, tracking_service_pb2_grpc

from services.common import readiness
from services.common.app import Built, consume_erasures, remote_runtime
from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.db import create_engine
from services.common.idempotency import RequestResults
from services.common.outbox import OutboxRelay
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec
from services.tracking.activities.repository import SqlActivityRepository
from services.tracking.activities.service import ActivityService
from services.tracking.dietary import DietaryMirror
from services.tracking.erasure import erase_user
from services.tracking.goals.domain import MetricSpec
from services.tracking.goals.repository import SqlGoalRepository
from services.tracking.goals.service import GoalService
from services.tracking.heart_rate.service import HeartRateService
from services.tracking.insight import InsightNotifier
from services.tracking.nutrition.repository import SqlNutritionRepository
from services.tracking.nutrition.service import NutritionService
from services.tracking.outbox import OUTBOX
from services.tracking.profiles import AuthProfiles
from services.tracking.samples.catalog import CATALOG
from services.tracking.samples.repository import SqlSampleRepository
from services.tracking.samples.rpc import TrackingInternalServicer
from services.tracking.samples.service import SampleService
from services.tracking.servicer import TrackingServicer
from services.tracking.sleep.repository import SqlSleepRepository
from services.tracking.sleep.service import SleepService

SPEC = ServiceSpec("tracking", internal_services=("healthmesh.tracking.v1.TrackingInternalService",))


def metric_of(sample_type: str) -> MetricSpec | None:
    spec = CATALOG.get(sample_type)
    return MetricSpec(spec.aggregation, spec.unit, spec.min_value, spec.max_value) if spec else None


async def build(settings: Settings, clock: Clock = utcnow) -> Built:
    engine = create_engine(settings, "tracking")
    runtime = remote_runtime(SPEC, settings, engine)
    runtime.readiness_check = readiness.database(settings.database_url, SPEC.name)
    profiles = AuthProfiles(runtime.peers)
    samples = SampleService(SqlSampleRepository(engine, lambda t: CATALOG[t].unit), profiles, clock)
    sleep = SleepService(SqlSleepRepository(engine), profiles, clock)
    activities = ActivityService(SqlActivityRepository(engine), profiles, clock)
    servicer = TrackingServicer(
        samples=samples,
        request_results=RequestResults(engine, "tracking"),
        activities=activities,
        sleep=sleep,
        heart_rate=HeartRateService(samples, profiles, clock),
        nutrition=NutritionService(SqlNutritionRepository(engine), profiles, clock, samples=samples,
                                   dietary=DietaryMirror(samples)),
        goals=GoalService(SqlGoalRepository(engine), samples, metric_of=metric_of, profiles=profiles, clock=clock,
                          sleep_by_night=sleep.asleep_by_night),
        page_tokens=PageTokens.from_config(settings.page_token_keys, settings.service_token),
    )

    def add_servicers(server) -> None:
        tracking_service_pb2_grpc.add_TrackingServiceServicer_to_server(servicer, server)
        tracking_internal_service_pb2_grpc.add_TrackingInternalServiceServicer_to_server(
            TrackingInternalServicer(samples, activities, sleep, runtime.shutdown), server)

    stop_erasures = consume_erasures(runtime, engine, erase_user)
    # What changed goes on to Insight from the outbox; with Insight down the rows wait there.
    relay = OutboxRelay(settings.database_url, OUTBOX, InsightNotifier(runtime.peers),
                        poll_seconds=settings.outbox_poll_seconds)
    relay.start()
    return Built(runtime, add_servicers, [engine.dispose, stop_erasures, relay.close])
