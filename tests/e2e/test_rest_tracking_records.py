"""Tracking's records through Envoy as an external app drives them: activities, sleep sessions,
heart-rate zones, nutrition entries and goals over REST/JSON (every RPC), and a few over grpcurl."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
import uuid

import pytest

from tests.e2e.conftest import auth, grpcurl, new_user

pytestmark = pytest.mark.e2e

SERVICE = "healthmesh.tracking.v1.TrackingService"


def violations(reply) -> list[str]:
    """The fields of the BadRequest field violations of a JSON error body."""
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    return [v["field"] for d in reply.json().get("details", []) if d["@type"].endswith("BadRequest")
            for v in d["fieldViolations"]]


def ok(reply) -> dict:
    assert reply.status_code == 200, (reply.request.method, str(reply.request.url), reply.status_code, reply.text)
    return reply.json()


def call(mesh, session: dict, method: str, data: dict) -> dict:
    out = grpcurl(mesh, f"{SERVICE}/{method}", data=data, headers={"authorization": f"Bearer {session['accessToken']}"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def query(**params) -> str:
    """A query string with spaces as %20: Envoy does not read `+` as a space (see
    test_a_plus_in_a_query_is_a_space), and httpx's `params=` writes `+`."""
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def page_through(http, session: dict, path: str, key: str, page_size: int, **params) -> list[list[dict]]:
    """Every page of a list call, following nextPageToken until it is empty."""
    pages, token = [], ""
    while True:
        page = {**params, "pageSize": page_size, **({"pageToken": token} if token else {})}
        body = ok(http.get(path, params=page, headers=auth(session)))
        pages.append(body.get(key, []))
        token = body["nextPageToken"]
        if not token or len(pages) > 10:
            return pages


# Activities.

RUN = {
    "type": "running", "displayName": "Morning run", "startTime": "2026-03-01T07:00:00Z",
    "endTime": "2026-03-01T07:30:00Z", "durationSeconds": 1500, "distanceMeters": 6000, "activeEnergyKcal": 410.5,
    "totalEnergyKcal": 480, "steps": 5400, "elevationAscentMeters": 42, "elevationDescentMeters": 40,
    "heartRateSeries": [
        {"time": "2026-03-01T07:20:00Z", "bpm": 165},
        {"time": "2026-03-01T07:00:00Z", "bpm": 120},
        {"time": "2026-03-01T07:10:00Z", "bpm": 150, "minBpm": 140, "maxBpm": 170},
    ],
    "route": [
        {"time": "2026-03-01T07:00:00Z", "latitude": 48.8566, "longitude": 2.3522, "altitudeMeters": 35},
        {"time": "2026-03-01T07:29:00Z", "latitude": 48.8606, "longitude": 2.3376, "horizontalAccuracyMeters": 4},
    ],
    "indoor": False, "weather": {"temperatureCelsius": 8.5, "humidityPercent": 70, "conditions": "light rain"},
    "notes": "easy", "source": "Apple Watch",
}


def test_activity_flow(http):
    session = new_user(http)
    h = auth(session)
    run = ok(http.post("/v1/users/me/activities", headers=h, json=RUN))
    assert run["name"].startswith(session["user"]["name"] + "/activities/")
    for key in ("type", "displayName", "startTime", "endTime", "durationSeconds", "distanceMeters", "activeEnergyKcal",
                "totalEnergyKcal", "steps", "elevationAscentMeters", "indoor", "weather", "notes", "source"):
        assert run[key] == RUN[key], key
    assert run["utcOffsetMinutes"] == 0  # absent on input: the user's zone, UTC for a new user
    # Derived from the moving duration and the distance, and from the series (sorted oldest first).
    assert run["paceSecondsPerKm"] == pytest.approx(250) and run["speedMetersPerSecond"] == pytest.approx(4)
    assert run["heartRate"] == {"minBpm": 120, "avgBpm": 145, "maxBpm": 170}
    assert [p["bpm"] for p in run["heartRateSeries"]] == [120, 150, 165]
    assert [(p["latitude"], p["longitude"]) for p in run["route"]] == [(48.8566, 2.3522), (48.8606, 2.3376)]
    assert run["route"][0]["altitudeMeters"] == 35 and run["route"][1]["horizontalAccuracyMeters"] == 4
    assert ok(http.get(f"/v1/{run['name']}", headers=h)) == run  # FULL by default

    ride = ok(http.post("/v1/users/me/activities", headers=h, json={
        "type": "cycling", "startTime": "2026-03-02T17:00:00+01:00", "endTime": "2026-03-02T18:00:00+01:00",
        "utcOffsetMinutes": 60, "distanceMeters": 24000}))
    assert (ride["startTime"], ride["durationSeconds"], ride["utcOffsetMinutes"]) == ("2026-03-02T16:00:00Z", 3600, 60)
    assert ride["speedMetersPerSecond"] == pytest.approx(6.6667, abs=1e-3) and ride["paceSecondsPerKm"] == 150
    walk = ok(http.post("/v1/users/me/activities", headers=h, json={
        "type": "walking", "startTime": "2026-03-03T12:00:00Z", "endTime": "2026-03-03T12:20:00Z"}))

    # Newest start_time first, BASIC by default: the summary without series and route.
    pages = page_through(http, session, "/v1/users/me/activities", "activities", 2)
    assert [[a["name"] for a in p] for p in pages] == [[walk["name"], ride["name"]], [run["name"]]]
    listed_run = pages[1][0]
    assert listed_run["heartRate"] == run["heartRate"] and listed_run["distanceMeters"] == 6000
    assert not listed_run.get("heartRateSeries") and not listed_run.get("route")
    full = ok(http.get("/v1/users/me/activities", params={"type": "running", "view": "FULL"}, headers=h))
    assert [a["name"] for a in full["activities"]] == [run["name"]] and len(full["activities"][0]["route"]) == 2
    window = ok(http.get("/v1/users/me/activities", headers=h, params={
        "startTime": "2026-03-02T00:00:00Z", "endTime": "2026-03-03T00:00:00Z"}))["activities"]
    assert [a["name"] for a in window] == [ride["name"]]
    assert ok(http.get(f"/v1/{ride['name']}", params={"view": "BASIC"}, headers=h)).get("route", []) == []

    # PATCH changes only the fields of the mask; a repeated field named there is replaced whole.
    patched = ok(http.patch(f"/v1/{run['name']}", headers=h, params={"updateMask": "displayName,notes"},
                            json={"displayName": "Tempo run", "notes": "felt strong", "distanceMeters": 1}))
    assert (patched["displayName"], patched["notes"], patched["distanceMeters"]) == ("Tempo run", "felt strong", 6000)
    assert patched["createTime"] == run["createTime"] and patched["updateTime"] > run["updateTime"]
    series = [{"time": "2026-03-01T07:05:00Z", "bpm": 100}, {"time": "2026-03-01T07:15:00Z", "bpm": 110}]
    patched = ok(http.patch(f"/v1/{run['name']}", headers=h, params={"updateMask": "heartRateSeries"},
                            json={"heartRateSeries": series}))
    assert [p["bpm"] for p in patched["heartRateSeries"]] == [100, 110]
    assert patched["heartRate"] == {"minBpm": 100, "avgBpm": 105, "maxBpm": 110}
    assert len(patched["route"]) == 2 and ok(http.get(f"/v1/{run['name']}", headers=h)) == patched

    assert ok(http.delete(f"/v1/{run['name']}", headers=h)) == {}
    assert http.get(f"/v1/{run['name']}", headers=h).status_code == 404
    assert http.delete(f"/v1/{run['name']}", headers=h).status_code == 404
    assert [a["name"] for a in ok(http.get("/v1/users/me/activities", headers=h))["activities"]] == [
        walk["name"], ride["name"]]


