"""Every List RPC answers in the order its contract comment states, over REST through Envoy: for a
fresh user, three items of each listable resource are made through REST (out of order where the
order is by a time of the item's own), then listed two to a page, so the order holds across pages.

The lists and their contracts (proto/healthmesh/**/*_service.proto):
  samples            newest start_time first (order_by `start_time`: oldest first)
  activities         newest start_time first
  sleep sessions     newest end_time first
  nutrition entries  newest consume_time first
  goals, API keys, devices, syncs, ingestions, alerts, insights   newest first
  alert rules        the built-in ones first in a fixed order, then the user's own, newest first
  audit events       newest first

Alerts, insights and audit events are made behind the calls that cause them (Insight reads
Tracking's outbox; audit records are written in batches), so those are bounded polls. Alerts only
come from samples of the last 24 hours and recommendations from the last days, so their samples
are placed relative to the wall clock; nothing asserts a duration.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import grpc
import httpx
import pytest
from healthmesh.device.v1 import device_service_pb2 as device_pb, device_service_pb2_grpc
from healthmesh.tracking.v1 import sample_pb2

from tests.e2e.conftest import auth, new_user

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 30
PAGE = 2  # three items make two pages: the order must hold across a page token


def ok(reply: httpx.Response) -> dict:
    assert reply.status_code == 200, (reply.request.method, str(reply.request.url), reply.status_code, reply.text)
    return reply.json()


def listed(http: httpx.Client, h: dict, path: str, key: str, **params) -> list[dict]:
    """Every item of a list, PAGE at a time, following nextPageToken to its end."""
    items, token = [], ""
    for _ in range(100):
        query = {**params, "pageSize": PAGE, **({"pageToken": token} if token else {})}
        page = ok(http.get(path, headers=h, params=query))
        assert len(page.get(key, [])) <= PAGE
        items += page.get(key, [])
        token = page.get("nextPageToken", "")
        if not token:
            return items
    raise AssertionError(f"{path} did not end")


def names(items: list[dict]) -> list[str]:
    return [i["name"] for i in items]


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def poll(fetch, done, what: str):
    """fetch() until done(result), for at most WAIT_SECONDS; the last result either way."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = fetch()
        if done(result) or time.monotonic() > deadline:
            assert done(result), f"{what}: {result}"
            return result
        time.sleep(0.1)


@pytest.fixture
def h(http) -> dict:
    return auth(new_user(http))


# Tracking: by the item's own time, whatever order they were written in.

T = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
HOURS = (5, 1, 3)  # hours after T of the three items, in the order they are written: not in time order


def by_time_desc(made: list[dict], field: str) -> list[str]:
    return [m["name"] for m in sorted(made, key=lambda m: m[field], reverse=True)]


def test_samples_newest_start_time_first_and_order_by_start_time_oldest_first(http, h):
    made = [ok(http.post("/v1/users/me/samples", headers=h, json={
        "type": "heart_rate", "startTime": iso(T + dt.timedelta(hours=hours)), "value": 60 + hours,
        "unit": "/min"})) for hours in HOURS]
    newest = by_time_desc(made, "startTime")
    assert names(listed(http, h, "/v1/users/me/samples", "samples")) == newest
    assert names(listed(http, h, "/v1/users/me/samples", "samples", orderBy="start_time desc")) == newest
    assert names(listed(http, h, "/v1/users/me/samples", "samples", orderBy="start_time")) == newest[::-1]
    assert http.get("/v1/users/me/samples", headers=h, params={"orderBy": "value"}).status_code == 400


def test_activities_newest_start_time_first(http, h):
    made = [ok(http.post("/v1/users/me/activities", headers=h, json={
        "type": "walking", "startTime": iso(T + dt.timedelta(hours=hours)),
        "endTime": iso(T + dt.timedelta(hours=hours, minutes=30))})) for hours in HOURS]
    assert names(listed(http, h, "/v1/users/me/activities", "activities")) == by_time_desc(made, "startTime")


def test_sleep_sessions_newest_end_time_first(http, h):
    made = [ok(http.post("/v1/users/me/sleepSessions", headers=h, json={
        "startTime": iso(T + dt.timedelta(hours=hours)), "endTime": iso(T + dt.timedelta(hours=hours + 1))}))
        for hours in HOURS]
    assert names(listed(http, h, "/v1/users/me/sleepSessions", "sleepSessions")) == by_time_desc(made, "endTime")


