"""Activities, sleep sessions and heart-rate zones over real gRPC and a real PostgreSQL.

A small servicer made of the three mixins is served on port 0 with the shared server machinery;
users and their tokens come from the Auth harness, and profiles are read from Auth as in
production. Heart-rate zones read the real samples store, written through its own write path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from healthmesh.tracking.v1 import (
    activity_pb2, sleep_session_pb2, tracking_service_pb2 as pb, tracking_service_pb2_grpc,
)
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.audit import AuditLog
from services.common.clock import fixed
from services.common.config import Settings
from services.common.credentials import AccessTokenVerifier, Authenticator
from services.common.db import migrate
from services.common.pagination import PageTokens
from services.common.peers import Peers
from services.common.server import Runtime, ServiceSpec, create_server, stop_server
from services.tracking.activities.repository import SqlActivityRepository
from services.tracking.activities.rpc import ActivityRpcs
from services.tracking.activities.service import ActivityService
from services.tracking.heart_rate.rpc import HeartRateRpcs
from services.tracking.heart_rate.service import HeartRateService
from services.tracking.profiles import AuthProfiles
from services.tracking.samples.columns import SampleInput
from services.tracking.samples.service import SampleService
from services.tracking.sleep.repository import SqlSleepRepository
from services.tracking.sleep.rpc import SleepRpcs
from services.tracking.sleep.service import SleepService
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.tracking_harness import sample_service

PASSWORD = "correct horse battery"
START = dt.datetime(2026, 1, 10, 7, 0, tzinfo=dt.UTC)  # winter: Paris is UTC+1
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)  # the services' clock: ages are counted on this day


class _S(ActivityRpcs, SleepRpcs, HeartRateRpcs, tracking_service_pb2_grpc.TrackingServiceServicer):
    def __init__(self, activities: ActivityService, sleep: SleepService, heart_rate: HeartRateService) -> None:
        self.activities, self.sleep, self.heart_rate = activities, sleep, heart_rate
        self.page_tokens = PageTokens.from_config("", SERVICE_TOKEN)


@pytest.fixture(scope="session")
def tracking_dsn(migrated_dsn: str) -> str:
    asyncio.run(migrate(migrated_dsn, "tracking"))
    return migrated_dsn


class Harness:
    def __init__(self, stub, auth_stub, samples: SampleService, sleep: SleepService) -> None:
        self.stub, self.auth, self.samples, self.sleep = stub, auth_stub, samples, sleep

    async def write(self, user: str, type: str, points: list[tuple[dt.datetime, float]],
                    max: float | None = None) -> None:
        """Stores (time, value) samples through the samples' write path (what BatchCreateSamples calls)."""
        result = await self.samples.write(uuid.UUID(user), [
            SampleInput(type, at, None, 0, value, None, max, None, "count/min", "Apple Watch") for at, value in points])
        assert (result.accepted, result.errors) == (len(points), [])

    async def user(self, birth_date: str = "1986-01-01") -> tuple[str, tuple]:
        email = f"u{uuid.uuid4().hex[:10]}@example.org"
        user = await self.auth.Register(auth_service_pb2.RegisterRequest(
            email=email, password=PASSWORD, display_name="Ada", birth_date=birth_date, time_zone="Europe/Paris"))
        session = await self.auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
        return user.name.removeprefix("users/"), (("authorization", f"Bearer {session.access_token}"),)