def test_bad_activities_are_400_with_field_violations(http):
    session = new_user(http)
    h = auth(session)
    reply = http.post("/v1/users/me/activities", headers=h, json={
        "type": "running", "startTime": "2026-03-01T08:00:00Z", "endTime": "2026-03-01T07:00:00Z",
        "distanceMeters": -5, "route": [{"time": "2026-03-01T07:30:00Z", "latitude": 91, "longitude": 0}]})
    assert reply.status_code == 400, reply.text
    assert {"activity.endTime", "activity.distanceMeters"} <= set(violations(reply)), reply.text
    assert http.post("/v1/users/me/activities", headers=h, json={"type": "running"}).status_code == 400
    created = ok(http.post("/v1/users/me/activities", headers=h, json={
        "type": "yoga", "startTime": "2026-03-01T08:00:00Z", "endTime": "2026-03-01T09:00:00Z"}))
    output_only = http.patch(f"/v1/{created['name']}", headers=h, params={"updateMask": "createTime"},
                             json={"createTime": "2020-01-01T00:00:00Z"})
    assert output_only.status_code == 400 and violations(output_only) == ["updateMask"], output_only.text
    not_json = http.post("/v1/users/me/activities", headers={**h, "content-type": "application/json"},
                         content=b'{"type": "running", "startTime": 7')
    assert not_json.status_code == 400 and not_json.headers["content-type"].startswith("application/json")


def test_create_activity_over_grpcurl(mesh, http):
    session = new_user(http)
    created = call(mesh, session, "CreateActivity", {"parent": "users/me", "activity": {
        "type": "swimming", "startTime": "2026-03-04T06:00:00Z", "endTime": "2026-03-04T06:45:00Z",
        "distanceMeters": 1500, "utcOffsetMinutes": -300,
        "heartRateSeries": [{"time": "2026-03-04T06:10:00Z", "bpm": 130},
                            {"time": "2026-03-04T06:20:00Z", "bpm": 140}]}})
    assert created["name"].startswith(session["user"]["name"] + "/activities/")
    assert created["durationSeconds"] == 2700 and created["paceSecondsPerKm"] == pytest.approx(1800)
    over_rest = ok(http.get(f"/v1/{created['name']}", headers=auth(session)))
    assert (over_rest["type"], over_rest["utcOffsetMinutes"], over_rest["heartRate"]["avgBpm"]) == (
        "swimming", -300, 135)
    listed = call(mesh, session, "ListActivities", {"parent": "users/me"})
    assert [a["name"] for a in listed["activities"]] == [created["name"]]


# Sleep sessions.

def stage(kind: str, start: str, end: str) -> dict:
    return {"stage": kind, "startTime": start, "endTime": end}


# 8 h in bed (23:30 to 07:30 local at UTC+1), 48 min awake: 7.2 h asleep, 90 % efficiency.
NIGHT = {
    "startTime": "2026-03-01T22:30:00Z", "endTime": "2026-03-02T06:30:00Z", "utcOffsetMinutes": 60,
    "stages": [
        stage("LIGHT", "2026-03-01T22:30:00Z", "2026-03-01T23:30:00Z"),
        stage("DEEP", "2026-03-01T23:30:00Z", "2026-03-02T01:00:00Z"),
        stage("AWAKE", "2026-03-02T01:00:00Z", "2026-03-02T01:48:00Z"),
        stage("REM", "2026-03-02T01:48:00Z", "2026-03-02T03:00:00Z"),
        stage("CORE", "2026-03-02T03:00:00Z", "2026-03-02T06:30:00Z"),
    ],
    "notes": "slept well", "source": "Apple Watch",
}


