"""Tracking and Auth through their RPCs, as the user the analysis is for (the service credential
with x-healthmesh-user): Insight never reads their tables."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Sequence

import grpc
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc, user_pb2
from healthmesh.tracking.v1 import (
    goal_pb2, sample_type_pb2, tracking_internal_service_pb2, tracking_internal_service_pb2_grpc, tracking_service_pb2,
    tracking_service_pb2_grpc,
)

from services.common.cache import TtlCache
from services.common.errors import Unavailable
from services.common.peers import Peers
from services.insight.alerts.episodes import Reading, Span
from services.insight.analytics.daily import SLEEP_TYPE, Day, Series, TypeInfo, Window, series
from services.insight.analytics.local_time import midnight
from services.insight.analytics.ports import Goal, GoalHistory, GoalPeriod, Latest, Profile

TIMEOUT_SECONDS = 5.0
MAX_SLEEP_WINDOW = dt.timedelta(days=366)  # AnalyzeSleep's limit
MAX_ACTIVITY = dt.timedelta(days=1)  # a workout's longest plausible duration
WANTED_GOAL_STATES = (goal_pb2.Goal.ACTIVE, goal_pb2.Goal.ACHIEVED)


def _unavailable(what: str, exc: grpc.aio.AioRpcError) -> Unavailable:
    return Unavailable(f"{what} could not be read from tracking ({exc.code().name}); try again")


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


class GrpcTracking:
    def __init__(self, peers: Peers, catalog_seconds: float = 600.0) -> None:
        self._peers = peers
        self._stub = tracking_service_pb2_grpc.TrackingServiceStub(peers.channel("tracking"))
        self._internal = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(peers.channel("tracking"))
        self._catalog: dict[str, TypeInfo] = {}
        self._catalog_at = -1e18
        self._catalog_seconds = catalog_seconds

    def _md(self, user_id: uuid.UUID | None = None):
        return self._peers.metadata(str(user_id) if user_id else "")

    async def catalog(self) -> dict[str, TypeInfo]:
        """The catalog is code in Tracking and changes only with a release: read every 10 minutes."""
        if self._catalog and time.monotonic() - self._catalog_at < self._catalog_seconds:
            return self._catalog
        types: dict[str, TypeInfo] = {}
        token = ""
        try:
            while True:
                reply = await self._stub.ListSampleTypes(
                    tracking_service_pb2.ListSampleTypesRequest(page_size=1000, page_token=token),
                    metadata=self._md(), timeout=TIMEOUT_SECONDS)
                for t in reply.sample_types:
                    types[t.type] = TypeInfo(
                        t.type, t.unit, t.aggregation == sample_type_pb2.SUM, t.display_name or t.type,
                        t.min_value, t.max_value, tuple((c.unit, c.factor, c.offset) for c in t.unit_conversions),
                        bool(t.value2_meaning))
                token = reply.next_page_token
                if not token:
                    break
        except grpc.aio.AioRpcError as exc:
            if self._catalog:
                return self._catalog
            raise _unavailable("the sample catalog", exc) from None
        self._catalog, self._catalog_at = types, time.monotonic()
        return types

    async def daily(self, user_id: uuid.UUID, types: Sequence[str], window: Window) -> dict[str, Series]:
        """Every type's DAY aggregates in one BatchAggregateSamples call (one round trip, not one a type)."""
        catalog = await self.catalog()
        wanted = [t for t in dict.fromkeys(types) if t in catalog]
        if not wanted:
            return {}
        start, end = window.utc_bounds()
        batch = tracking_internal_service_pb2.BatchAggregateSamplesRequest()
        for t in wanted:
            request = batch.requests.add(parent=f"users/{user_id}", type=t, interval=tracking_service_pb2.DAY)
            request.start_time.FromDatetime(start)
            request.end_time.FromDatetime(end)
        try:
            reply = await self._internal.BatchAggregateSamples(batch, metadata=self._md(user_id),
                                                               timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("the daily values", exc) from None
        return {t: self._series(catalog[t], r, window) for t, r in zip(wanted, reply.responses)}

    @staticmethod
    def _series(info: TypeInfo, reply, window: Window) -> Series:
        days = []
        for b in reply.buckets:
            if b.count <= 0:
                continue
            value = b.sum if info.summing else b.avg
            low, high = (value, value) if info.summing else (b.min, b.max)
            days.append(Day(dt.date.fromisoformat(b.local_date), value, b.count, low, high,
                            b.start_time.ToDatetime(dt.UTC)))
        return series(info, days, window)

    async def nights(self, user_id: uuid.UUID, window: Window, time_zone: str) -> Series:
        start, end = window.utc_bounds()
        spans = []
        while start < end:  # AnalyzeSleep takes at most 366 days a call
            spans.append((start, min(end, start + MAX_SLEEP_WINDOW)))
            start = spans[-1][1]
        replies = await asyncio.gather(*(self._analyze_sleep(user_id, a, b) for a, b in spans))
        days = [Day(d, seconds / 3600, 1, seconds / 3600, seconds / 3600, midnight(d, time_zone))
                for reply in replies for night in reply.nights
                for d, seconds in [(dt.date.fromisoformat(night.local_date), night.asleep_seconds)]]
        return series(SLEEP_TYPE, days, window)

    async def _analyze_sleep(self, user_id: uuid.UUID, start: dt.datetime, end: dt.datetime):
        request = tracking_service_pb2.AnalyzeSleepRequest(parent=f"users/{user_id}")
        request.start_time.FromDatetime(start)
        request.end_time.FromDatetime(end)
        try:
            return await self._stub.AnalyzeSleep(request, metadata=self._md(user_id), timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("the nights of sleep", exc) from None

    async def latest(self, user_id: uuid.UUID, types: Sequence[str] = ()) -> dict[str, Latest]:
        request = tracking_service_pb2.GetLatestSamplesRequest(parent=f"users/{user_id}", types=list(types))
        try:
            reply = await self._stub.GetLatestSamples(request, metadata=self._md(user_id), timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("the latest samples", exc) from None
        return {s.type: Latest(s.type, s.value, s.unit, s.start_time.ToDatetime(dt.UTC)) for s in reply.samples}

    async def goals(self, user_id: uuid.UUID) -> list[Goal]:
        out: list[Goal] = []
        token = ""
        try:
            while True:
                reply = await self._stub.ListGoals(
                    tracking_service_pb2.ListGoalsRequest(parent=f"users/{user_id}", page_size=1000, page_token=token),
                    metadata=self._md(user_id), timeout=TIMEOUT_SECONDS)
                out += [Goal(g.name, g.metric, g.unit, g.target_value, g.comparison == goal_pb2.Goal.AT_MOST,
                             goal_pb2.Goal.Period.Name(g.period), _date(g.start_date))
                        for g in reply.goals if g.state in WANTED_GOAL_STATES]
                token = reply.next_page_token
                if not token:
                    return out
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("the goals", exc) from None

    async def goal_history(self, user_id: uuid.UUID, goal: Goal, periods: int) -> GoalHistory:
        request = tracking_service_pb2.GetGoalProgressRequest(name=goal.name, history_periods=max(1, min(periods, 366)))
        try:
            p = await self._stub.GetGoalProgress(request, metadata=self._md(user_id), timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:  # deleted meanwhile
                return GoalHistory(goal, ())
            raise _unavailable("a goal's progress", exc) from None
        history = [GoalPeriod(dt.date.fromisoformat(h.start_date), dt.date.fromisoformat(h.end_date), h.value, h.met)
                   for h in reversed(p.history)]
        current = GoalPeriod(dt.date.fromisoformat(p.period_start_date), dt.date.fromisoformat(p.period_end_date),
                             p.current_value, p.met)
        return GoalHistory(goal, tuple(history) + (current,))

    # For the alert rules: the samples themselves, and the workouts that excuse a raised heart rate.

    async def readings(self, user_id: uuid.UUID, type: str, start: dt.datetime, end: dt.datetime) -> list[Reading]:
        """The samples of `type` that start in [start, end), in the canonical unit."""
        request = tracking_service_pb2.ListSamplesRequest(parent=f"users/{user_id}", type=type, page_size=1000)
        request.start_time.FromDatetime(start)
        request.end_time.FromDatetime(end)
        out: list[Reading] = []
        try:
            while True:
                reply = await self._stub.ListSamples(request, metadata=self._md(user_id), timeout=TIMEOUT_SECONDS)
                out += [Reading(s.start_time.ToDatetime(dt.UTC), s.value, s.value2 if s.HasField("value2") else None)
                        for s in reply.samples]
                if not reply.next_page_token:
                    return out
                request.page_token = reply.next_page_token
        except grpc.aio.AioRpcError as exc:
            raise _unavailable(f"the samples of {type}", exc) from None

    async def activities(self, user_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> list[Span]:
        """The workouts that overlap [start, end) (those that started up to a day before it)."""
        request = tracking_service_pb2.ListActivitiesRequest(parent=f"users/{user_id}", page_size=1000)
        request.start_time.FromDatetime(start - MAX_ACTIVITY)
        request.end_time.FromDatetime(end)
        out: list[Span] = []
        try:
            while True:
                reply = await self._stub.ListActivities(request, metadata=self._md(user_id), timeout=TIMEOUT_SECONDS)
                out += [Span(a.start_time.ToDatetime(dt.UTC), a.end_time.ToDatetime(dt.UTC))
                        for a in reply.activities]
                if not reply.next_page_token:
                    return [a for a in out if a.end >= start]
                request.page_token = reply.next_page_token
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("the activities", exc) from None


class AuthProfiles:
    """Birth date, sex and time zone from Auth's GetUser, kept briefly: a cached answer's key holds
    the profile it was computed for, so a changed profile is seen within `cache_seconds`."""

    def __init__(self, peers: Peers, cache_seconds: float = 10.0) -> None:
        self._peers = peers
        self._stub = auth_service_pb2_grpc.AuthServiceStub(peers.channel("auth"))
        self._cache = TtlCache(cache_seconds)

    async def profile(self, user_id: uuid.UUID) -> Profile:
        hit = self._cache.get(user_id)
        if hit is not None:
            return hit  # type: ignore[return-value]
        try:
            user = await self._stub.GetUser(auth_service_pb2.GetUserRequest(name="users/me"),
                                            metadata=self._peers.metadata(str(user_id)), timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"the user's profile could not be read from auth ({exc.code().name}); "
                              "try again") from None
        try:
            birth = _date(user.birth_date)
        except ValueError:
            birth = None
        profile = Profile(birth, user_pb2.Sex.Name(user.sex) if user.sex else "", user.time_zone)
        self._cache.put(user_id, profile)
        return profile