@pytest.fixture
async def tracking(auth_harness, tracking_dsn):
    settings = Settings(DATABASE_URL=tracking_dsn, service_token=SERVICE_TOKEN,
                        auth_addr=f"127.0.0.1:{auth_harness.port}")
    engine = create_async_engine(settings.sqlalchemy_url)
    peers = Peers(settings, "tracking")
    profiles = AuthProfiles(peers)
    samples = sample_service(engine, profiles, fixed(NOW))
    servicer = _S(ActivityService(SqlActivityRepository(engine), profiles, clock=fixed(NOW)),
                  SleepService(SqlSleepRepository(engine), profiles, clock=fixed(NOW)),
                  HeartRateService(samples, profiles, clock=fixed(NOW)))

    async def sink(batch):
        pass

    authenticator = Authenticator(AccessTokenVerifier(peers.fetch_jwks, "healthmesh"), peers.authenticate_api_key,
                                  SERVICE_TOKEN)
    runtime = Runtime(ServiceSpec("tracking"), authenticator, AuditLog(sink, flush_seconds=60), peers)
    server, port = await create_server(
        runtime, lambda s: tracking_service_pb2_grpc.add_TrackingServiceServicer_to_server(servicer, s))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield Harness(tracking_service_pb2_grpc.TrackingServiceStub(channel),
                  auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel), samples, servicer.sleep)
    await channel.close()
    await stop_server(server, runtime, 0.1)
    await engine.dispose()


def ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def violations(err: grpc.aio.AioRpcError) -> set[str]:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    return {v.field for v in bad.field_violations}
    return set()


async def expect(code: grpc.StatusCode, call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()
    return err.value


def a_run(minutes: int = 50, start: dt.datetime = START, points: int = 0) -> activity_pb2.Activity:
    end = start + dt.timedelta(minutes=minutes)
    step = (end - start) / max(points, 1)  # the route spreads over the whole activity
    return activity_pb2.Activity(
        type="running", display_name="Morning run", start_time=ts(start), end_time=ts(end), distance_meters=10_000,
        heart_rate_series=[activity_pb2.HeartRatePoint(time=ts(start + dt.timedelta(minutes=i)), bpm=120 + i % 40)
                           for i in range(min(points, minutes))],
        route=[activity_pb2.RoutePoint(time=ts(start + i * step), latitude=48.85 + i * 1e-5, longitude=2.35,
                                       altitude_meters=35) for i in range(points)],
        weather=activity_pb2.Weather(temperature_celsius=4, conditions="light rain"), source="Apple Watch")


async def test_activity_lifecycle(tracking):
    stub, (me, md) = tracking.stub, await tracking.user()
    created = await stub.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=a_run(points=20_000)),
                                        metadata=md)
    assert created.name.startswith(f"users/{me}/activities/") and created.utc_offset_minutes == 60
    assert created.duration_seconds == 3000 and created.pace_seconds_per_km == 300
    assert len(created.route) == 20_000 and created.heart_rate.max_bpm == 159
    got = await stub.GetActivity(pb.GetActivityRequest(name=created.name), metadata=md)
    assert len(got.route) == 20_000 and len(got.heart_rate_series) == 50
    assert got.route[-1].latitude == pytest.approx(48.85 + 19_999e-5) and got.weather.conditions == "light rain"
    basic = await stub.GetActivity(pb.GetActivityRequest(name=created.name, view=activity_pb2.BASIC), metadata=md)
    assert not basic.route and not basic.heart_rate_series and basic.heart_rate.avg_bpm == got.heart_rate.avg_bpm

    patch = activity_pb2.Activity(name=created.name.replace(me, "me"), distance_meters=5_000, notes="windy",
                                  route=[activity_pb2.RoutePoint(time=ts(START), latitude=1, longitude=2)])
    updated = await stub.UpdateActivity(pb.UpdateActivityRequest(
        activity=patch, update_mask=field_mask_pb2.FieldMask(paths=["distance_meters", "notes", "route"])),
        metadata=md)
    assert updated.pace_seconds_per_km == 600 and updated.notes == "windy" and len(updated.route) == 1
    assert len(updated.heart_rate_series) == 50 and updated.display_name == "Morning run"
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.UpdateActivity(pb.UpdateActivityRequest(
        activity=patch, update_mask=field_mask_pb2.FieldMask(paths=["create_time", "colour"])), metadata=md))
    assert violations(err) == {"update_mask"}

    await stub.DeleteActivity(pb.DeleteActivityRequest(name=created.name), metadata=md)
    await expect(grpc.StatusCode.NOT_FOUND, stub.GetActivity(pb.GetActivityRequest(name=created.name), metadata=md))
    await expect(grpc.StatusCode.NOT_FOUND, stub.DeleteActivity(pb.DeleteActivityRequest(name=created.name),
                                                                metadata=md))