def test_nutrition_entries_newest_consume_time_first(http, h):
    made = [ok(http.post("/v1/users/me/nutritionEntries", headers=h, json={
        "consumeTime": iso(T + dt.timedelta(hours=hours)), "caloriesKcal": 100 + hours})) for hours in HOURS]
    assert names(listed(http, h, "/v1/users/me/nutritionEntries", "nutritionEntries")) == \
        by_time_desc(made, "consumeTime")


def test_goals_newest_first(http, h):
    made = [ok(http.post("/v1/users/me/goals", headers=h, json={
        "metric": metric, "targetValue": target, "period": "WEEKLY"}))
        for metric, target in (("step_count", 70000), ("water", 14000), ("active_energy", 3500))]
    assert names(listed(http, h, "/v1/users/me/goals", "goals")) == names(made)[::-1]


# Auth, Device, Ingest: newest first, that is the reverse of the order they were made in.

def test_api_keys_newest_first(http, h):
    made = [ok(http.post("/v1/users/me/apiKeys", headers=h, json={"displayName": f"key {i}"})) for i in range(3)]
    assert names(listed(http, h, "/v1/users/me/apiKeys", "apiKeys")) == [k["apiKey"]["name"] for k in made][::-1]


def test_devices_newest_first(http, h):
    made = [ok(http.post("/v1/users/me/devices", headers=h, json={"displayName": f"Band {i}"})) for i in range(3)]
    assert names(listed(http, h, "/v1/users/me/devices", "devices")) == names(made)[::-1]


async def test_syncs_newest_first(mesh, http, h):
    """Three syncs of one push device, each answered over its telemetry stream (a device has one
    open sync at a time, so each must end before the next starts)."""
    device = ok(http.post("/v1/users/me/devices", headers=h, json={"displayName": "Band",
                                                                   "capabilities": ["heart_rate"]}))["name"]
    made = []
    async with grpc.aio.insecure_channel(mesh.grpc) as channel:
        call = device_service_pb2_grpc.DeviceServiceStub(channel).StreamTelemetry(
            metadata=(("authorization", h["authorization"]),))
        await call.write(device_pb.StreamTelemetryRequest(open=device_pb.TelemetryOpen(device=device)))

        async def next_of(kind: str):
            while True:
                message = await asyncio.wait_for(call.read(), WAIT_SECONDS)
                assert message is not grpc.aio.EOF
                if message.WhichOneof("kind") == kind:
                    return getattr(message, kind)

        await next_of("resume_point")
        for i in range(3):
            sync = ok(await asyncio.to_thread(http.post, f"/v1/{device}:sync", headers=h, json={}))
            asked = await next_of("sync_request")
            assert asked.sync == sync["name"]
            at = asked.end_time.ToDatetime(dt.UTC) - dt.timedelta(minutes=i + 1)
            point = sample_pb2.Sample(type="heart_rate", value=60 + i, unit="/min")
            point.start_time.FromDatetime(at)
            await call.write(device_pb.StreamTelemetryRequest(batch=device_pb.TelemetryBatch(
                sequence=i + 1, samples=[point], sync=asked.sync, sync_complete=True)))
            await next_of("ack")
            await asyncio.to_thread(poll, lambda: ok(http.get(f"/v1/{sync['name']}", headers=h)),
                                    lambda s: s["state"] == "SUCCEEDED", "the sync")
            made.append(sync["name"])
        await call.done_writing()
    assert names(listed(http, h, f"/v1/{device}/syncs", "syncs")) == made[::-1]


def test_ingestions_newest_first(http, h):
    made = [ok(http.post("/v1/users/me/ingestions:batch", headers=h, json={"samples": [
        {"type": "weight", "startTime": iso(T + dt.timedelta(days=i)), "value": 70 + i, "unit": "kg"}]}))
        for i in range(3)]
    assert names(listed(http, h, "/v1/users/me/ingestions", "ingestions")) == names(made)[::-1]


