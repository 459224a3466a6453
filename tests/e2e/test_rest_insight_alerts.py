"""Alert rules, alerts, WatchAlerts and kept insights through Envoy, on the session's mesh: REST
for the CRUD and the stream, and the generated gRPC client for the stream as a device app would
hold it. Samples go to Tracking over REST; its outbox tells Insight, which raises the alerts.

Samples are written relative to the wall clock (alerts only come from samples of the last 24
hours), never at a fixed date; waits are bounded polls, no durations are asserted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import grpc
import httpx
import pytest
from healthmesh.insight.v1 import insight_service_pb2 as pb, insight_service_pb2_grpc

from tests.e2e.conftest import auth, new_user

WAIT_SECONDS = 20


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def sample(type: str, t: dt.datetime, value: float, unit: str, minutes: int = 1, **extra) -> dict:
    return {"type": type, "startTime": _iso(t), "endTime": _iso(t + dt.timedelta(minutes=minutes)), "value": value,
            "unit": unit, "source": "e2e", **extra}


def write(http: httpx.Client, headers: dict, *samples: dict) -> None:
    reply = http.post("/v1/users/me/samples:batchCreate", headers=headers, json={"samples": list(samples)})
    assert reply.status_code == 200, reply.text
    assert not reply.json().get("errors"), reply.text


def alerts(http: httpx.Client, headers: dict, **params) -> list[dict]:
    reply = http.get("/v1/users/me/alerts", headers=headers, params=params)
    assert reply.status_code == 200, reply.text
    return reply.json().get("alerts", [])


def wait_for_alerts(http: httpx.Client, headers: dict, n: int, **params) -> list[dict]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = alerts(http, headers, **params)
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def settle(http: httpx.Client, headers: dict, probe_at: dt.datetime) -> None:
    """Waits until Insight has evaluated everything written before: an SpO2 probe of 50 % (a
    separate episode, after a normal reading) has raised its alert."""
    before = len(alerts(http, headers, alertRule="users/me/alertRules/builtin-spo2-low"))
    write(http, headers, sample("spo2", probe_at, 98, "%"), sample("spo2", probe_at + dt.timedelta(minutes=1), 50, "%"))
    assert len(wait_for_alerts(http, headers, before + 1, alertRule="users/me/alertRules/builtin-spo2-low")) \
        == before + 1


@pytest.fixture
def user(http):
    return auth(new_user(http))


NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def test_every_user_has_the_built_in_rules_which_can_be_tuned_and_disabled_not_deleted(http, user):
    reply = http.get("/v1/users/me/alertRules", headers=user)
    assert reply.status_code == 200, reply.text
    rules = reply.json()["alertRules"]
    by_id = {r["name"].rsplit("/", 1)[1]: r for r in rules}
    assert list(by_id) == ["builtin-spo2-low", "builtin-systolic-high", "builtin-diastolic-high",
                           "builtin-glucose-low", "builtin-glucose-high", "builtin-heart-rate-high-at-rest",
                           "builtin-resting-heart-rate-high"]
    assert all(r["builtIn"] for r in rules)
    assert by_id["builtin-diastolic-high"]["useValue2"] and by_id["builtin-diastolic-high"]["threshold"] == 120
    assert by_id["builtin-diastolic-high"]["condition"] == "AT_OR_ABOVE"
    hr = by_id["builtin-heart-rate-high-at-rest"]
    assert (hr["threshold"], hr["durationSeconds"], hr["unlessActive"]) == (120, 600, True)
    name = by_id["builtin-spo2-low"]["name"]
    tuned = http.patch(f"/v1/{name}", headers=user, params={"updateMask": "threshold,disabled"},
                       json={"threshold": 88, "disabled": True})
    assert tuned.status_code == 200, tuned.text
    assert (tuned.json()["threshold"], tuned.json()["disabled"], tuned.json()["builtIn"]) == (88, True, True)
    assert http.get(f"/v1/{name}", headers=user).json()["threshold"] == 88
    gone = http.delete(f"/v1/{name}", headers=user)
    assert gone.status_code == 400 and "built in" in gone.json()["message"], gone.text


def test_user_rules_crud_with_checks_and_the_limit(http, user):
    rule = {"displayName": "Weight over 90 kg", "sampleType": "weight", "condition": "ABOVE", "threshold": 198,
            "unit": "lb"}
    made = http.post("/v1/users/me/alertRules", headers=user, json=rule)
    assert made.status_code == 200, made.text
    body = made.json()
    assert not body.get("builtIn") and body["severity"] == "WARNING" and body["unit"] == "lb"
    assert http.get(f"/v1/{body['name']}", headers=user).json() == body
    renamed = http.patch(f"/v1/{body['name']}", headers=user, params={"updateMask": "display_name"},
                         json={"displayName": "Heavy"})
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "Heavy", renamed.text
    immutable = http.patch(f"/v1/{body['name']}", headers=user, params={"updateMask": "sample_type"},
                           json={"sampleType": "heart_rate"})
    assert immutable.status_code == 400, immutable.text
    assert http.delete(f"/v1/{body['name']}", headers=user).status_code == 200
    assert http.get(f"/v1/{body['name']}", headers=user).status_code == 404

    def violations(payload: dict) -> set[str]:
        reply = http.post("/v1/users/me/alertRules", headers=user, json=payload)
        assert reply.status_code == 400, reply.text
        return {v["field"] for d in reply.json()["details"] for v in d.get("fieldViolations", [])}

    assert violations({}) >= {"alertRule.displayName", "alertRule.sampleType", "alertRule.condition",
                              "alertRule.threshold"}
    assert violations({**rule, "sampleType": "moonlight"}) == {"alertRule.sampleType"}
    assert violations({**rule, "unit": "furlong"}) == {"alertRule.unit"}
    assert violations({**rule, "sampleType": "heart_rate", "unit": "", "useValue2": True}) == {"alertRule.useValue2"}
    assert violations({**rule, "durationSeconds": 86_401}) == {"alertRule.durationSeconds"}
    zero = http.post("/v1/users/me/alertRules", headers=user, json={**rule, "condition": "AT_OR_BELOW", "threshold": 0})
    assert zero.status_code == 200 and zero.json()["threshold"] == 0, zero.text  # 0 is a threshold

    for i in range(99):  # 100 of the user's own with `zero`; the built-in ones do not count
        assert http.post("/v1/users/me/alertRules", headers=user, json={**rule, "displayName": f"r{i}"}).status_code \
            == 200
    over = http.post("/v1/users/me/alertRules", headers=user, json=rule)
    assert over.status_code == 429, over.text
    listed, token = [], ""
    while True:
        page = http.get("/v1/users/me/alertRules", headers=user, params={"pageSize": 40, "pageToken": token}).json()
        listed += page["alertRules"]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert len(listed) == 107 and len({r["name"] for r in listed}) == 107


def test_a_low_spo2_raises_one_alert_per_episode_and_a_new_episode_after_a_normal_reading(http, user):
    t = NOW - dt.timedelta(minutes=30)
    write(http, user, sample("spo2", t, 97, "%"), sample("spo2", t + dt.timedelta(minutes=1), 87, "%"),
          sample("spo2", t + dt.timedelta(minutes=2), 86, "%"))
    found = wait_for_alerts(http, user, 1)
    assert len(found) == 1
    a = found[0]
    assert a["alertRule"].endswith("/alertRules/builtin-spo2-low") and a["value"] == 87 and a["threshold"] == 90
    assert a["severity"] == "CRITICAL" and a["condition"] == "BELOW" and a["unit"] == "%"
    assert a["message"] == "Blood oxygen saturation 87 %, below 90 %."
    assert http.get(f"/v1/{a['name']}", headers=user).json() == a
    write(http, user, sample("spo2", t + dt.timedelta(minutes=3), 85, "%"))  # the same episode goes on
    write(http, user, sample("spo2", t + dt.timedelta(minutes=4), 96, "%"),  # over, then a new one
          sample("spo2", t + dt.timedelta(minutes=5), 84, "%"))
    found = wait_for_alerts(http, user, 2)
    settle(http, user, t + dt.timedelta(minutes=10))
    found = [x for x in alerts(http, user) if x["value"] != 50]
    assert [x["value"] for x in found] == [84, 87]  # newest first; 86 and 85 were the first episode's


def test_heart_rate_above_120_for_10_minutes_fires_at_rest_and_not_during_a_workout(http, user):
    start = NOW - dt.timedelta(hours=3)
    write(http, user, *[sample("heart_rate", start + dt.timedelta(minutes=i), 130 + i, "/min") for i in range(12)])
    workout = start + dt.timedelta(hours=1)
    reply = http.post("/v1/users/me/activities", headers=user, json={
        "type": "running", "startTime": _iso(workout), "endTime": _iso(workout + dt.timedelta(minutes=30))})
    assert reply.status_code == 200, reply.text
    write(http, user, *[sample("heart_rate", workout + dt.timedelta(minutes=i), 150, "/min") for i in range(15)])
    nine = start + dt.timedelta(hours=2)  # only 9 minutes above at rest
    write(http, user, *[sample("heart_rate", nine + dt.timedelta(minutes=i), 125, "/min") for i in range(10)],
          sample("heart_rate", nine + dt.timedelta(minutes=10), 80, "/min"))
    settle(http, user, NOW - dt.timedelta(minutes=5))
    hr = alerts(http, user, alertRule="users/me/alertRules/builtin-heart-rate-high-at-rest")
    assert len(hr) == 1, hr
    assert hr[0]["startTime"] == _iso(start) and hr[0]["triggerTime"] == _iso(start + dt.timedelta(minutes=10))
    assert hr[0]["value"] == 140
    assert hr[0]["message"] == "Heart rate 140 /min, above 120 /min for 10 minutes."


def test_diastolic_glucose_in_mmol_and_old_samples(http, user):
    t = NOW - dt.timedelta(hours=1)
    write(http, user, sample("blood_pressure", t, 150, "mmHg", value2=125),
          sample("blood_glucose", t, 3.5, "mmol/L"),  # 63 mg/dL
          sample("spo2", NOW - dt.timedelta(days=2), 80, "%"))  # too old to alert
    settle(http, user, NOW - dt.timedelta(minutes=20))
    by_rule = {}
    for a in alerts(http, user):
        by_rule.setdefault(a["alertRule"].rsplit("/", 1)[1], []).append(a)
    assert set(by_rule) == {"builtin-diastolic-high", "builtin-glucose-low", "builtin-spo2-low"}
    assert by_rule["builtin-diastolic-high"][0]["value"] == 125
    assert by_rule["builtin-glucose-low"][0]["value"] == pytest.approx(3.5 * 18.0156, abs=0.01)
    assert [a["value"] for a in by_rule["builtin-spo2-low"]] == [50]  # the probe only


def test_a_users_own_rule_in_its_unit_and_a_rule_change_re_arms_it(http, user):
    made = http.post("/v1/users/me/alertRules", headers=user, json={
        "displayName": "Fever", "sampleType": "body_temperature", "condition": "AT_OR_ABOVE", "threshold": 100.4,
        "unit": "degF", "severity": "CRITICAL"}).json()
    t = NOW - dt.timedelta(minutes=50)
    write(http, user, sample("body_temperature", t, 38.5, "Cel"))
    found = wait_for_alerts(http, user, 1, alertRule=made["name"])
    assert len(found) == 1 and found[0]["unit"] == "degF"
    assert found[0]["value"] == pytest.approx(101.3, abs=0.01) and found[0]["severity"] == "CRITICAL"
    assert http.get(f"/v1/{made['name']}", headers=user).json()["lastTriggerTime"] == _iso(t)
    http.patch(f"/v1/{made['name']}", headers=user, params={"updateMask": "threshold"}, json={"threshold": 100.5})
    write(http, user, sample("body_temperature", t + dt.timedelta(minutes=1), 38.6, "Cel"))  # same run, re-armed
    assert len(wait_for_alerts(http, user, 2, alertRule=made["name"])) == 2


def test_another_users_alerts_and_rules_are_not_reachable(http, user):
    t = NOW - dt.timedelta(minutes=40)
    write(http, user, sample("spo2", t, 80, "%"))
    mine = wait_for_alerts(http, user, 1)[0]
    other = auth(new_user(http))
    assert http.get(f"/v1/{mine['name']}", headers=other).status_code == 403
    assert http.get(f"/v1/{mine['alertRule']}", headers=other).status_code == 403
    assert alerts(http, other) == []


def _messages(text: str):
    """The messages of a transcoded server stream as far as they have come: a JSON array."""
    decoder, out = json.JSONDecoder(), []
    while True:
        text = text.lstrip("[, \r\n")
        try:
            message, end = decoder.raw_decode(text)
        except ValueError:
            return out, text
        out.append(message.get("result", message))
        text = text[end:]


async def _watch_rest(base: str, headers: dict, params: dict, until, timeout: float = WAIT_SECONDS) -> list[dict]:
    got: list[dict] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=httpx.Timeout(30, read=None)) as client:
        async with client.stream("GET", "/v1/users/me/alerts:watch", params=params) as reply:
            assert reply.status_code == 200, await reply.aread()
            rest = ""

            async def read():
                nonlocal rest
                async for chunk in reply.aiter_text():
                    messages, rest = _messages(rest + chunk)
                    got.extend(messages)
                    if until(got):
                        return

            await asyncio.wait_for(read(), timeout)
    return got


async def test_watch_over_rest_replays_after_an_alert_then_streams_new_ones_and_heartbeats(mesh, http, user):
    t = NOW - dt.timedelta(minutes=20)
    write(http, user, sample("spo2", t, 85, "%"))
    first = wait_for_alerts(http, user, 1)[0]

    async def writer():
        await asyncio.sleep(1.0)
        await asyncio.to_thread(write, http, user, sample("spo2", t + dt.timedelta(minutes=1), 95, "%"),
                                sample("spo2", t + dt.timedelta(minutes=2), 81, "%"))

    task = asyncio.create_task(writer())
    got = await _watch_rest(mesh.http, user, {"heartbeatIntervalSeconds": 5},
                            lambda g: sum("alert" in m for m in g) >= 1 and "heartbeat" in g[-1])
    await task
    streamed = [m["alert"] for m in got if "alert" in m]
    assert [a["value"] for a in streamed] == [81]  # from now on: not the one before the stream
    assert got[-1]["heartbeat"]["lastAlert"] == streamed[0]["name"]
    replay = await _watch_rest(mesh.http, user, {"afterAlert": first["name"]}, lambda g: len(g) >= 1)
    assert [m["alert"]["name"] for m in replay] == [streamed[0]["name"]]
    bad = http.get("/v1/users/me/alerts:watch", headers=user, params={"afterAlert": "users/me/insights/x"})
    assert bad.status_code == 400, bad.text
    bad = http.get("/v1/users/me/alerts:watch", headers=user, params={"heartbeatIntervalSeconds": 2})
    assert bad.status_code == 400, bad.text


async def test_watch_over_grpc_gets_alerts_and_ends_unauthenticated_when_the_session_is_revoked(mesh, http):
    session = new_user(http)
    headers = auth(session)
    md = (("authorization", headers["authorization"]),)
    async with grpc.aio.insecure_channel(mesh.grpc) as channel:
        stub = insight_service_pb2_grpc.InsightServiceStub(channel)
        call = stub.WatchAlerts(pb.WatchAlertsRequest(parent="users/me", heartbeat_interval_seconds=5), metadata=md)
        first = await asyncio.wait_for(call.read(), WAIT_SECONDS)  # opened: nothing yet, so a heartbeat
        assert first.WhichOneof("event") == "heartbeat" and first.heartbeat.last_alert == ""
        await asyncio.to_thread(write, http, headers, sample("spo2", NOW - dt.timedelta(minutes=10), 70, "%"))
        message = await asyncio.wait_for(call.read(), WAIT_SECONDS)
        while message.WhichOneof("event") == "heartbeat":
            message = await asyncio.wait_for(call.read(), WAIT_SECONDS)
        assert message.alert.value == 70 and message.alert.alert_rule.endswith("builtin-spo2-low")
        revoked = await asyncio.to_thread(http.post, "/v1/users/me:revokeSessions", headers=headers, json={})
        assert revoked.status_code == 200, revoked.text
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            while True:
                message = await asyncio.wait_for(call.read(), WAIT_SECONDS)
                assert message is not grpc.aio.EOF
        assert ended.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_recommendations_are_kept_as_insights_once_and_can_be_marked_read(http, user):
    days = [NOW - dt.timedelta(days=d, hours=2) for d in range(1, 11)]
    write(http, user, *[sample("step_count", d, 2000, "count", minutes=30) for d in days])
    assert http.get("/v1/users/me/recommendations", headers=user).status_code == 200
    deadline = time.monotonic() + WAIT_SECONDS
    while True:  # kept behind the answer
        listed = http.get("/v1/users/me/insights", headers=user).json()
        if listed.get("insights") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    kept = listed["insights"]
    assert [i["rule"] for i in kept] == ["low_steps"] and listed["unreadCount"] == 1
    assert kept[0]["kind"] == "RECOMMENDATION" and "2,000" in kept[0]["body"]
    http.get("/v1/users/me/recommendations", headers=user, params={"days": 14})  # the same finding, another window
    time.sleep(0.5)
    assert len(http.get("/v1/users/me/insights", headers=user).json()["insights"]) == 1
    read = http.post(f"/v1/{kept[0]['name']}:markRead", headers=user, json={})
    assert read.status_code == 200 and read.json()["read"], read.text
    again = http.post(f"/v1/{kept[0]['name']}:markRead", headers=user, json={}).json()
    assert again["readTime"] == read.json()["readTime"]
    assert http.get("/v1/users/me/insights", headers=user, params={"unreadOnly": True}).json().get("insights", []) == []
    assert http.get(f"/v1/{kept[0]['name']}", headers=user).json()["read"] is True