async def test_activity_create_is_idempotent_and_validated(tracking):
    stub, (_, md) = tracking.stub, await tracking.user()
    rid = str(uuid.uuid4())
    first = await stub.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=a_run(), request_id=rid),
                                      metadata=md)
    again = await stub.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=a_run(30),
                                                               request_id=rid), metadata=md)
    assert again.name == first.name and again.duration_seconds == 3000

    bad = a_run()
    bad.end_time.CopyFrom(ts(START - dt.timedelta(minutes=1)))
    bad.distance_meters = -3
    bad.route.add(time=ts(START), latitude=95, longitude=0)
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT,
                       stub.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=bad), metadata=md))
    assert violations(err) == {"activity.end_time", "activity.distance_meters", "activity.route[0].latitude"}
    too_long = activity_pb2.Activity(type="walking", start_time=ts(START), end_time=ts(START + dt.timedelta(days=1)),
                                     route=[activity_pb2.RoutePoint(time=ts(START))] * 50_001)
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.CreateActivity(
        pb.CreateActivityRequest(parent="users/me", activity=too_long), metadata=md))
    assert violations(err) == {"activity.route"}


async def test_activity_pages_and_filters(tracking):
    stub, (_, md) = tracking.stub, await tracking.user()
    for i in range(5):
        run = a_run(start=START + dt.timedelta(days=i))
        run.type = "cycling" if i % 2 else "running"
        await stub.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=run), metadata=md)
    seen, token = [], ""
    while True:
        page = await stub.ListActivities(pb.ListActivitiesRequest(parent="users/me", page_size=2, page_token=token),
                                         metadata=md)
        seen += [a.start_time.ToDatetime(tzinfo=dt.UTC) for a in page.activities]
        token = page.next_page_token
        if not token:
            break
    assert seen == [START + dt.timedelta(days=i) for i in range(4, -1, -1)]
    rides = await stub.ListActivities(pb.ListActivitiesRequest(parent="users/me", type="cycling"), metadata=md)
    assert [a.type for a in rides.activities] == ["cycling", "cycling"] and not rides.activities[0].route
    window = await stub.ListActivities(pb.ListActivitiesRequest(
        parent="users/me", start_time=ts(START + dt.timedelta(days=1)), end_time=ts(START + dt.timedelta(days=3)),
        view=activity_pb2.FULL), metadata=md)
    assert len(window.activities) == 2

    first = await stub.ListActivities(pb.ListActivitiesRequest(parent="users/me", page_size=1), metadata=md)
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.ListActivities(pb.ListActivitiesRequest(
        parent="users/me", type="cycling", page_token=first.next_page_token), metadata=md))
    assert violations(err) == {"page_token"}
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.ListActivities(
        pb.ListActivitiesRequest(parent="users/me", page_size=-1), metadata=md))
    assert violations(err) == {"page_size"}
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.ListActivities(pb.ListActivitiesRequest(
        parent="users/me", start_time=ts(START), end_time=ts(START - dt.timedelta(days=1))), metadata=md))
    assert violations(err) == {"end_time"}


