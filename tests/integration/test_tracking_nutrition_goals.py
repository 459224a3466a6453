"""Nutrition entries and goals over real gRPC and a real PostgreSQL, with users from the Auth
harness, profiles read from Auth, goal progress read from the real samples store, and every
service on one fixed clock (no test lives on today's date)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from healthmesh.tracking.v1 import (
    achievement_pb2, goal_pb2, nutrition_entry_pb2, tracking_service_pb2, tracking_service_pb2_grpc,
)
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.audit import AuditLog
from services.common.clock import fixed
from services.common.credentials import AccessTokenVerifier, Authenticator
from services.common.db import migrate
from services.common.pagination import PageTokens
from services.common.peers import Peers
from services.common.server import Runtime, ServiceSpec, create_server, stop_server
from services.tracking.app import metric_of
from services.tracking.goals.repository import SqlGoalRepository
from services.tracking.goals.rpc import GoalRpcs
from services.tracking.goals.service import GoalService
from services.tracking.nutrition.repository import SqlNutritionRepository
from services.tracking.nutrition.rpc import NutritionRpcs
from services.tracking.nutrition.service import NutritionService
from services.tracking.profiles import AuthProfiles
from services.tracking.samples.columns import SampleInput
from services.tracking.samples.service import SampleService
from tests.integration.conftest import SERVICE_TOKEN, make_settings
from tests.integration.tracking_harness import sample_service

PASSWORD = "correct horse battery"
ZONE = "Europe/Paris"
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)  # the services' clock: 12:00 in Paris (UTC+2)


class _S(NutritionRpcs, GoalRpcs, tracking_service_pb2_grpc.TrackingServiceServicer):
    def __init__(self, nutrition: NutritionService, goals: GoalService) -> None:
        self.nutrition = nutrition
        self.goals = goals
        self.page_tokens = PageTokens.from_config("", SERVICE_TOKEN)


@pytest.fixture(scope="session")
def tracking_dsn(migrated_dsn: str) -> str:
    asyncio.run(migrate(migrated_dsn, "tracking"))
    return migrated_dsn


@pytest.fixture
async def env(tracking_dsn, auth_harness):
    settings = make_settings(tracking_dsn, auth_addr=f"127.0.0.1:{auth_harness.port}")
    peers = Peers(settings, "tracking")
    authenticator = Authenticator(AccessTokenVerifier(peers.fetch_jwks, settings.token_issuer),
                                  peers.authenticate_api_key, SERVICE_TOKEN)

    async def sink(batch):
        pass

    runtime = Runtime(ServiceSpec("tracking"), authenticator, AuditLog(sink, flush_seconds=60), peers)
    engine = create_async_engine(settings.sqlalchemy_url)
    profiles = AuthProfiles(peers)
    samples = sample_service(engine, profiles, fixed(NOW))
    servicer = _S(NutritionService(SqlNutritionRepository(engine), profiles, clock=fixed(NOW)),
                  GoalService(SqlGoalRepository(engine), samples, metric_of, profiles, clock=fixed(NOW)))
    server, port = await create_server(
        runtime, lambda s: tracking_service_pb2_grpc.add_TrackingServiceServicer_to_server(servicer, s))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield tracking_service_pb2_grpc.TrackingServiceStub(channel), auth_service_pb2_grpc.AuthServiceStub(
        auth_harness.channel), samples
    await channel.close()
    await stop_server(server, runtime, 0.1)
    await engine.dispose()
    await peers.close()


async def user(auth) -> tuple[uuid.UUID, tuple[tuple[str, str]]]:
    email = f"u{uuid.uuid4().hex[:10]}@example.org"
    await auth.Register(auth_service_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="Ada",
                                                         time_zone=ZONE))
    session = await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
    return uuid.UUID(session.user.name.removeprefix("users/")), (("authorization", f"Bearer {session.access_token}"),)


async def write_steps(samples: SampleService, user_id: uuid.UUID, points: list[tuple[dt.datetime, float]]) -> None:
    """Stores step counts at local times through the samples' write path (what BatchCreateSamples calls)."""
    result = await samples.write(user_id, [
        SampleInput("step_count", at.astimezone(dt.UTC), None, int(at.utcoffset().total_seconds() // 60), value,
                    None, None, None, "count", "iPhone") for at, value in points])
    assert (result.accepted, result.errors) == (len(points), [])


def in_paris(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(ZONE))


def ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def bad_fields(err: grpc.aio.AioRpcError) -> set[str]:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                bad = error_details_pb2.BadRequest()
                if detail.Unpack(bad):
                    return {v.field for v in bad.field_violations}
    return set()


async def fails(call, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()
    return err.value


async def test_nutrition_entries_end_to_end(env):
    stub, auth, _ = env
    user_id, md = await user(auth)
    now = NOW
    made = []
    for i, meal in enumerate((nutrition_entry_pb2.BREAKFAST, nutrition_entry_pb2.LUNCH, nutrition_entry_pb2.LUNCH)):
        made.append(await stub.CreateNutritionEntry(tracking_service_pb2.CreateNutritionEntryRequest(
            parent="users/me", nutrition_entry=nutrition_entry_pb2.NutritionEntry(
                meal_type=meal, consume_time=ts(now - dt.timedelta(hours=3 - i)), food_name=f"meal {i}",
                calories_kcal=100.0 * (i + 1), water_ml=250)), metadata=md))
    first = made[0]
    assert first.name.startswith(f"users/{user_id}/nutritionEntries/")
    offset = int(now.astimezone(ZoneInfo(ZONE)).utcoffset().total_seconds() // 60)
    assert first.utc_offset_minutes == offset  # from the profile's zone, read from Auth
    assert first.HasField("calories_kcal") and not first.HasField("protein_grams")

    got = await stub.GetNutritionEntry(tracking_service_pb2.GetNutritionEntryRequest(name=first.name), metadata=md)
    assert got == first

    page = await stub.ListNutritionEntries(tracking_service_pb2.ListNutritionEntriesRequest(
        parent=f"users/{user_id}", page_size=2), metadata=md)
    assert [e.name for e in page.nutrition_entries] == [made[2].name, made[1].name] and page.next_page_token
    rest = await stub.ListNutritionEntries(tracking_service_pb2.ListNutritionEntriesRequest(
        parent="users/me", page_size=2, page_token=page.next_page_token), metadata=md)
    assert [e.name for e in rest.nutrition_entries] == [first.name] and not rest.next_page_token
    lunches = await stub.ListNutritionEntries(tracking_service_pb2.ListNutritionEntriesRequest(
        parent="users/me", meal_type=nutrition_entry_pb2.LUNCH), metadata=md)
    assert len(lunches.nutrition_entries) == 2
    err = await fails(stub.ListNutritionEntries(tracking_service_pb2.ListNutritionEntriesRequest(
        parent="users/me", meal_type=nutrition_entry_pb2.LUNCH, page_token=page.next_page_token), metadata=md),
        grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(err) == {"page_token"}

    updated = await stub.UpdateNutritionEntry(tracking_service_pb2.UpdateNutritionEntryRequest(
        nutrition_entry=nutrition_entry_pb2.NutritionEntry(name=first.name, protein_grams=12.5, food_name="Oats"),
        update_mask=field_mask_pb2.FieldMask(paths=["protein_grams", "food_name", "water_ml"])), metadata=md)
    assert (updated.protein_grams, updated.food_name, updated.calories_kcal) == (12.5, "Oats", 100)
    assert not updated.HasField("water_ml") and updated.create_time == first.create_time
    err = await fails(stub.UpdateNutritionEntry(tracking_service_pb2.UpdateNutritionEntryRequest(
        nutrition_entry=nutrition_entry_pb2.NutritionEntry(name=first.name),
        update_mask=field_mask_pb2.FieldMask(paths=["local_date"])), metadata=md), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(err) == {"update_mask"}

    today = now.astimezone(ZoneInfo(ZONE)).date()
    summary = await stub.SummarizeNutrition(tracking_service_pb2.SummarizeNutritionRequest(
        parent="users/me", start_date=(today - dt.timedelta(days=2)).isoformat(),
        end_date=(today + dt.timedelta(days=1)).isoformat()), metadata=md)
    assert len(summary.days) == 4 and summary.days[0].entry_count == 0
    counted = {d.local_date: d for d in summary.days}
    assert sum(d.entry_count for d in summary.days) == 3
    assert sum(d.calories_kcal for d in summary.days) == 600 and sum(d.water_ml for d in summary.days) == 500
    assert all(counted[e.local_date].entry_count for e in made)

    await stub.DeleteNutritionEntry(tracking_service_pb2.DeleteNutritionEntryRequest(name=first.name), metadata=md)
    await fails(stub.GetNutritionEntry(tracking_service_pb2.GetNutritionEntryRequest(name=first.name), metadata=md),
                grpc.StatusCode.NOT_FOUND)
    await fails(stub.DeleteNutritionEntry(tracking_service_pb2.DeleteNutritionEntryRequest(name=first.name),
                                          metadata=md), grpc.StatusCode.NOT_FOUND)


async def test_nutrition_validation_and_idempotency(env):
    stub, auth, _ = env
    _, md = await user(auth)
    err = await fails(stub.CreateNutritionEntry(tracking_service_pb2.CreateNutritionEntryRequest(
        parent="users/me",
        nutrition_entry=nutrition_entry_pb2.NutritionEntry(calories_kcal=-1, utc_offset_minutes=5000)),
        metadata=md), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(err) == {"nutrition_entry.consume_time", "nutrition_entry.calories_kcal",
                               "nutrition_entry.utc_offset_minutes"}
    rid = str(uuid.uuid4())
    request = tracking_service_pb2.CreateNutritionEntryRequest(
        parent="users/me", request_id=rid, nutrition_entry=nutrition_entry_pb2.NutritionEntry(
            consume_time=ts(dt.datetime(2026, 1, 5, 23, 30, tzinfo=dt.UTC)), utc_offset_minutes=-300, caffeine_mg=95))
    first = await stub.CreateNutritionEntry(request, metadata=md)
    assert first.local_date == "2026-01-05"  # its own offset, not the profile's zone
    assert await stub.CreateNutritionEntry(request, metadata=md) == first
    listed = await stub.ListNutritionEntries(tracking_service_pb2.ListNutritionEntriesRequest(parent="users/me"),
                                             metadata=md)
    assert len(listed.nutrition_entries) == 1
    for start, end in (("2026-01-10", "2026-01-01"), ("2026-1-1", ""), ("2024-01-01", "2026-01-01")):
        await fails(stub.SummarizeNutrition(tracking_service_pb2.SummarizeNutritionRequest(
            parent="users/me", start_date=start, end_date=end), metadata=md), grpc.StatusCode.INVALID_ARGUMENT)


async def test_goals_end_to_end_with_progress_and_achievements(env):
    stub, auth, samples = env
    user_id, md = await user(auth)
    today = NOW.astimezone(ZoneInfo(ZONE)).date()
    goal = await stub.CreateGoal(tracking_service_pb2.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
        metric="step_count", target_value=10_000, period=goal_pb2.Goal.DAILY,
        start_date=(today - dt.timedelta(days=5)).isoformat())), metadata=md)
    assert goal.name.startswith(f"users/{user_id}/goals/") and goal.unit == "{count}"
    assert goal.state == goal_pb2.Goal.ACTIVE and goal.comparison == goal_pb2.Goal.AT_LEAST and goal.display_name
    # Per local day from 5 days back to today: 4,000, 10,000, 12,000, 15,000, 11,000 and 2,500 so far.
    # Samples just after local midnight are on the day before in UTC: the days are the samples' own.
    day = [today - dt.timedelta(days=back) for back in range(7)]
    await write_steps(samples, user_id, [
        (in_paris(day[6], 9), 9_000),  # before the goal's start date: never counted
        (in_paris(day[5], 0, 30), 1_000), (in_paris(day[5], 9), 3_000),
        (in_paris(day[4], 8), 6_000), (in_paris(day[4], 19), 4_000),
        (in_paris(day[3], 12), 12_000),
        (in_paris(day[2], 0, 30), 1_000), (in_paris(day[2], 12), 14_000),
        (in_paris(day[1], 10), 11_000),
        (in_paris(day[0], 8), 2_500)])

    name = goal.name
    progress = await stub.GetGoalProgress(tracking_service_pb2.GetGoalProgressRequest(name=name), metadata=md)
    assert (progress.goal, progress.metric, progress.unit) == (name, "step_count", "{count}")
    assert progress.period_start_date == progress.period_end_date == today.isoformat()
    assert (progress.current_value, progress.percent, progress.met) == (2_500, 25.0, False)
    assert (progress.current_streak, progress.best_streak) == (4, 4)
    assert [h.value for h in progress.history] == [11_000, 15_000, 12_000, 10_000, 4_000]
    kinds = [(a.kind, a.streak_length) for a in progress.achievements]
    assert kinds == [(achievement_pb2.Achievement.STREAK, 3), (achievement_pb2.Achievement.FIRST_TARGET_MET, 0)]
    assert all(a.name.startswith(name + "/achievements/") for a in progress.achievements)
    again = await stub.GetGoalProgress(tracking_service_pb2.GetGoalProgressRequest(name=name, history_periods=1),
                                       metadata=md)
    assert [a.name for a in again.achievements] == [a.name for a in progress.achievements]  # awarded once
    assert len(again.history) == 1

    updated = await stub.UpdateGoal(tracking_service_pb2.UpdateGoalRequest(
        goal=goal_pb2.Goal(name=name, target_value=12_000, state=goal_pb2.Goal.PAUSED),
        update_mask=field_mask_pb2.FieldMask(paths=["target_value", "state"])), metadata=md)
    assert (updated.target_value, updated.state, updated.metric) == (12_000, goal_pb2.Goal.PAUSED, "step_count")
    err = await fails(stub.UpdateGoal(tracking_service_pb2.UpdateGoalRequest(
        goal=goal_pb2.Goal(name=name, metric="water"), update_mask=field_mask_pb2.FieldMask(paths=["metric"])),
        metadata=md), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(err) == {"update_mask"}

    water = await stub.CreateGoal(tracking_service_pb2.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
        metric="water", target_value=2000, period=goal_pb2.Goal.DAILY)), metadata=md)
    listed = await stub.ListGoals(tracking_service_pb2.ListGoalsRequest(parent="users/me", page_size=1), metadata=md)
    assert [g.name for g in listed.goals] == [water.name] and listed.next_page_token
    rest = await stub.ListGoals(tracking_service_pb2.ListGoalsRequest(
        parent="users/me", page_size=1, page_token=listed.next_page_token), metadata=md)
    assert [g.name for g in rest.goals] == [name] and not rest.next_page_token
    paused = await stub.ListGoals(tracking_service_pb2.ListGoalsRequest(
        parent="users/me", state=goal_pb2.Goal.PAUSED), metadata=md)
    assert [g.name for g in paused.goals] == [name]

    await stub.DeleteGoal(tracking_service_pb2.DeleteGoalRequest(name=name), metadata=md)
    await fails(stub.GetGoalProgress(tracking_service_pb2.GetGoalProgressRequest(name=name), metadata=md),
                grpc.StatusCode.NOT_FOUND)


async def test_goal_validation_and_idempotency(env):
    stub, auth, _ = env
    _, md = await user(auth)
    err = await fails(stub.CreateGoal(tracking_service_pb2.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
        metric="steps", target_value=-5, start_date="2026-02-30", state=goal_pb2.Goal.EXPIRED)), metadata=md),
        grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(err) == {"goal.metric", "goal.target_value", "goal.period", "goal.start_date", "goal.state"}
    request = tracking_service_pb2.CreateGoalRequest(
        parent="users/me", request_id=str(uuid.uuid4()), goal=goal_pb2.Goal(
            metric="water", target_value=2000, period=goal_pb2.Goal.WEEKLY, start_date="2026-01-01",
            target_date="2026-12-31"))
    first = await stub.CreateGoal(request, metadata=md)
    assert await stub.CreateGoal(request, metadata=md) == first
    await fails(stub.GetGoalProgress(tracking_service_pb2.GetGoalProgressRequest(name=first.name, history_periods=400),
                                     metadata=md), grpc.StatusCode.INVALID_ARGUMENT)


async def test_another_users_names_are_permission_denied(env):
    stub, auth, _ = env
    owner, owner_md = await user(auth)
    _, md = await user(auth)
    goal = await stub.CreateGoal(tracking_service_pb2.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
        metric="water", target_value=2000, period=goal_pb2.Goal.DAILY)), metadata=owner_md)
    entry = await stub.CreateNutritionEntry(tracking_service_pb2.CreateNutritionEntryRequest(
        parent="users/me", nutrition_entry=nutrition_entry_pb2.NutritionEntry(
            consume_time=ts(dt.datetime(2026, 1, 5, tzinfo=dt.UTC)), water_ml=300)), metadata=owner_md)
    missing = str(uuid.uuid4())
    parent = f"users/{owner}"
    for entry_name in (entry.name, f"{parent}/nutritionEntries/{missing}"):
        for call in (
            stub.GetNutritionEntry(tracking_service_pb2.GetNutritionEntryRequest(name=entry_name), metadata=md),
            stub.DeleteNutritionEntry(tracking_service_pb2.DeleteNutritionEntryRequest(name=entry_name), metadata=md),
            stub.UpdateNutritionEntry(tracking_service_pb2.UpdateNutritionEntryRequest(
                nutrition_entry=nutrition_entry_pb2.NutritionEntry(name=entry_name, notes="x"),
                update_mask=field_mask_pb2.FieldMask(paths=["notes"])), metadata=md),
        ):
            await fails(call, grpc.StatusCode.PERMISSION_DENIED)
    for goal_name in (goal.name, f"{parent}/goals/{missing}"):
        for call in (
            stub.GetGoal(tracking_service_pb2.GetGoalRequest(name=goal_name), metadata=md),
            stub.DeleteGoal(tracking_service_pb2.DeleteGoalRequest(name=goal_name), metadata=md),
            stub.GetGoalProgress(tracking_service_pb2.GetGoalProgressRequest(name=goal_name), metadata=md),
            stub.UpdateGoal(tracking_service_pb2.UpdateGoalRequest(
                goal=goal_pb2.Goal(name=goal_name, display_name="x"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"])), metadata=md),
        ):
            await fails(call, grpc.StatusCode.PERMISSION_DENIED)
    for call in (
        stub.ListNutritionEntries(tracking_service_pb2.ListNutritionEntriesRequest(parent=parent), metadata=md),
        stub.CreateNutritionEntry(tracking_service_pb2.CreateNutritionEntryRequest(
            parent=parent, nutrition_entry=entry), metadata=md),
        stub.SummarizeNutrition(tracking_service_pb2.SummarizeNutritionRequest(parent=parent), metadata=md),
        stub.ListGoals(tracking_service_pb2.ListGoalsRequest(parent=parent), metadata=md),
        stub.CreateGoal(tracking_service_pb2.CreateGoalRequest(parent=parent, goal=goal), metadata=md),
    ):
        await fails(call, grpc.StatusCode.PERMISSION_DENIED)
    # Under one's own name an unknown id is NOT_FOUND, and the owner still sees everything.
    await fails(stub.GetGoal(tracking_service_pb2.GetGoalRequest(name=f"users/me/goals/{missing}"), metadata=md),
                grpc.StatusCode.NOT_FOUND)
    await fails(stub.GetNutritionEntry(tracking_service_pb2.GetNutritionEntryRequest(
        name="users/me/nutritionEntries/not-a-uuid"), metadata=md), grpc.StatusCode.NOT_FOUND)
    assert (await stub.GetGoal(tracking_service_pb2.GetGoalRequest(name=goal.name), metadata=owner_md)) == goal
