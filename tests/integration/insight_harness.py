"""Auth, Tracking and Insight's analytics in-process on port 0 against the session's PostgreSQL,
each as in production: Insight reads Tracking and Auth only through their RPCs. Tracking's and
Insight's clocks are injected (NOW, a fixed noon UTC), and samples are written relative to it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import grpc
from google.protobuf import timestamp_pb2
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc, user_pb2
from healthmesh.insight.v1 import insight_service_pb2_grpc
from healthmesh.tracking.v1 import sample_pb2, tracking_service_pb2, tracking_service_pb2_grpc

from services.common.app import remote_runtime
from services.common.clock import fixed
from services.common.config import Settings
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec, create_server, stop_server
from services.insight.analytics.app import Analytics, build_analytics
from services.insight.analytics.rpc import AnalyticsRpcs
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.test_auth_service import PASSWORD
from tests.integration.tracking_harness import start_tracking, stop_tracking

NOW = dt.datetime(2026, 6, 17, 12, tzinfo=dt.UTC)  # a Wednesday
SPEC = ServiceSpec("insight", internal_services=("healthmesh.insight.v1.InsightInternalService",))


class AnalyticsServicer(AnalyticsRpcs, insight_service_pb2_grpc.InsightServiceServicer):
    """The analyses' part of Insight's servicer, as services/insight composes it."""

    def __init__(self, analytics: Analytics, page_tokens: PageTokens) -> None:
        self.analytics = analytics.service
        self.page_tokens = page_tokens


@dataclass
class InsightMesh:
    auth: auth_service_pb2_grpc.AuthServiceStub
    tracking: tracking_service_pb2_grpc.TrackingServiceStub
    insight: insight_service_pb2_grpc.InsightServiceStub
    analytics: Analytics
    now: dt.datetime

    async def user(self, birth_date: str = "1990-04-01", sex=user_pb2.FEMALE, time_zone: str = ""):
        """A new user: (user_id, bearer metadata)."""
        import uuid

        email = f"i{uuid.uuid4().hex[:10]}@example.org"
        user = await self.auth.Register(auth_service_pb2.RegisterRequest(
            email=email, password=PASSWORD, display_name="Ada", birth_date=birth_date, sex=sex, time_zone=time_zone))
        session = await self.auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
        return uuid.UUID(user.name.removeprefix("users/")), (("authorization", f"Bearer {session.access_token}"),)

    async def write(self, md, samples: list[sample_pb2.Sample]) -> None:
        for i in range(0, len(samples), 10_000):
            reply = await self.tracking.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(
                parent="users/me", samples=samples[i:i + 10_000]), metadata=md)
            assert not reply.errors, reply.errors[:3]


def ts(t: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(t)
    return out


def sample(type: str, start: dt.datetime, value: float, unit: str, offset: int = 0, minutes: int = 1,
           source: str = "test") -> sample_pb2.Sample:
    s = sample_pb2.Sample(type=type, start_time=ts(start), end_time=ts(start + dt.timedelta(minutes=minutes)),
                          value=value, unit=unit, source=source)
    s.utc_offset_minutes = offset
    return s


async def start_insight_mesh(dsn: str, auth_port: int, redis_url: str = ""):
    now = NOW
    tracking = await start_tracking(dsn, auth_port, clock=fixed(now))
    settings = Settings(DATABASE_URL=dsn, service_token=SERVICE_TOKEN, REDIS_URL=redis_url,
                        auth_addr=f"127.0.0.1:{auth_port}", tracking_addr=f"127.0.0.1:{tracking.port}")
    runtime = remote_runtime(SPEC, settings)
    analytics = build_analytics(settings, runtime.peers, clock=fixed(now))
    servicer = AnalyticsServicer(analytics, PageTokens.from_config("", SERVICE_TOKEN))
    server, port = await create_server(
        runtime, lambda s: insight_service_pb2_grpc.add_InsightServiceServicer_to_server(servicer, s))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    auth_channel = grpc.aio.insecure_channel(f"127.0.0.1:{auth_port}")
    mesh = InsightMesh(auth_service_pb2_grpc.AuthServiceStub(auth_channel),
                       tracking_service_pb2_grpc.TrackingServiceStub(tracking.channel),
                       insight_service_pb2_grpc.InsightServiceStub(channel), analytics, now)

    async def stop() -> None:
        await channel.close()
        await auth_channel.close()
        await stop_server(server, runtime, 0.5)
        await analytics.close()
        await runtime.peers.close()
        await stop_tracking(tracking)

    return mesh, stop