def a_night(day: int = 0, hours: float = 8) -> sleep_session_pb2.SleepSession:
    start = dt.datetime(2026, 1, 10, 22, 0, tzinfo=dt.UTC) + dt.timedelta(days=day)
    h = dt.timedelta(hours=1)
    return sleep_session_pb2.SleepSession(
        start_time=ts(start), end_time=ts(start + dt.timedelta(hours=hours)), source="Oura",
        stages=[sleep_session_pb2.SleepStagePeriod(stage=sleep_session_pb2.CORE, start_time=ts(start),
                                                   end_time=ts(start + 3 * h)),
                sleep_session_pb2.SleepStagePeriod(stage=sleep_session_pb2.DEEP, start_time=ts(start + 3 * h),
                                                   end_time=ts(start + 4 * h)),
                sleep_session_pb2.SleepStagePeriod(stage=sleep_session_pb2.REM, start_time=ts(start + 4 * h),
                                                   end_time=ts(start + 6 * h)),
                sleep_session_pb2.SleepStagePeriod(stage=sleep_session_pb2.AWAKE, start_time=ts(start + 6 * h),
                                                   end_time=ts(start + 7 * h))])


async def test_sleep_lifecycle_and_analysis(tracking):
    stub, (me, md) = tracking.stub, await tracking.user()
    created = [await stub.CreateSleepSession(pb.CreateSleepSessionRequest(parent="users/me", sleep_session=a_night(d)),
                                             metadata=md) for d in range(3)]
    s = created[0]
    assert (s.local_date, s.utc_offset_minutes, s.time_in_bed_seconds) == ("2026-01-11", 60, 8 * 3600)
    assert (s.asleep_seconds, s.light_seconds, s.deep_seconds, s.rem_seconds, s.awake_seconds) == (
        6 * 3600, 3 * 3600, 3600, 7200, 3600)
    assert s.efficiency_percent == 75 and 0 < s.score <= 100 and len(s.stages) == 4
    got = await stub.GetSleepSession(pb.GetSleepSessionRequest(name=s.name), metadata=md)
    assert got == s

    patch = sleep_session_pb2.SleepSession(name=s.name, score=88, notes="late coffee")
    updated = await stub.UpdateSleepSession(pb.UpdateSleepSessionRequest(
        sleep_session=patch, update_mask=field_mask_pb2.FieldMask(paths=["score", "notes", "stages"])), metadata=md)
    assert (updated.score, updated.notes, len(updated.stages), updated.asleep_seconds) == (88, "late coffee", 0,
                                                                                         8 * 3600)
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.UpdateSleepSession(pb.UpdateSleepSessionRequest(
        sleep_session=patch, update_mask=field_mask_pb2.FieldMask(paths=["asleep_seconds"])), metadata=md))
    assert violations(err) == {"update_mask"}

    page = await stub.ListSleepSessions(pb.ListSleepSessionsRequest(parent=f"users/{me}", page_size=2), metadata=md)
    rest = await stub.ListSleepSessions(pb.ListSleepSessionsRequest(
        parent=f"users/{me}", page_size=2, page_token=page.next_page_token), metadata=md)
    assert [x.name for x in page.sleep_sessions] + [x.name for x in rest.sleep_sessions] == [
        c.name for c in created[::-1]] and not rest.next_page_token

    analysis = await stub.AnalyzeSleep(pb.AnalyzeSleepRequest(
        parent="users/me", start_time=ts(START), end_time=ts(START + dt.timedelta(days=5))), metadata=md)
    assert analysis.night_count == 3 and analysis.target_sleep_seconds == 25200
    assert [n.local_date for n in analysis.nights] == ["2026-01-13", "2026-01-12", "2026-01-11"]
    assert analysis.sleep_debt_seconds == 2 * 3600  # two nights of 6 h, one of 8 h after the update
    assert analysis.avg_bedtime == "23:00" and analysis.consistency_score == 100
    # What goals on sleep_duration read: one GROUP BY over the stored figures.
    nights = await tracking.sleep.asleep_by_night(uuid.UUID(me), dt.date(2026, 1, 12), dt.date(2026, 1, 20))
    assert nights == {dt.date(2026, 1, 12): 6 * 3600.0, dt.date(2026, 1, 13): 6 * 3600.0}

    bad = a_night()
    bad.stages[1].start_time.CopyFrom(ts(dt.datetime(2026, 1, 11, 0, 0, tzinfo=dt.UTC)))  # overlaps CORE
    bad.score = 101
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.CreateSleepSession(
        pb.CreateSleepSessionRequest(parent="users/me", sleep_session=bad), metadata=md))
    assert violations(err) == {"sleep_session.stages[1]", "sleep_session.score"}
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.AnalyzeSleep(
        pb.AnalyzeSleepRequest(parent="users/me", target_sleep_seconds=-1), metadata=md))
    assert violations(err) == {"target_sleep_seconds"}

    await stub.DeleteSleepSession(pb.DeleteSleepSessionRequest(name=s.name), metadata=md)
    await expect(grpc.StatusCode.NOT_FOUND, stub.GetSleepSession(pb.GetSleepSessionRequest(name=s.name), metadata=md))