def test_sleep_session_flow(http):
    session = new_user(http)
    h = auth(session)
    shuffled = {**NIGHT, "stages": list(reversed(NIGHT["stages"]))}
    night = ok(http.post("/v1/users/me/sleepSessions", headers=h, json=shuffled))
    assert night["name"].startswith(session["user"]["name"] + "/sleepSessions/")
    assert night["stages"] == NIGHT["stages"]  # stored oldest first
    assert (night["startTime"], night["endTime"], night["utcOffsetMinutes"], night["localDate"]) == (
        NIGHT["startTime"], NIGHT["endTime"], 60, "2026-03-02")
    assert (night["timeInBedSeconds"], night["asleepSeconds"], night["awakeSeconds"], night["lightSeconds"],
            night["deepSeconds"], night["remSeconds"], night["unspecifiedAsleepSeconds"]) == (
        28800, 25920, 2880, 16200, 5400, 4320, 0)
    assert night["efficiencyPercent"] == 90
    assert 0 <= night["score"] <= 100  # computed: the source sent none
    assert (night["notes"], night["source"]) == ("slept well", "Apple Watch")
    assert ok(http.get(f"/v1/{night['name']}", headers=h)) == night

    # Without stages a session is ASLEEP from start to end; a score the source sent is kept.
    nap = ok(http.post("/v1/users/me/sleepSessions", headers=h, json={
        "startTime": "2026-03-02T13:00:00Z", "endTime": "2026-03-02T13:40:00Z", "score": 61}))
    assert (nap["timeInBedSeconds"], nap["asleepSeconds"], nap["unspecifiedAsleepSeconds"], nap["efficiencyPercent"],
            nap["score"], nap["utcOffsetMinutes"], nap["localDate"]) == (2400, 2400, 2400, 100, 61, 0, "2026-03-02")
    later = ok(http.post("/v1/users/me/sleepSessions", headers=h, json={
        "startTime": "2026-03-02T23:00:00Z", "endTime": "2026-03-03T05:00:00Z", "utcOffsetMinutes": 60}))

    pages = page_through(http, session, "/v1/users/me/sleepSessions", "sleepSessions", 2)
    assert [[s["name"] for s in p] for p in pages] == [[later["name"], nap["name"]], [night["name"]]]
    assert pages[1][0] == night
    ending_on_the_2nd = ok(http.get("/v1/users/me/sleepSessions?" + query(
        startTime="2026-03-02T00:00:00Z", endTime="2026-03-03T00:00:00Z", source="Apple Watch"), headers=h))
    assert [s["name"] for s in ending_on_the_2nd["sleepSessions"]] == [night["name"]]

    # Replacing the stages computes the figures again.
    patched = ok(http.patch(f"/v1/{later['name']}", headers=h, params={"updateMask": "stages,notes"}, json={
        "notes": "restless", "stages": [
            stage("DEEP", "2026-03-02T23:00:00Z", "2026-03-03T00:00:00Z"),
            stage("AWAKE", "2026-03-03T00:00:00Z", "2026-03-03T01:30:00Z"),
            stage("REM", "2026-03-03T01:30:00Z", "2026-03-03T05:00:00Z")]}))
    assert (patched["asleepSeconds"], patched["awakeSeconds"], patched["deepSeconds"], patched["remSeconds"],
            patched["lightSeconds"], patched["unspecifiedAsleepSeconds"], patched["efficiencyPercent"]) == (
        16200, 5400, 3600, 12600, 0, 0, 75)
    assert patched["notes"] == "restless" and patched["timeInBedSeconds"] == 21600
    moved = ok(http.patch(f"/v1/{nap['name']}", headers=h, params={"updateMask": "endTime,score"},
                          json={"endTime": "2026-03-02T14:00:00Z"}))
    assert (moved["timeInBedSeconds"], moved["asleepSeconds"]) == (3600, 3600) and 0 <= moved["score"] <= 100
    assert moved["score"] != 61  # score cleared: computed again

    outside = http.patch(f"/v1/{nap['name']}", headers=h, params={"updateMask": "stages"}, json={
        "stages": [stage("REM", "2026-03-02T12:00:00Z", "2026-03-02T13:30:00Z")]})
    assert outside.status_code == 400 and violations(outside) == ["sleepSession.stages[0]"], outside.text
    derived = http.patch(f"/v1/{nap['name']}", headers=h, params={"updateMask": "efficiencyPercent"},
                         json={"efficiencyPercent": 100})
    assert derived.status_code == 400 and violations(derived) == ["updateMask"], derived.text

    assert ok(http.delete(f"/v1/{nap['name']}", headers=h)) == {}
    assert http.get(f"/v1/{nap['name']}", headers=h).status_code == 404
    assert http.delete(f"/v1/{nap['name']}", headers=h).status_code == 404


