"""The public services in-process, each built by its real app.build() and served over real gRPC on
port 0 against the session's PostgreSQL, on an event loop of their own in a thread: hypothesis
drives examples synchronously, so the fuzz client is a plain blocking channel.

Two users: A makes every fuzzed call; B has data of every kind, marked with strings that appear
nowhere else, so an answer to A that holds one of them (or one of B's ids A never sent) is a leak.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import logging
import threading
import uuid
from dataclasses import dataclass, field

import grpc
from google.protobuf import field_mask_pb2, message, timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from healthmesh.auth.v1 import api_key_pb2, auth_service_pb2, auth_service_pb2_grpc, user_pb2
from healthmesh.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc
from healthmesh.tracking.v1 import (
    activity_pb2, goal_pb2, nutrition_entry_pb2, sample_pb2, sleep_session_pb2, tracking_service_pb2 as pb,
    tracking_service_pb2_grpc,
)

from services.common.contract import methods, public_services
from services.common.db import migrate
from services.common.server import create_server, stop_server
from tests.integration.conftest import make_settings

PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 1, 7, 0, tzinfo=dt.UTC)


def ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


@dataclass
class Served:
    built: object
    server: grpc.aio.Server
    port: int


@dataclass
class User:
    id: str
    email: str
    md: tuple
    refresh_token: str
    secrets: list[str] = field(default_factory=list)  # strings only this user's data holds
    ids: list[str] = field(default_factory=list)  # the user's id and the ids of their resources
    names: list[str] = field(default_factory=list)  # their resources' names
    request_ids: list[str] = field(default_factory=list)
    page_token: str = ""


class Tripwire(logging.Handler):
    """Keeps what a client's mistake must never log: a traceback, or anything at ERROR."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        return [f"{r.name} {r.levelname}: {r.getMessage()[:300]}" for r in taken]


async def _build_services(dsn: str) -> dict[str, Served]:
    """owner -> its running server, for every public service that has an app to build (Insight
    has none yet: its RPCs are skipped)."""
    from services.auth.app import build as build_auth
    from services.ingest.app import build as build_ingest
    from services.tracking.app import build as build_tracking

    for schema in ("auth", "tracking", "ingest"):
        await migrate(dsn, schema)
    served: dict[str, Served] = {}

    async def serve(owner: str, built) -> Served:
        server, port = await create_server(built.runtime, built.add_servicers)
        served[owner] = Served(built, server, port)
        return served[owner]

    auth = await serve("auth", await build_auth(make_settings(dsn)))
    auth.built.runtime.audit.start()
    tracking = await serve("tracking", await build_tracking(make_settings(dsn, auth_addr=f"127.0.0.1:{auth.port}")))
    peers = dict(auth_addr=f"127.0.0.1:{auth.port}", tracking_addr=f"127.0.0.1:{tracking.port}")
    await serve("ingest", await build_ingest(make_settings(dsn, **peers)))
    if importlib.util.find_spec("services.device.app") is not None:
        from services.device.app import build as build_device

        await migrate(dsn, "device")
        await serve("device", await build_device(make_settings(dsn, **peers)))
    return served