def test_audit_events_newest_first(http, h):
    """Three calls to three services, one after the other; their events come back newest first,
    among the others (register, login, the polls themselves), all by time."""
    calls = ["/healthmesh.auth.v1.AuthService/GetUser", "/healthmesh.device.v1.DeviceService/ListDevices",
             "/healthmesh.tracking.v1.TrackingService/ListGoals"]
    for path in ("/v1/users/me", "/v1/users/me/devices", "/v1/users/me/goals"):
        ok(http.get(path, headers=h))

    def events() -> list[dict]:
        return ok(http.get("/v1/users/me/auditEvents", headers=h, params={"pageSize": 1000}))["auditEvents"]

    poll(events, lambda es: set(calls) <= {e["action"] for e in es}, "the calls' audit events")
    walked = listed(http, h, "/v1/users/me/auditEvents", "auditEvents")  # (events of the polls may join on top)
    assert [e["action"] for e in walked if e["action"] in calls] == calls[::-1]
    times = [dt.datetime.fromisoformat(e["createTime"].replace("Z", "+00:00")) for e in walked]
    assert times == sorted(times, reverse=True) and len(walked) > len(calls)


# Insight.

BUILT_IN = ["builtin-spo2-low", "builtin-systolic-high", "builtin-diastolic-high", "builtin-glucose-low",
            "builtin-glucose-high", "builtin-heart-rate-high-at-rest", "builtin-resting-heart-rate-high"]


def test_alert_rules_built_in_first_then_the_users_own_newest_first(http, h):
    made = [ok(http.post("/v1/users/me/alertRules", headers=h, json={
        "displayName": f"Weight over {kg} kg", "sampleType": "weight", "condition": "ABOVE", "threshold": kg,
        "unit": "kg"})) for kg in (90, 100, 110)]
    rules = listed(http, h, "/v1/users/me/alertRules", "alertRules")
    assert [r["name"].rsplit("/", 1)[1] for r in rules[:len(BUILT_IN)]] == BUILT_IN
    assert all(r.get("builtIn") for r in rules[:len(BUILT_IN)])
    assert names(rules[len(BUILT_IN):]) == names(made)[::-1]


def write_samples(http: httpx.Client, h: dict, *samples: dict) -> None:
    reply = ok(http.post("/v1/users/me/samples:batchCreate", headers=h, json={"samples": list(samples)}))
    assert not reply.get("errors"), reply


def test_alerts_newest_first(http, h):
    """Three low-SpO2 episodes, one after the other (a normal reading, then a low one), each
    waited for before the next is written."""
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=2)
    for i in range(3):
        t = start + dt.timedelta(minutes=10 * i)
        write_samples(http, h, {"type": "spo2", "startTime": iso(t), "value": 97, "unit": "%"},
                      {"type": "spo2", "startTime": iso(t + dt.timedelta(minutes=1)), "value": 80 + i, "unit": "%"})
        poll(lambda: listed(http, h, "/v1/users/me/alerts", "alerts"), lambda found: len(found) == i + 1,
             f"alert {i + 1}")
    found = listed(http, h, "/v1/users/me/alerts", "alerts")
    assert [a["value"] for a in found] == [82, 81, 80]


def test_insights_newest_first(http, h):
    """Three recommendations, found one after the other (each from data of its own) and kept as
    insights: low steps, then low water, then a high resting heart rate."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    days = [now - dt.timedelta(days=d, hours=2) for d in range(1, 11)]
    stages = [("low_steps", "step_count", 2000, "count"), ("low_water", "water", 500, "mL"),
              ("elevated_resting_heart_rate", "resting_heart_rate", 95, "/min")]
    for i, (rule, type, value, unit) in enumerate(stages):
        write_samples(http, h, *[{"type": type, "startTime": iso(d), "value": value, "unit": unit} for d in days])

        def kept() -> list[dict]:
            ok(http.get("/v1/users/me/recommendations", headers=h))  # (again: the cache may hold the last answer)
            return listed(http, h, "/v1/users/me/insights", "insights")

        poll(kept, lambda found: len(found) == i + 1, f"the insight {rule}")
    assert [i["rule"] for i in listed(http, h, "/v1/users/me/insights", "insights")] == [
        rule for rule, *_ in stages][::-1]