async def test_sleep_create_is_idempotent(tracking):
    stub, (_, md) = tracking.stub, await tracking.user()
    rid = str(uuid.uuid4())
    calls = [stub.CreateSleepSession(pb.CreateSleepSessionRequest(parent="users/me", sleep_session=a_night(),
                                                                  request_id=rid), metadata=md) for _ in range(3)]
    results = await asyncio.gather(*calls)  # concurrent retries: one insert wins, all get it
    assert len({r.name for r in results}) == 1


async def test_heart_rate_zones_from_age_and_samples(tracking):
    stub, (me, md) = tracking.stub, await tracking.user(birth_date="1986-01-01")
    end = NOW
    # 30 minutes at 135 bpm: zone 3 of 180 (75%)
    await tracking.write(me, "heart_rate", [(end - dt.timedelta(minutes=60 - i), 135) for i in range(30)])
    # Neither counts: one just before the window (the week before end_time), another user's inside it.
    await tracking.write(me, "heart_rate", [(end - dt.timedelta(days=7, minutes=5), 135)])
    other, _ = await tracking.user()
    await tracking.write(other, "heart_rate", [(end - dt.timedelta(minutes=20), 135)])
    await tracking.write(me, "resting_heart_rate", [(end - dt.timedelta(days=2), 61), (end - dt.timedelta(days=1), 58)])
    r = await stub.GetHeartRateZones(pb.GetHeartRateZonesRequest(parent="users/me", end_time=ts(end)), metadata=md)
    assert r.basis == pb.AGE and r.age == 40 and r.max_heart_rate == 180  # 40 on 2026-06-15
    assert [z.zone for z in r.zones] == [1, 2, 3, 4, 5] and r.zones[2].min_bpm == 126
    spanned = 29 * 60 + 600  # each minute until the next sample; the last one counts 10 minutes
    assert r.zones[2].time_in_zone_seconds == spanned and r.total_seconds == spanned
    assert r.zones[2].percent_of_time == 100 and r.resting_heart_rate == 58  # the latest
    given = await stub.GetHeartRateZones(pb.GetHeartRateZonesRequest(
        parent="users/me", basis=pb.GIVEN, max_heart_rate=200, end_time=ts(end)), metadata=md)
    assert given.basis == pb.GIVEN and given.zones[1].time_in_zone_seconds == spanned  # 67.5% of 200
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, stub.GetHeartRateZones(
        pb.GetHeartRateZonesRequest(parent="users/me", max_heart_rate=90), metadata=md))
    assert violations(err) == {"max_heart_rate"}
    no_birth_date, md2 = await tracking.user(birth_date="")
    await expect(grpc.StatusCode.FAILED_PRECONDITION, stub.GetHeartRateZones(
        pb.GetHeartRateZonesRequest(parent="users/me", basis=pb.AGE), metadata=md2))
    await expect(grpc.StatusCode.FAILED_PRECONDITION, stub.GetHeartRateZones(
        pb.GetHeartRateZonesRequest(parent="users/me"), metadata=md2))  # falls back to MEASURED: no samples
    # MEASURED: the highest max of the year before now (the services' clock); older ones do not count.
    await tracking.write(no_birth_date, "heart_rate", [(NOW - dt.timedelta(days=400), 150)], max=199)
    await tracking.write(no_birth_date, "heart_rate", [(NOW - dt.timedelta(days=30), 150)], max=171)
    measured = await stub.GetHeartRateZones(pb.GetHeartRateZonesRequest(parent="users/me"), metadata=md2)
    assert (measured.basis, measured.max_heart_rate, measured.end_time.ToDatetime(dt.UTC)) == (pb.MEASURED, 171, NOW)