class Mesh:
    def __init__(self, dsn: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-mesh", daemon=True)
        self.thread.start()
        self.served = self.run(_build_services(dsn))
        self.channels = {owner: grpc.insecure_channel(f"127.0.0.1:{s.port}") for owner, s in self.served.items()}
        self.auth = auth_service_pb2_grpc.AuthServiceStub(self.channels["auth"])
        self.tracking = tracking_service_pb2_grpc.TrackingServiceStub(self.channels["tracking"])
        self.ingest = ingest_service_pb2_grpc.IngestServiceStub(self.channels["ingest"])
        self.wait_serving()

    def run(self, coro, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()

        async def stop() -> None:
            for s in reversed(list(self.served.values())):
                await stop_server(s.server, s.built.runtime, 0.5)
                await s.built.close()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def status(self, owner: str) -> int:
        stub = health_pb2_grpc.HealthStub(self.channels[owner])
        return stub.Check(health_pb2.HealthCheckRequest(service=public_services()[owner]), timeout=5).status

    def wait_serving(self, attempts: int = 60) -> None:
        """Every service answers SERVING: readiness checks every 2 s, so a new one may need a few."""
        import time

        for owner in self.served:
            for _ in range(attempts):
                if self.status(owner) == health_pb2.HealthCheckResponse.SERVING:
                    break
                time.sleep(0.25)
            else:
                raise AssertionError(f"{owner} is not SERVING")

    # -- users ---------------------------------------------------------------------------------

    def new_user(self, tag: str) -> User:
        email = f"{tag}-{uuid.uuid4().hex[:10]}@example.org"
        user = self.auth.Register(auth_service_pb2.RegisterRequest(
            email=email, password=PASSWORD, display_name=f"{tag} secret", birth_date="1990-04-01",
            sex=user_pb2.FEMALE))
        session = self.auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
        user_id = user.name.removeprefix("users/")
        return User(user_id, email, (("authorization", f"Bearer {session.access_token}"),),
                    session.refresh_token, secrets=[email], ids=[user_id], names=[user.name])

    def alive(self, user: User) -> bool:
        try:
            self.auth.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=user.md, timeout=10)
            return True
        except grpc.RpcError:
            return False

    def seed(self, user: User) -> None:
        """Data of every kind, each carrying a string only this user has."""
        mark = f"{user.id[:8]}-{uuid.uuid4().hex[:12]}"
        user.secrets += [f"src-{mark}", f"run-{mark}", f"night-{mark}", f"food-{mark}", f"goal-{mark}",
                         f"key-{mark}", f"dev-{mark}"]
        md = user.md

        def keep(name: str, request_id: str = "") -> None:
            user.names.append(name)
            user.ids.append(name.rsplit("/", 1)[-1])
            if request_id:
                user.request_ids.append(request_id)

        for minutes in range(3):
            request_id = str(uuid.uuid4())
            got = self.tracking.CreateSample(pb.CreateSampleRequest(parent="users/me", request_id=request_id, sample=(
                sample_pb2.Sample(type="heart_rate", unit="count/min", value=61 + minutes, source=f"src-{mark}",
                                  start_time=ts(START + dt.timedelta(minutes=minutes))))), metadata=md)
            keep(got.name, request_id)
        got = self.tracking.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=activity_pb2.Activity(
            type="running", display_name=f"run-{mark}", start_time=ts(START),
            end_time=ts(START + dt.timedelta(minutes=30)))), metadata=md)
        keep(got.name)
        got = self.tracking.CreateSleepSession(pb.CreateSleepSessionRequest(
            parent="users/me", sleep_session=sleep_session_pb2.SleepSession(
                start_time=ts(START - dt.timedelta(hours=8)), end_time=ts(START), notes=f"night-{mark}")),
            metadata=md)
        keep(got.name)
        got = self.tracking.CreateNutritionEntry(pb.CreateNutritionEntryRequest(
            parent="users/me", nutrition_entry=nutrition_entry_pb2.NutritionEntry(
                food_name=f"food-{mark}", consume_time=ts(START), calories_kcal=80)), metadata=md)
        keep(got.name)
        got = self.tracking.CreateGoal(pb.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
            display_name=f"goal-{mark}", metric="step_count", target_value=10_000, period=goal_pb2.Goal.DAILY)),
            metadata=md)
        keep(got.name)
        key = self.auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
            parent="users/me", api_key=api_key_pb2.ApiKey(display_name=f"key-{mark}")), metadata=md)
        keep(key.api_key.name)
        user.secrets.append(key.secret)
        request_id = str(uuid.uuid4())
        got = self.ingest.IngestBatch(ingest_service_pb2.IngestBatchRequest(
            parent="users/me", request_id=request_id, samples=[sample_pb2.Sample(
                type="step_count", unit="count", value=100, source=f"src-{mark}", start_time=ts(START),
                end_time=ts(START + dt.timedelta(minutes=5)))]), metadata=md)
        keep(got.name, request_id)
        if "device" in self.served:
            from healthmesh.device.v1 import device_pb2, device_service_pb2, device_service_pb2_grpc

            stub = device_service_pb2_grpc.DeviceServiceStub(self.channels["device"])
            got = stub.CreateDevice(device_service_pb2.CreateDeviceRequest(
                parent="users/me", device=device_pb2.Device(display_name=f"dev-{mark}")), metadata=md)
            keep(got.name)
        page = self.tracking.ListSamples(pb.ListSamplesRequest(parent="users/me", page_size=1), metadata=md)
        user.page_token = page.next_page_token


