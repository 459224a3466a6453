"""The Python SDK (client/healthmesh_client) against the running mesh, over gRPC through Envoy.

Every public RPC is called through the SDK by one of the tests here: the client records the path of
each call it makes, and the last test fails when a method of the generated table had none (so a new
RPC needs a test call). Sync and asyncio forms, errors with their details, a pagination iterator over
several pages, the alerts watch and the telemetry stream; token refresh and retries need a mesh of
their own (a short token lifetime, a stopped service) and are in test_sdk_resilience.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import grpc
import pytest
from google.api import httpbody_pb2
from google.protobuf import field_mask_pb2, timestamp_pb2
from healthmesh.auth.v1 import api_key_pb2, user_pb2
from healthmesh.device.v1 import device_pb2, device_service_pb2 as device_pb
from healthmesh.insight.v1 import alert_rule_pb2
from healthmesh.tracking.v1 import activity_pb2, goal_pb2, nutrition_entry_pb2, sample_pb2, sleep_session_pb2

import healthmesh_client as hm
from tests.e2e.conftest import PASSWORD, REPO, MeshProcess

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WAIT_SECONDS = 60
CALLED: set[str] = set()  # every RPC path a client of these tests called
T = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def ts(t: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(t)
    return stamp


def recorded(client):
    """The client, its calls' paths recorded in CALLED (at the one place a call's stub is made)."""
    made = client.transport._callable

    def recording(method):
        CALLED.add(method.path)
        return made(method)
    client.transport._callable = recording
    return client


def new_login(mesh: MeshProcess) -> tuple[hm.Client, str]:
    """A fresh user, registered and logged in through the SDK; (client, email)."""
    email = f"sdk-{uuid.uuid4().hex[:12]}@example.org"
    client = recorded(hm.Client(mesh.grpc))
    client.auth.register(email=email, password=PASSWORD, display_name="SDK")
    client.login(email, PASSWORD)
    return client, email


@pytest.fixture
def client(mesh):
    c, _ = new_login(mesh)
    yield c
    c.close()


def poll(fetch, done, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = fetch()
        if done(result) or time.monotonic() > deadline:
            assert done(result), f"{what}: {result}"
            return result
        time.sleep(0.2)


def next_within(iterator, what: str):
    """next(iterator), failing (not hanging) when nothing comes within WAIT_SECONDS: the wait runs
    in a daemon thread, which a stuck stream cannot keep the test run from ending."""
    box: queue.Queue = queue.Queue()

    def take() -> None:
        try:
            box.put((True, next(iterator)))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            box.put((False, exc))
    threading.Thread(target=take, daemon=True).start()
    try:
        ok, value = box.get(timeout=WAIT_SECONDS)
    except queue.Empty:
        raise AssertionError(f"no {what} within {WAIT_SECONDS} s") from None
    if not ok:
        raise value
    return value


def heart_rate(t: dt.datetime, bpm: float = 64) -> sample_pb2.Sample:
    return sample_pb2.Sample(type="heart_rate", start_time=ts(t), value=bpm, unit="/min")


# Auth.

def test_auth_account_keys_tokens_and_audit(mesh, client):
    me = client.auth.get_user(name="users/me")
    assert isinstance(me, user_pb2.User) and me.display_name == "SDK"
    renamed = client.auth.update_user(user=user_pb2.User(name=me.name, display_name="Renamed"),
                                      update_mask=field_mask_pb2.FieldMask(paths=["display_name"]))
    assert renamed.display_name == "Renamed"
    assert client.auth.get_jwks().keys

    made = client.auth.create_api_key(parent="users/me", api_key=api_key_pb2.ApiKey(display_name="sdk key"))
    assert made.secret and made.api_key.name.startswith(me.name + "/apiKeys/")
    with hm.Client(mesh.grpc, api_key=made.secret) as by_key:
        assert by_key.auth.get_user(name="users/me").name == me.name
    assert [k.name for k in client.auth.list_api_keys(parent="users/me").api_keys] == [made.api_key.name]
    client.auth.delete_api_key(name=made.api_key.name)
    assert list(client.auth.iter_api_keys(parent="users/me")) == []

    events = poll(lambda: client.auth.list_audit_events(parent="users/me", page_size=1000).audit_events,
                  lambda es: any(e.action.endswith("/CreateApiKey") for e in es), "the audit event of CreateApiKey")
    assert events

    refreshed = client.auth.refresh_token(refresh_token=client.credentials.refresh_token)
    assert refreshed.access_token and refreshed.user.name == me.name
    client.auth.logout(refresh_token=refreshed.refresh_token)  # ends the session, its access tokens with it
    with pytest.raises(hm.Unauthenticated) as refused:
        client.auth.refresh_token(refresh_token=refreshed.refresh_token)
    assert refused.value.reason == "REFRESH_TOKEN_INVALID"


def test_auth_password_sessions_and_erasure(mesh):
    client, email = new_login(mesh)
    with client:
        client.auth.change_password(name="users/me", current_password=PASSWORD, new_password=PASSWORD + "!")
        client.login(email, PASSWORD + "!")
        client.auth.revoke_sessions(name="users/me")
        client.login(email, PASSWORD + "!")
        client.auth.delete_user(name="users/me")
        with pytest.raises(hm.ApiError):
            client.login(email, PASSWORD + "!")


def test_errors_carry_code_reason_domain_and_field_violations(client):
    with pytest.raises(hm.InvalidArgument) as bad:
        client.tracking.create_sample(parent="users/me", sample=sample_pb2.Sample(
            type="heart_rate", start_time=ts(T), value=64, unit="parsecs"))
    error = bad.value
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and isinstance(error, hm.ApiError)
    assert error.reason == "UNKNOWN_UNIT" and error.domain == "tracking.healthmesh"
    assert [v.field for v in error.field_violations] == ["sample.unit"] and error.field_violations[0].reason
    with pytest.raises(hm.NotFound) as missing:
        client.tracking.get_sample(name=f"users/me/samples/{uuid.uuid4()}")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND and missing.value.message
    with pytest.raises(TypeError):  # a request and its fields at once
        client.tracking.get_sample(sample_pb2.Sample(), name="x")


# Tracking.

def test_samples_pages_and_aggregates(client):
    assert any(t.type == "step_count" for t in client.tracking.list_sample_types().sample_types)
    made = client.tracking.create_sample(parent="users/me", sample=heart_rate(T))
    assert client.tracking.get_sample(name=made.name) == made
    client.tracking.delete_sample(name=made.name)
    steps = [sample_pb2.Sample(type="step_count", start_time=ts(T + dt.timedelta(hours=h)), value=100 + h,
                               unit="count") for h in range(7)]
    assert client.tracking.batch_create_samples(parent="users/me", samples=steps).accepted == 7
    first = client.tracking.list_samples(parent="users/me", type="step_count", page_size=2)
    assert len(first.samples) == 2 and first.next_page_token
    walked = list(client.tracking.iter_samples(parent="users/me", type="step_count", page_size=2))  # four pages
    assert [s.value for s in walked] == [106, 105, 104, 103, 102, 101, 100]  # newest first
    latest = client.tracking.get_latest_samples(parent="users/me", types=["step_count"]).samples
    assert [s.value for s in latest] == [106]
    aggregate = client.tracking.aggregate_samples(parent="users/me", type="step_count", interval="DAY",
                                                  start_time=ts(T - dt.timedelta(days=1)),
                                                  end_time=ts(T + dt.timedelta(days=1)))
    assert sum(b.sum for b in aggregate.buckets) == sum(range(100, 107))
    zones = client.tracking.get_heart_rate_zones(parent="users/me", start_time=ts(T),
                                                 end_time=ts(T + dt.timedelta(days=1)), max_heart_rate=190)
    assert zones is not None


def test_activities_sleep_nutrition_and_goals(client):
    t = client.tracking
    walk = t.create_activity(parent="users/me", activity=activity_pb2.Activity(
        type="walking", start_time=ts(T), end_time=ts(T + dt.timedelta(minutes=30))), request_id=str(uuid.uuid4()))
    assert t.get_activity(name=walk.name).name == walk.name
    walk.notes = "park"
    assert t.update_activity(activity=walk, update_mask=field_mask_pb2.FieldMask(paths=["notes"])).notes == "park"
    assert [a.name for a in t.iter_activities(parent="users/me")] == [walk.name]
    assert [a.name for a in t.list_activities(parent="users/me").activities] == [walk.name]
    t.delete_activity(name=walk.name)

    night = t.create_sleep_session(parent="users/me", sleep_session=sleep_session_pb2.SleepSession(
        start_time=ts(T - dt.timedelta(hours=8)), end_time=ts(T)))
    assert t.get_sleep_session(name=night.name).name == night.name
    night.notes = "deep"
    assert t.update_sleep_session(sleep_session=night, update_mask=field_mask_pb2.FieldMask(paths=["notes"])).notes
    assert [s.name for s in t.list_sleep_sessions(parent="users/me").sleep_sessions] == [night.name]
    assert t.analyze_sleep(parent="users/me", start_time=ts(T - dt.timedelta(days=2)), end_time=ts(T)) is not None
    t.delete_sleep_session(name=night.name)

    meal = t.create_nutrition_entry(parent="users/me", nutrition_entry=nutrition_entry_pb2.NutritionEntry(
        consume_time=ts(T), food_name="oats", calories_kcal=300))
    assert t.get_nutrition_entry(name=meal.name).food_name == "oats"
    meal.calories_kcal = 350
    assert t.update_nutrition_entry(nutrition_entry=meal,
                                    update_mask=field_mask_pb2.FieldMask(paths=["calories_kcal"])).calories_kcal == 350
    assert [m.name for m in t.list_nutrition_entries(parent="users/me").nutrition_entries] == [meal.name]
    assert t.summarize_nutrition(parent="users/me", start_date="2026-03-01", end_date="2026-03-01") is not None
    t.delete_nutrition_entry(name=meal.name)

    goal = t.create_goal(parent="users/me", goal=goal_pb2.Goal(metric="step_count", target_value=10_000,
                                                               period=goal_pb2.Goal.DAILY, start_date="2026-03-01"))
    assert t.get_goal(name=goal.name).target_value == 10_000
    goal.target_value = 12_000
    assert t.update_goal(goal=goal, update_mask=field_mask_pb2.FieldMask(paths=["target_value"])).target_value == 12_000
    assert [g.name for g in t.list_goals(parent="users/me").goals] == [goal.name]
    assert t.get_goal_progress(name=goal.name).goal == goal.name
    t.delete_goal(name=goal.name)


# Device.

def test_devices_uploads_health_and_syncs(client):
    d = client.device
    band = d.create_device(parent="users/me", device=device_pb2.Device(display_name="Band",
                                                                       capabilities=["heart_rate"]))
    assert d.get_device(name=band.name).display_name == "Band"
    band.display_name = "Band 2"
    assert d.update_device(device=band, update_mask=field_mask_pb2.FieldMask(paths=["display_name"])).display_name \
        == "Band 2"
    assert [x.name for x in d.list_devices(parent="users/me").devices] == [band.name]
    uploaded = d.upload_device_data(name=band.name, samples=[heart_rate(T)], request_id=str(uuid.uuid4()))
    assert uploaded.accepted == 1
    d.report_device_health(name=band.name, battery_percent=80, firmware_version="1.2")
    assert d.get_device_health(name=f"{band.name}/health").battery_percent == 80
    sync = d.trigger_sync(name=band.name)
    assert d.get_sync(name=sync.name).name == sync.name
    assert [s.name for s in d.list_syncs(parent=band.name).syncs] == [sync.name]
    with pytest.raises(hm.FailedPrecondition):  # only a FAILED or CANCELLED sync is retried
        d.retry_sync(name=sync.name)
    d.delete_device(name=band.name)
    with pytest.raises(hm.NotFound):
        d.get_device(name=band.name)


async def test_telemetry_stream_raw_and_resuming(mesh, client):
    band = client.device.create_device(parent="users/me", device=device_pb2.Device(
        display_name="Band", capabilities=["heart_rate"]))
    async with recorded(hm.AsyncClient(mesh.grpc, refresh_token=client.credentials.refresh_token)) as aclient:
        queue: asyncio.Queue = asyncio.Queue()

        async def requests():
            while (item := await queue.get()) is not None:
                yield item
        responses = aclient.device.stream_telemetry(requests()).__aiter__()
        await queue.put(device_pb.StreamTelemetryRequest(open=device_pb.TelemetryOpen(device=band.name)))
        assert (await responses.__anext__()).resume_point.last_sequence == 0
        await queue.put(device_pb.StreamTelemetryRequest(batch=device_pb.TelemetryBatch(
            sequence=1, samples=[heart_rate(T + dt.timedelta(minutes=1))])))
        ack = (await responses.__anext__()).ack
        assert (ack.sequence, ack.accepted) == (1, 1)
        await queue.put(None)
        await responses.aclose()

        async with aclient.telemetry(band.name) as stream:  # resumes after the raw stream's batch 1
            assert stream.next_sequence == 2
            await stream.send(samples=[heart_rate(T + dt.timedelta(minutes=m), 70) for m in range(2, 5)])
        assert stream.totals.accepted == 3
    samples = list(client.tracking.iter_samples(parent="users/me", type="heart_rate"))
    assert len(samples) == 4


# Ingest.

def test_ingestions_batch_uploads_and_reprocess(client):
    i = client.ingest
    batch = i.ingest_batch(parent="users/me", samples=[heart_rate(T)], request_id=str(uuid.uuid4()))
    body = (FIXTURES / "hae" / "walk_first.json").read_bytes()
    hae = i.ingest_health_auto_export([httpbody_pb2.HttpBody(content_type="application/json", data=body)])
    export = (FIXTURES / "apple_health" / "export_3days.zip").read_bytes()
    apple = i.upload_apple_health_export(httpbody_pb2.HttpBody(content_type="application/zip", data=export[n:n + 8192])
                                         for n in range(0, len(export), 8192))
    for made in (batch, hae, apple):
        poll(lambda: i.get_ingestion(name=made.name), lambda g: g.state == g.SUCCEEDED, f"ingestion {made.name}")
    assert {x.name for x in i.iter_ingestions(parent="users/me", page_size=1)} == {batch.name, hae.name, apple.name}
    assert len(i.list_ingestions(parent="users/me").ingestions) == 3
    again = i.reprocess_ingestion(name=hae.name)
    assert again.name == hae.name


# Insight.

def test_alerts_rules_insights_and_analytics(client):
    n = client.insight
    rule = n.create_alert_rule(parent="users/me", alert_rule=alert_rule_pb2.AlertRule(
        display_name="Fast heart", sample_type="heart_rate", condition=alert_rule_pb2.AlertRule.ABOVE,
        threshold=150, unit="/min"))
    assert n.get_alert_rule(name=rule.name).threshold == 150
    rule.threshold = 160
    assert n.update_alert_rule(alert_rule=rule, update_mask=field_mask_pb2.FieldMask(paths=["threshold"])).threshold \
        == 160
    assert rule.name in [r.name for r in n.iter_alert_rules(parent="users/me", page_size=3)]
    assert rule.name in [r.name for r in n.list_alert_rules(parent="users/me").alert_rules]

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    watch = client.watch_alerts(heartbeat_interval_seconds=5)  # from the start: what comes next is ours
    client.tracking.batch_create_samples(parent="users/me", samples=[heart_rate(now - dt.timedelta(minutes=5), 70),
                                                                     heart_rate(now - dt.timedelta(minutes=4), 170)])
    alert = next_within(iter(watch), "alert")
    assert alert.alert_rule == rule.name and alert.value == 170 and watch.last_alert == alert.name
    assert n.get_alert(name=alert.name).name == alert.name
    assert [a.name for a in n.list_alerts(parent="users/me").alerts] == [alert.name]
    n.delete_alert_rule(name=rule.name)

    days = [now - dt.timedelta(days=d, hours=2) for d in range(1, 11)]
    client.tracking.batch_create_samples(parent="users/me", samples=[
        sample_pb2.Sample(type="step_count", start_time=ts(d), value=2000, unit="count") for d in days])
    poll(lambda: (n.get_recommendations(parent="users/me"), n.list_insights(parent="users/me").insights)[1],
         lambda found: len(found) >= 1, "an insight of the low steps")
    insight = n.list_insights(parent="users/me").insights[0]
    assert n.get_insight(name=insight.name).name == insight.name
    assert n.mark_insight_read(name=insight.name).read
    assert n.get_trends(parent="users/me", type="step_count", days=30) is not None
    assert n.list_anomalies(parent="users/me", days=30) is not None
    assert n.list_correlations(parent="users/me", days=30) is not None
    assert n.get_summary(parent="users/me", date=now.date().isoformat()) is not None


async def test_async_client_calls_pages_errors_and_watch(mesh, client):
    async with recorded(hm.AsyncClient(mesh.grpc, refresh_token=client.credentials.refresh_token)) as aclient:
        made = await aclient.tracking.batch_create_samples(parent="users/me", samples=[
            heart_rate(T + dt.timedelta(minutes=m), 60 + m) for m in range(5)])
        assert made.accepted == 5
        values = [s.value async for s in aclient.tracking.iter_samples(parent="users/me", page_size=2)]
        assert values == [64, 63, 62, 61, 60]
        with pytest.raises(hm.InvalidArgument) as bad:
            await aclient.tracking.list_samples(parent="users/me", order_by="value")
        assert bad.value.field_violations and bad.value.reason
        body = (FIXTURES / "hae" / "walk_first.json").read_bytes()

        async def parts():
            for n in range(0, len(body), 512):
                yield httpbody_pb2.HttpBody(content_type="application/json", data=body[n:n + 512])
        upload = await aclient.ingest.ingest_health_auto_export(parts())
        assert upload.name.startswith("users/") and upload.payload_size_bytes == len(body)
        me = await aclient.auth.get_user(name="users/me")
        assert me.name and aclient.credentials.refreshes == 1  # the refresh token was traded for an access token

        watch = aclient.watch_alerts(heartbeat_interval_seconds=5, max_reconnects=0)
        events = aclient.insight.watch_alerts(parent="users/me", heartbeat_interval_seconds=5)
        first = await asyncio.wait_for(events.__anext__(), WAIT_SECONDS)
        assert first.WhichOneof("event") == "heartbeat"
        await events.aclose()
        assert watch.last_alert == ""


def readme_examples() -> list[str]:
    section = (REPO / "README.md").read_text().split("\n## Python SDK\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.mark.parametrize("index, prints", [(0, "sample.unit UNKNOWN_UNIT"), (1, "Blood oxygen")])
def test_the_readme_examples_run(mesh, index, prints):
    """The README's SDK examples as they are, with the mesh's address and a fresh user's email."""
    examples = readme_examples()
    assert len(examples) == 2
    registered, email = new_login(mesh)
    registered.close()
    code = examples[index].replace("127.0.0.1:8080", mesh.grpc).replace("ada@example.org", email)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "client"), str(REPO / "gen")])}
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT_SECONDS * 2,
                         env=env, cwd=REPO)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert prints in ran.stdout, ran.stdout


def test_every_public_rpc_has_a_test_call(request):
    """Runs last in this file; only meaningful when the whole file ran."""
    mine = [item for item in request.session.items if item.module is request.module]
    if len(mine) < len([name for name in dir(request.module) if name.startswith("test_")]):
        pytest.skip("only part of test_sdk.py ran")
    assert sorted(set(hm.METHODS) - CALLED) == []