def test_bad_sleep_sessions_are_400_with_field_violations(http):
    session = new_user(http)
    h = auth(session)
    cases = {
        "sleepSession.endTime": {"startTime": "2026-03-01T22:00:00Z", "endTime": "2026-03-01T21:00:00Z"},
        "sleepSession.score": {"startTime": "2026-03-01T22:00:00Z", "endTime": "2026-03-02T06:00:00Z", "score": 101},
        "sleepSession.stages[1]": {**NIGHT, "stages": [
            stage("LIGHT", "2026-03-01T22:30:00Z", "2026-03-02T00:00:00Z"),
            stage("DEEP", "2026-03-01T23:30:00Z", "2026-03-02T01:00:00Z")]},
        "sleepSession.stages[0].stage": {**NIGHT, "stages": [
            stage("SLEEP_STAGE_UNSPECIFIED", "2026-03-01T22:30:00Z", "2026-03-02T00:00:00Z")]},
    }
    for field, body in cases.items():
        reply = http.post("/v1/users/me/sleepSessions", headers=h, json=body)
        assert reply.status_code == 400 and field in violations(reply), (field, reply.text)
    assert ok(http.get("/v1/users/me/sleepSessions", headers=h))["sleepSessions"] == []


def test_analyze_sleep_rest_and_grpcurl(mesh, http):
    session = new_user(http)
    h = auth(session)
    for body in (
        NIGHT,  # ends 2026-03-02 local: 7.2 h asleep of 8 h in bed, bedtime 23:30, wake 07:30
        {"startTime": "2026-03-02T13:00:00Z", "endTime": "2026-03-02T14:00:00Z", "utcOffsetMinutes": 60},  # its nap
        {"startTime": "2026-03-02T23:00:00Z", "endTime": "2026-03-03T05:00:00Z", "utcOffsetMinutes": 60},  # 6 h
        {"startTime": "2026-03-04T23:00:00Z", "endTime": "2026-03-05T06:00:00Z", "utcOffsetMinutes": 60},  # outside
    ):
        ok(http.post("/v1/users/me/sleepSessions", headers=h, json=body))
    query = {"startTime": "2026-03-01T00:00:00Z", "endTime": "2026-03-04T00:00:00Z"}
    a = ok(http.get("/v1/users/me/sleepSessions:analyze", headers=h, params=query))
    assert (a["startTime"], a["endTime"], a["nightCount"], a["targetSleepSeconds"]) == (
        query["startTime"], query["endTime"], 2, 25200)
    assert [(n["localDate"], n["asleepSeconds"], n["timeInBedSeconds"], n["debtSeconds"]) for n in a["nights"]] == [
        ("2026-03-03", 21600, 21600, 3600), ("2026-03-02", 25920 + 3600, 28800 + 3600, 0)]
    assert a["sleepDebtSeconds"] == 3600
    assert (a["avgAsleepSeconds"], a["avgTimeInBedSeconds"], a["avgAwakeSeconds"], a["avgLightSeconds"],
            a["avgDeepSeconds"], a["avgRemSeconds"]) == (25560, 27000, 1440, 8100, 2700, 2160)
    assert a["avgEfficiencyPercent"] == pytest.approx((100 + 100 * 29520 / 32400) / 2, abs=0.06)
    # The main sessions (not the nap) set bed and wake times: 23:30 and 00:00, 07:30 and 06:00.
    assert (a["avgBedtime"], a["avgWakeTime"]) == ("23:45", "06:45")
    assert (a["bedtimeStddevMinutes"], a["wakeTimeStddevMinutes"]) == (15, 45)
    assert a["consistencyScore"] == 75
    assert 0 <= a["avgScore"] <= 100

    over_grpc = call(mesh, session, "AnalyzeSleep", {"parent": "users/me", **query, "targetSleepSeconds": 28800})
    assert over_grpc["targetSleepSeconds"] == 28800 and over_grpc["sleepDebtSeconds"] == 7200
    assert [n.get("debtSeconds", 0) for n in over_grpc["nights"]] == [7200, 0]
    assert over_grpc["avgBedtime"] == "23:45" and over_grpc["avgAsleepSeconds"] == 25560

    bad = http.get("/v1/users/me/sleepSessions:analyze", headers=h,
                   params={**query, "targetSleepSeconds": 90000})
    assert bad.status_code == 400 and violations(bad) == ["targetSleepSeconds"], bad.text


# Heart-rate zones.