def templates(user: User) -> list[message.Message]:
    """Valid requests, which the fuzz mutates a field or two of: a random request seldom gets past
    the first check, a mutated valid one reaches the services' own rules and their storage."""
    def own(kind: str) -> str:
        newest = (n for n in reversed(user.names) if f"/{kind}/" in n)  # the seeding after a Delete* test
        return next(newest, f"users/me/{kind}/x").replace(f"users/{user.id}", "users/me")

    at = [START + dt.timedelta(minutes=m) for m in range(3)]
    sample = sample_pb2.Sample(type="heart_rate", unit="count/min", value=61, min=55, max=70, source="Watch",
                               start_time=ts(START), end_time=ts(START + dt.timedelta(minutes=1)))
    activity = activity_pb2.Activity(
        type="running", display_name="Run", start_time=ts(START), end_time=ts(START + dt.timedelta(minutes=30)),
        distance_meters=5000, active_energy_kcal=300, heart_rate=activity_pb2.HeartRateSummary(avg_bpm=140),
        heart_rate_series=[activity_pb2.HeartRatePoint(time=ts(t), bpm=140) for t in at],
        route=[activity_pb2.RoutePoint(time=ts(t), latitude=52.5, longitude=13.4, horizontal_accuracy_meters=5)
               for t in at])
    night = sleep_session_pb2.SleepSession(
        start_time=ts(START - dt.timedelta(hours=8)), end_time=ts(START), notes="ok",
        stages=[sleep_session_pb2.SleepStagePeriod(stage=2, start_time=ts(START - dt.timedelta(hours=8)),
                                                   end_time=ts(START - dt.timedelta(hours=7)))])
    food = nutrition_entry_pb2.NutritionEntry(food_name="Apple", consume_time=ts(START), calories_kcal=80)
    goal = goal_pb2.Goal(display_name="Walk", metric="step_count", target_value=10_000, period=goal_pb2.Goal.DAILY)
    window = dict(start_time=ts(START - dt.timedelta(days=7)), end_time=ts(START + dt.timedelta(days=1)))
    found = [
        auth_service_pb2.RegisterRequest(email=f"t{uuid.uuid4().hex[:8]}@example.org", password=PASSWORD,
                                         display_name="T", birth_date="1990-04-01", sex=user_pb2.FEMALE),
        auth_service_pb2.LoginRequest(email=user.email, password=PASSWORD + "!"),
        auth_service_pb2.UpdateUserRequest(user=user_pb2.User(name="users/me", display_name="Ada", time_zone="UTC"),
                                           update_mask=field_mask_pb2.FieldMask(paths=["display_name", "time_zone"])),
        auth_service_pb2.CreateApiKeyRequest(parent="users/me", api_key=api_key_pb2.ApiKey(display_name="k")),
        pb.CreateSampleRequest(parent="users/me", sample=sample),
        pb.BatchCreateSamplesRequest(parent="users/me", samples=[sample, sample]),
        pb.ListSamplesRequest(parent="users/me", type="heart_rate", page_size=2, **window),
        pb.AggregateSamplesRequest(parent="users/me", type="step_count", interval=2, **window),
        pb.GetLatestSamplesRequest(parent="users/me", types=["heart_rate"]),
        pb.CreateActivityRequest(parent="users/me", activity=activity),
        pb.UpdateActivityRequest(activity=activity_pb2.Activity(name=own("activities"), display_name="R2"),
                                 update_mask=field_mask_pb2.FieldMask(paths=["display_name"])),
        pb.CreateSleepSessionRequest(parent="users/me", sleep_session=night),
        pb.AnalyzeSleepRequest(parent="users/me", **window),
        pb.GetHeartRateZonesRequest(parent="users/me", **window),
        pb.CreateNutritionEntryRequest(parent="users/me", nutrition_entry=food),
        pb.SummarizeNutritionRequest(parent="users/me", start_date="2026-02-22", end_date="2026-03-01"),
        pb.CreateGoalRequest(parent="users/me", goal=goal),
        pb.UpdateGoalRequest(goal=goal_pb2.Goal(name=own("goals"), target_value=9000),
                             update_mask=field_mask_pb2.FieldMask(paths=["target_value"])),
        pb.GetGoalProgressRequest(name=own("goals"), history_periods=7),
        ingest_service_pb2.IngestBatchRequest(parent="users/me", samples=[sample]),
    ]
    return found


def public_rpcs() -> list:
    """Every method of every public service the contracts list, by path."""
    public = set(public_services().values())
    return [m for m in methods() if m.service_full_name in public]