async def test_another_users_resources_are_forbidden_and_unknown_ids_not_found(tracking):
    stub, (me, md) = tracking.stub, await tracking.user()
    other, other_md = await tracking.user()
    theirs = await stub.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=a_run()),
                                       metadata=other_md)
    their_night = await stub.CreateSleepSession(pb.CreateSleepSessionRequest(parent="users/me",
                                                                             sleep_session=a_night()),
                                                metadata=other_md)
    ghost = f"users/{uuid.uuid4()}"
    mask = field_mask_pb2.FieldMask(paths=["notes"])
    for parent in (f"users/{other}", ghost):
        activity_name = theirs.name if parent.endswith(other) else f"{ghost}/activities/{uuid.uuid4()}"
        night_name = their_night.name if parent.endswith(other) else f"{ghost}/sleepSessions/{uuid.uuid4()}"
        for call in (
            stub.GetActivity(pb.GetActivityRequest(name=activity_name), metadata=md),
            stub.ListActivities(pb.ListActivitiesRequest(parent=parent), metadata=md),
            stub.CreateActivity(pb.CreateActivityRequest(parent=parent, activity=a_run()), metadata=md),
            stub.UpdateActivity(pb.UpdateActivityRequest(activity=activity_pb2.Activity(name=activity_name),
                                                         update_mask=mask), metadata=md),
            stub.DeleteActivity(pb.DeleteActivityRequest(name=activity_name), metadata=md),
            stub.GetSleepSession(pb.GetSleepSessionRequest(name=night_name), metadata=md),
            stub.ListSleepSessions(pb.ListSleepSessionsRequest(parent=parent), metadata=md),
            stub.CreateSleepSession(pb.CreateSleepSessionRequest(parent=parent, sleep_session=a_night()), metadata=md),
            stub.UpdateSleepSession(pb.UpdateSleepSessionRequest(
                sleep_session=sleep_session_pb2.SleepSession(name=night_name), update_mask=mask), metadata=md),
            stub.DeleteSleepSession(pb.DeleteSleepSessionRequest(name=night_name), metadata=md),
            stub.AnalyzeSleep(pb.AnalyzeSleepRequest(parent=parent), metadata=md),
            stub.GetHeartRateZones(pb.GetHeartRateZonesRequest(parent=parent), metadata=md),
        ):
            await expect(grpc.StatusCode.PERMISSION_DENIED, call)
    # Theirs is untouched; under my own name their id (or any unknown id) is simply not found.
    assert (await stub.GetActivity(pb.GetActivityRequest(name=theirs.name), metadata=other_md)).notes == ""
    their_id = theirs.name.rsplit("/", 1)[1]
    await expect(grpc.StatusCode.NOT_FOUND, stub.GetActivity(
        pb.GetActivityRequest(name=f"users/me/activities/{their_id}"), metadata=md))
    await expect(grpc.StatusCode.NOT_FOUND, stub.GetSleepSession(
        pb.GetSleepSessionRequest(name=f"users/{me}/sleepSessions/not-a-uuid"), metadata=md))
    await expect(grpc.StatusCode.UNAUTHENTICATED, stub.ListActivities(pb.ListActivitiesRequest(parent="users/me")))