def test_heart_rate_zones_from_posted_samples(mesh, http):
    session = new_user(http)
    h = auth(session)
    t0 = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.UTC)

    def at(minutes: int) -> str:
        return (t0 + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    # Each sample counts until the next one, at most 10 minutes, and the last one until the window's end.
    beats = [(0, 90), (2, 110), (5, 120), (6, 150), (30, 170), (31, 205)]
    samples = [{"type": "heart_rate", "startTime": at(m), "value": bpm, "unit": "count/min", "source": "Watch"}
               for m, bpm in beats]
    samples.append({"type": "resting_heart_rate", "startTime": at(-600), "value": 52, "unit": "/min"})
    assert ok(http.post("/v1/users/me/samples:batchCreate", headers=h, json={"samples": samples}))["accepted"] == 7
    window = {"startTime": at(0), "endTime": at(34)}

    z = ok(http.get("/v1/users/me/heartRate:zones", headers=h, params={**window, "maxHeartRate": 200}))
    assert (z["maxHeartRate"], z["basis"], z["age"], z["restingHeartRate"]) == (200, "GIVEN", 0, 52)
    assert (z["startTime"], z["endTime"]) == (window["startTime"], window["endTime"])
    assert [(x["zone"], x["displayName"], x["minPercent"], x["maxPercent"], x["minBpm"], x["maxBpm"])
            for x in z["zones"]] == [
        (1, "Recovery", 50, 60, 100, 120), (2, "Endurance", 60, 70, 120, 140), (3, "Tempo", 70, 80, 140, 160),
        (4, "Threshold", 80, 90, 160, 180), (5, "Maximum", 90, 100, 180, 200)]
    # 90 below for 2 min; 110 in zone 1 for 3 min; 120 (lower bound, inclusive) in zone 2 for 1 min;
    # 150 in zone 3 capped at 10 min; 170 in zone 4 for 1 min; 205 in zone 5 until the end, 3 min.
    assert [x["timeInZoneSeconds"] for x in z["zones"]] == [180, 60, 600, 60, 180]
    assert (z["belowZonesSeconds"], z["totalSeconds"]) == (120, 1200)
    assert [x["percentOfTime"] for x in z["zones"]] == [15, 5, 50, 5, 15]

    measured = ok(http.get("/v1/users/me/heartRate:zones", headers=h, params={**window, "basis": "MEASURED"}))
    assert (measured["maxHeartRate"], measured["basis"]) == (205, "MEASURED")
    assert measured["zones"][4]["minBpm"] == pytest.approx(184.5)
    # On 205 bpm zone 1 runs from 102.5 to 123, so 120 joins 110 there and zone 2 stays empty.
    assert [x["timeInZoneSeconds"] for x in measured["zones"]] == [240, 0, 600, 60, 180]

    no_birth_date = http.get("/v1/users/me/heartRate:zones", headers=h, params={**window, "basis": "AGE"})
    assert no_birth_date.status_code == 400 and "birth date" in no_birth_date.json()["message"], no_birth_date.text
    too_low = http.get("/v1/users/me/heartRate:zones", headers=h, params={**window, "maxHeartRate": 90})
    assert too_low.status_code == 400 and violations(too_low) == ["maxHeartRate"], too_low.text

    over_grpc = call(mesh, session, "GetHeartRateZones", {"parent": "users/me", **window, "maxHeartRate": 200})
    assert [x.get("timeInZoneSeconds", 0) for x in over_grpc["zones"]] == [180, 60, 600, 60, 180]


def test_the_profile_sets_the_age_basis_and_the_default_offsets(http):
    session = new_user(http)
    h = auth(session)
    # Before any Tracking call: Tracking caches a profile for a minute once it has read it.
    ok(http.patch("/v1/users/me", headers=h, params={"updateMask": "birthDate,timeZone"},
                  json={"birthDate": "1990-06-15", "timeZone": "America/New_York"}))
    z = ok(http.get("/v1/users/me/heartRate:zones", headers=h, params={
        "startTime": "2026-03-01T00:00:00Z", "endTime": "2026-03-05T00:00:00Z"}))
    assert (z["basis"], z["age"], z["maxHeartRate"]) == ("AGE", 35, 183.5)  # 208 - 0.7 x 35
    assert (z["zones"][0]["minBpm"], z["zones"][4]["maxBpm"], z["totalSeconds"]) == (91.8, 183.5, 0)
    # Without an offset of their own, records take the user's zone at their time (EST, then EDT).
    entry = ok(http.post("/v1/users/me/nutritionEntries", headers=h, json={
        "consumeTime": "2026-03-02T02:00:00Z", "caloriesKcal": 120}))
    assert (entry["utcOffsetMinutes"], entry["localDate"]) == (-300, "2026-03-01")
    walk = ok(http.post("/v1/users/me/activities", headers=h, json={
        "type": "walking", "startTime": "2026-07-01T12:00:00Z", "endTime": "2026-07-01T12:30:00Z"}))
    assert walk["utcOffsetMinutes"] == -240


# Nutrition.

def test_nutrition_flow_and_daily_totals_on_the_local_day(http):
    session = new_user(http)
    h = auth(session)
    breakfast = ok(http.post("/v1/users/me/nutritionEntries", headers=h, json={
        "mealType": "BREAKFAST", "consumeTime": "2026-03-01T07:30:00Z", "utcOffsetMinutes": 60,
        "foodName": "Oatmeal with banana", "caloriesKcal": 350, "proteinGrams": 12, "carbsGrams": 60, "fatGrams": 6,
        "fiberGrams": 8, "sugarGrams": 15, "notes": "with cinnamon", "source": "MyFitnessPal"}))
    assert breakfast["name"].startswith(session["user"]["name"] + "/nutritionEntries/")
    assert (breakfast["mealType"], breakfast["foodName"], breakfast["caloriesKcal"], breakfast["fiberGrams"],
            breakfast["localDate"], breakfast["utcOffsetMinutes"]) == (
        "BREAKFAST", "Oatmeal with banana", 350, 8, "2026-03-01", 60)
    assert "waterMl" not in breakfast or breakfast["waterMl"] in (None, 0)
    assert ok(http.get(f"/v1/{breakfast['name']}", headers=h)) == breakfast
    # 01:30 UTC on the 2nd is 20:30 on the 1st in New York; 22:00 UTC on the 1st is 01:00 on the 2nd in Moscow.
    dinner = ok(http.post("/v1/users/me/nutritionEntries", headers=h, json={
        "mealType": "DINNER", "consumeTime": "2026-03-02T01:30:00Z", "utcOffsetMinutes": -300,
        "foodName": "Pasta", "caloriesKcal": 700, "proteinGrams": 40, "carbsGrams": 80, "fatGrams": 25, "waterMl": 250,
        "source": "MyFitnessPal"}))
    coffee = ok(http.post("/v1/users/me/nutritionEntries", headers=h, json={
        "mealType": "DRINK", "consumeTime": "2026-03-01T22:00:00Z", "utcOffsetMinutes": 180, "foodName": "Espresso",
        "caffeineMg": 95, "waterMl": 200, "source": "MyFitnessPal"}))
    assert (dinner["localDate"], coffee["localDate"]) == ("2026-03-01", "2026-03-02")

    pages = page_through(http, session, "/v1/users/me/nutritionEntries", "nutritionEntries", 2)
    assert [[e["name"] for e in p] for p in pages] == [[dinner["name"], coffee["name"]], [breakfast["name"]]]
    drinks = ok(http.get("/v1/users/me/nutritionEntries", headers=h, params={"mealType": "DRINK"}))
    assert [e["name"] for e in drinks["nutritionEntries"]] == [coffee["name"]]

    def summary() -> dict[str, dict]:
        days = ok(http.get("/v1/users/me/nutritionEntries:summarize", headers=h,
                           params={"startDate": "2026-02-28", "endDate": "2026-03-02"}))["days"]
        assert [d["localDate"] for d in days] == ["2026-02-28", "2026-03-01", "2026-03-02"]
        return {d["localDate"]: d for d in days}

    days = summary()
    assert days["2026-02-28"]["entryCount"] == 0 and days["2026-02-28"]["caloriesKcal"] == 0
    first = days["2026-03-01"]
    assert first["entryCount"] == 2
    assert (first["caloriesKcal"], first["proteinGrams"], first["carbsGrams"], first["fatGrams"], first["fiberGrams"],
            first["sugarGrams"], first["caffeineMg"]) == pytest.approx((1050, 52, 140, 31, 8, 15, 0))
    assert first["waterMl"] == pytest.approx(250)
    second = days["2026-03-02"]
    assert (second["entryCount"], second["caffeineMg"], second["waterMl"], second["caloriesKcal"]) == \
        pytest.approx((1, 95, 200, 0))

    patched = ok(http.patch(f"/v1/{breakfast['name']}", headers=h, params={"updateMask": "caloriesKcal,foodName"},
                            json={"caloriesKcal": 400, "foodName": "  Porridge ", "proteinGrams": 99}))
    assert (patched["caloriesKcal"], patched["foodName"], patched["proteinGrams"]) == (400, "Porridge", 12)
    assert patched["updateTime"] > breakfast["updateTime"]
    assert summary()["2026-03-01"]["caloriesKcal"] == pytest.approx(1100)

    assert ok(http.delete(f"/v1/{coffee['name']}", headers=h)) == {}
    assert http.get(f"/v1/{coffee['name']}", headers=h).status_code == 404
    assert http.delete(f"/v1/{coffee['name']}", headers=h).status_code == 404
    after = summary()["2026-03-02"]
    assert (after["entryCount"], after["caffeineMg"], after["waterMl"]) == (0, 0, 0)


def test_nutrition_entries_and_dietary_samples_meet(http):
    session = new_user(http)
    h = auth(session)
    entry = ok(http.post("/v1/users/me/nutritionEntries", headers=h, json={
        "consumeTime": "2026-03-01T08:00:00Z", "utcOffsetMinutes": 0, "caffeineMg": 95, "waterMl": 200,
        "source": "MyFitnessPal"}))
    ok(http.post("/v1/users/me/samples", headers=h, json={
        "type": "water", "startTime": "2026-03-01T12:00:00Z", "utcOffsetMinutes": 0, "value": 500, "unit": "mL",
        "source": "Water app"}))
    day = ok(http.get("/v1/users/me/nutritionEntries:summarize", headers=h,
                      params={"startDate": "2026-03-01", "endDate": "2026-03-01"}))["days"][0]
    caffeine = ok(http.get("/v1/users/me/samples", headers=h, params={"type": "caffeine"}))["samples"]
    assert [(s["value"], s["source"], s["startTime"]) for s in caffeine] == [(95, "MyFitnessPal", entry["consumeTime"])]
    assert (day["entryCount"], day["caffeineMg"], day["waterMl"]) == (1, 95, 700)


def test_bad_nutrition_requests_are_400(http):
    session = new_user(http)
    h = auth(session)
    empty = http.post("/v1/users/me/nutritionEntries", headers=h, json={"consumeTime": "2026-03-01T08:00:00Z",
                                                                        "foodName": "Air"})
    assert empty.status_code == 400 and violations(empty) == ["nutritionEntry"], empty.text
    negative = http.post("/v1/users/me/nutritionEntries", headers=h, json={
        "consumeTime": "2026-03-01T08:00:00Z", "caloriesKcal": -10, "sugarGrams": 5000})
    assert negative.status_code == 400, negative.text
    assert set(violations(negative)) == {"nutritionEntry.caloriesKcal", "nutritionEntry.sugarGrams"}
    no_time = http.post("/v1/users/me/nutritionEntries", headers=h, json={"caloriesKcal": 10})
    assert no_time.status_code == 400 and violations(no_time) == ["nutritionEntry.consumeTime"], no_time.text
    backwards = http.get("/v1/users/me/nutritionEntries:summarize", headers=h,
                         params={"startDate": "2026-03-05", "endDate": "2026-03-01"})
    assert backwards.status_code == 400 and violations(backwards) == ["endDate"], backwards.text
    malformed = http.get("/v1/users/me/nutritionEntries:summarize", headers=h, params={"startDate": "1/3/2026"})
    assert malformed.status_code == 400 and violations(malformed) == ["startDate"], malformed.text


# Goals. The mesh's processes run on the real clock, which a test cannot pin as the integration
# tests do, so tests of "today" read the date around the calls that depend on it (a new user's
# zone is UTC, and the services share this machine's clock).

def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def on_one_day(attempt) -> None:
    """Runs attempt(today), and once more on the new day if it failed while the date changed under
    it (a run across midnight sees two todays; the retry takes seconds, so it cannot cross another).
    A failure on an unchanged date is raised as it is. Each attempt makes its own user."""
    today = utc_today()
    try:
        attempt(today)
    except AssertionError:
        if utc_today() == today:
            raise
        attempt(utc_today())


def test_goal_flow(http):
    session = new_user(http)
    h = auth(session)
    before = utc_today()
    steps = ok(http.post("/v1/users/me/goals", headers=h, json={
        "metric": "step_count", "targetValue": 10000, "period": "DAILY"}))
    after = utc_today()
    assert steps["name"].startswith(session["user"]["name"] + "/goals/")
    assert (steps["metric"], steps["targetValue"], steps["unit"], steps["comparison"], steps["period"],
            steps["state"], steps["targetDate"]) == ("step_count", 10000, "{count}", "AT_LEAST", "DAILY", "ACTIVE", "")
    assert steps["startDate"] in (before.isoformat(), after.isoformat())  # the day it was created on
    assert steps["displayName"] == "step_count at least 10000 {count} a day"
    assert ok(http.get(f"/v1/{steps['name']}", headers=h)) == steps
    water = ok(http.post("/v1/users/me/goals", headers=h, json={
        "displayName": "Hydrate", "metric": "water", "targetValue": 14000, "period": "WEEKLY",
        "startDate": "2026-01-05"}))
    weight = ok(http.post("/v1/users/me/goals", headers=h, json={
        "metric": "weight", "targetValue": 75, "comparison": "AT_MOST", "period": "MONTHLY",
        "startDate": "2026-01-01", "targetDate": "2026-12-31"}))
    assert (water["displayName"], water["unit"], water["startDate"]) == ("Hydrate", "mL", "2026-01-05")
    assert (weight["comparison"], weight["unit"], weight["targetDate"]) == ("AT_MOST", "kg", "2026-12-31")

    pages = page_through(http, session, "/v1/users/me/goals", "goals", 2)
    assert [[g["name"] for g in p] for p in pages] == [[weight["name"], water["name"]], [steps["name"]]]
    assert [g["name"] for g in ok(http.get("/v1/users/me/goals", headers=h, params={"metric": "water"}))["goals"]] \
        == [water["name"]]

    patched = ok(http.patch(f"/v1/{steps['name']}", headers=h, params={"updateMask": "targetValue,state,displayName"},
                            json={"targetValue": 12000, "state": "PAUSED", "displayName": "12k", "period": "WEEKLY"}))
    assert (patched["targetValue"], patched["state"], patched["displayName"], patched["period"]) == (
        12000, "PAUSED", "12k", "DAILY")
    assert ok(http.get(f"/v1/{steps['name']}", headers=h)) == patched
    paused = ok(http.get("/v1/users/me/goals", headers=h, params={"state": "PAUSED"}))["goals"]
    assert [g["name"] for g in paused] == [steps["name"]]
    immutable = http.patch(f"/v1/{steps['name']}", headers=h, params={"updateMask": "metric"}, json={"metric": "water"})
    assert immutable.status_code == 400 and violations(immutable) == ["updateMask"], immutable.text
    set_by_tracking = http.patch(f"/v1/{steps['name']}", headers=h, params={"updateMask": "state"},
                                 json={"state": "ACHIEVED"})
    assert set_by_tracking.status_code == 400 and violations(set_by_tracking) == ["goal.state"], set_by_tracking.text

    assert ok(http.delete(f"/v1/{water['name']}", headers=h)) == {}
    for path in (f"/v1/{water['name']}", f"/v1/{water['name']}:progress"):
        assert http.get(path, headers=h).status_code == 404, path
    assert http.delete(f"/v1/{water['name']}", headers=h).status_code == 404


def test_bad_goals_are_400_with_field_violations(http):
    session = new_user(http)
    h = auth(session)
    reply = http.post("/v1/users/me/goals", headers=h, json={"metric": "happiness", "targetValue": 1})
    assert reply.status_code == 400, reply.text
    assert set(violations(reply)) == {"goal.metric", "goal.period"}
    dates = http.post("/v1/users/me/goals", headers=h, json={
        "metric": "weight", "targetValue": 75, "period": "MONTHLY", "startDate": "2026-06-01",
        "targetDate": "2026-01-01"})
    assert dates.status_code == 400 and violations(dates) == ["goal.targetDate"], dates.text
    out_of_range = http.post("/v1/users/me/goals", headers=h, json={
        "metric": "heart_rate", "targetValue": 400, "period": "DAILY"})
    assert out_of_range.status_code == 400 and violations(out_of_range) == ["goal.targetValue"], out_of_range.text
    assert ok(http.get("/v1/users/me/goals", headers=h))["goals"] == []


def test_goal_progress_and_streaks_from_posted_samples(mesh, http):
    on_one_day(lambda today: goal_progress_and_streaks(mesh, http, today))


def goal_progress_and_streaks(mesh, http, today: dt.date) -> None:
    session = new_user(http)
    h = auth(session)

    def day(back: int, hour: int) -> str:
        return f"{(today - dt.timedelta(days=back)).isoformat()}T{hour:02d}:00:00Z"

    # Four days back to today: met, missed, met, met, and 6,000 so far today.
    steps = {4: 12000, 3: 5000, 2: 10000, 1: 11000, 0: 6000}
    samples = [{"type": "step_count", "startTime": day(back, 0), "utcOffsetMinutes": 0, "value": value,
                "unit": "count", "source": "iPhone"} for back, value in steps.items()]
    samples.append({"type": "step_count", "startTime": day(6, 0), "value": 50000, "unit": "count",
                    "source": "iPhone"})  # before the goal's start: counts nothing
    assert ok(http.post("/v1/users/me/samples:batchCreate", headers=h, json={"samples": samples}))["accepted"] == 6
    goal = ok(http.post("/v1/users/me/goals", headers=h, json={
        "metric": "step_count", "targetValue": 10000, "period": "DAILY",
        "startDate": (today - dt.timedelta(days=4)).isoformat()}))

    p = ok(http.get(f"/v1/{goal['name']}:progress", headers=h))
    assert (p["goal"], p["metric"], p["unit"], p["targetValue"]) == (goal["name"], "step_count", "{count}", 10000)
    assert (p["periodStartDate"], p["periodEndDate"]) == (today.isoformat(), today.isoformat())
    assert (p["currentValue"], p["percent"], p["met"]) == (6000, 60, False)
    # Today is not met yet, so the streak runs up to yesterday: two days; the missed day broke the first run.
    assert (p["currentStreak"], p["bestStreak"]) == (2, 2)
    assert [(x["startDate"], x["value"], x["percent"], x["met"]) for x in p["history"]] == [
        ((today - dt.timedelta(days=b)).isoformat(), steps[b], steps[b] / 100, steps[b] >= 10000) for b in (1, 2, 3, 4)]
    assert [(a["kind"], a["periodStartDate"]) for a in p["achievements"]] == [
        ("FIRST_TARGET_MET", (today - dt.timedelta(days=4)).isoformat())]
    assert ok(http.get(f"/v1/{goal['name']}:progress", headers=h, params={"historyPeriods": 2}))["history"] == \
        p["history"][:2]

    # 5,000 more steps today: 110 %, met, and a three-day streak.
    ok(http.post("/v1/users/me/samples", headers=h, json={
        "type": "step_count", "startTime": day(0, 1), "utcOffsetMinutes": 0, "value": 5000, "unit": "count",
        "source": "iPhone"}))
    q = call(mesh, session, "GetGoalProgress", {"name": goal["name"]})
    assert (q["currentValue"], q["percent"], q["met"], q["currentStreak"], q["bestStreak"]) == (11000, 110, True, 3, 3)
    streak = [a for a in q["achievements"] if a["kind"] == "STREAK"]
    assert [(a["streakLength"], a["title"], a["periodStartDate"]) for a in streak] == [
        (3, "3-day streak", today.isoformat())]
    assert {a["kind"] for a in q["achievements"]} == {"FIRST_TARGET_MET", "STREAK"}
    again = ok(http.get(f"/v1/{goal['name']}:progress", headers=h))
    assert [a["name"] for a in again["achievements"]] == [a["name"] for a in q["achievements"]]  # awarded once
    too_long = http.get(f"/v1/{goal['name']}:progress", headers=h, params={"historyPeriods": 400})
    assert too_long.status_code == 400 and violations(too_long) == ["historyPeriods"], too_long.text


def test_goal_progress_at_most(http):
    on_one_day(lambda today: goal_progress_at_most(http, today))


def goal_progress_at_most(http, today: dt.date) -> None:
    session = new_user(http)
    h = auth(session)
    ok(http.post("/v1/users/me/samples:batchCreate", headers=h, json={"samples": [
        {"type": "caffeine", "startTime": f"{today.isoformat()}T0{hour}:00:00Z", "utcOffsetMinutes": 0,
         "value": 250, "unit": "mg"} for hour in (0, 1)]}))
    goal = ok(http.post("/v1/users/me/goals", headers=h, json={
        "metric": "caffeine", "targetValue": 400, "comparison": "AT_MOST", "period": "DAILY"}))
    p = ok(http.get(f"/v1/{goal['name']}:progress", headers=h))
    # 500 mg over a 400 mg limit: target over value, 80 %, not met.
    assert (p["currentValue"], p["percent"], p["met"], p["currentStreak"]) == (500, 80, False, 0)


# Errors common to every resource.

@pytest.mark.parametrize("collection", ["activities", "sleepSessions", "nutritionEntries", "goals"])
def test_unknown_ids_under_me_are_404(http, collection):
    session = new_user(http)
    h = auth(session)
    name = f"/v1/users/me/{collection}/{uuid.uuid4()}"
    field = "displayName" if collection == "goals" else "notes"
    for reply in (http.get(name, headers=h), http.delete(name, headers=h),
                  http.patch(name, headers=h, params={"updateMask": field}, json={field: "x"})):
        assert reply.status_code == 404, (reply.request.method, reply.text)
        assert reply.headers["content-type"].startswith("application/json") and reply.json()["message"]
    own = f"/v1/{session['user']['name']}/{collection}/{uuid.uuid4()}"
    assert http.get(own, headers=h).status_code == 404


def test_a_plus_in_a_query_is_a_space(http):
    session = new_user(http)
    h = auth(session)
    ok(http.post("/v1/users/me/sleepSessions", headers=h, json=NIGHT))
    assert len(ok(http.get("/v1/users/me/sleepSessions?source=Apple%20Watch", headers=h))["sleepSessions"]) == 1
    assert len(ok(http.get("/v1/users/me/sleepSessions?source=Apple+Watch", headers=h))["sleepSessions"]) == 1
