"""Health Auto Export through Envoy, exactly as the iOS app sends it: the raw JSON body with an
API key and the automation headers, streamed to Ingest, written through Tracking."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import auth, new_user

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hae"


def api_key(http, session) -> str:
    reply = http.post("/v1/users/me/apiKeys", json={"displayName": "Health Auto Export"}, headers=auth(session))
    return reply.json()["secret"]


def post(http, key: str, body: bytes, extra: dict | None = None):
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json", **(extra or {})}
    return http.post("/v1/ingest/healthAutoExport", content=body, headers=headers)


@pytest.mark.parametrize("fixture", ["v2_week_metric", "v2_day_imperial_12h_segments"])
def test_each_fixture_is_counted_item_by_item_and_replays_as_duplicates(http, fixture):
    session = new_user(http)
    key = api_key(http, session)
    body = (FIXTURES / f"{fixture}.json").read_bytes()
    expected = json.loads((FIXTURES / f"{fixture}.counts.json").read_text())
    reply = post(http, key, body, {"automation-name": "healthmesh sync", "session-id": "S-1"})
    assert reply.status_code == 200, reply.text
    ingestion = reply.json()
    assert ingestion["state"] == "SUCCEEDED", ingestion["errors"][:5]
    assert ingestion["name"].startswith(session["user"]["name"] + "/ingestions/")
    assert ingestion["requestHeaders"]["automationName"] == "healthmesh sync"
    assert ingestion["requestHeaders"]["sessionId"] == "S-1"
    assert ingestion["payloadDigest"].startswith("sha256:") and int(ingestion["payloadSizeBytes"]) == len(body)
    totals = {metric: sum(c.values()) for metric, c in ingestion["counts"].items()}
    assert totals == expected
    assert all(c["rejected"] == 0 for c in ingestion["counts"].values()), ingestion["errors"][:5]
    # The same data again, in other bytes (each metric's points now come before its name): nothing new is stored.
    resent = []
    for layout in ({"indent": 1}, {"separators": (",", ":")}):
        again = post(http, key, json.dumps(json.loads(body), sort_keys=True, **layout).encode()).json()
        assert again["state"] == "SUCCEEDED"
        assert {m: sum(c.values()) for m, c in again["counts"].items()} == expected
        assert sum(c["accepted"] + c["updated"] + c["rejected"] for c in again["counts"].values()) == 0
        resent.append(again["name"])
    got = http.get(f"/v1/{ingestion['name']}", headers=auth(session)).json()
    assert got["counts"] == ingestion["counts"]
    listed = http.get("/v1/users/me/ingestions", headers=auth(session)).json()["ingestions"]
    assert [i["name"] for i in listed] == [*reversed(resent), ingestion["name"]]


def test_imperial_units_are_converted_and_kept(http):
    session = new_user(http)
    reply = post(http, api_key(http, session), (FIXTURES / "v2_day_imperial_12h_segments.json").read_bytes())
    assert reply.json()["state"] == "SUCCEEDED", reply.text
    weight = http.get("/v1/users/me/samples:latest?types=weight", headers=auth(session)).json()["samples"][0]
    assert weight["unit"] == "kg" and weight["originalUnit"] == "lb"
    assert weight["value"] == pytest.approx(weight["originalValue"] * 0.45359237)
    assert weight["utcOffsetMinutes"] == -480


def test_invalid_json_is_400_with_where_and_the_payload_is_archived(http):
    session = new_user(http)
    key = api_key(http, session)
    reply = post(http, key, b'{"data": {"metrics": [{"name": "heart_rate", "units": "count/min", "data": [')
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert "byte" in body["message"]
    info = next(d for d in body["details"] if d["@type"].endswith("ErrorInfo"))
    failed = http.get(f"/v1/{info['metadata']['ingestion']}", headers=auth(session)).json()
    assert failed["state"] == "FAILED" and failed["payloadDigest"].startswith("sha256:")
    assert post(http, key, b'[1, 2, 3]').status_code == 400


def test_the_batch_parts_add_up_and_resending_adds_nothing(http):
    session = new_user(http)
    key = api_key(http, session)
    headers = {k: v for k, v in json.loads((FIXTURES / "batch" / "headers.json").read_text()).items()
               if k.lower() != "content-type"}
    for part in ("part-1.json", "part-2.json", "part-1.json"):
        reply = post(http, key, (FIXTURES / "batch" / part).read_bytes(), headers)
        assert reply.json()["state"] == "SUCCEEDED", reply.text
    steps = http.get("/v1/users/me/samples?type=step_count&pageSize=100", headers=auth(session)).json()["samples"]
    assert len(steps) == 14 and sum(s["value"] for s in steps) == 1575


def test_reprocess_parses_the_archive_again(http):
    session = new_user(http)
    first = post(http, api_key(http, session), (FIXTURES / "v1_legacy_mixed.json").read_bytes()).json()
    assert first["state"] == "SUCCEEDED", first
    again = http.post(f"/v1/{first['name']}:reprocess", json={}, headers=auth(session))
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["reprocessCount"] == 1 and body["state"] == "SUCCEEDED"
    assert {m: sum(c.values()) for m, c in body["counts"].items()} == {
        m: sum(c.values()) for m, c in first["counts"].items()}
    assert sum(c["accepted"] for c in body["counts"].values()) == 0  # everything was stored the first time


def test_another_users_ingestions_are_forbidden(http):
    a, b = new_user(http), new_user(http)
    mine = post(http, api_key(http, a), (FIXTURES / "v1_legacy_mixed.json").read_bytes()).json()
    assert http.get(f"/v1/{mine['name']}", headers=auth(b)).status_code == 403
    assert http.post(f"/v1/{mine['name']}:reprocess", json={}, headers=auth(b)).status_code == 403
    assert http.get(f"/v1/{a['user']['name']}/ingestions", headers=auth(b)).status_code == 403


def test_typed_batches_are_counted_per_type(http):
    session = new_user(http)
    reply = http.post("/v1/users/me/ingestions:batch", headers=auth(session), json={"samples": [
        {"type": "heart_rate", "startTime": "2026-03-01T07:00:00Z", "value": 61, "unit": "count/min"},
        {"type": "heart_rate", "startTime": "2026-03-01T07:01:00Z", "value": 900, "unit": "count/min"},
        {"type": "weight", "startTime": "2026-03-01T07:00:00Z", "value": 70, "unit": "kg"}]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["format"] == "BATCH" and body["state"] == "SUCCEEDED"
    assert body["counts"]["heart_rate"]["accepted"] == 1 and body["counts"]["heart_rate"]["rejected"] == 1
    assert body["errors"][0]["path"] == "$.samples[1]"


def test_respond_async_comes_back_pending_and_is_polled_to_success(http):
    session = new_user(http)
    key = api_key(http, session)
    body = (FIXTURES / "v2_week_metric.json").read_bytes()
    reply = post(http, key, body, {"prefer": "respond-async"})
    assert reply.status_code == 200, reply.text
    ingestion = reply.json()
    assert ingestion["state"] in ("PENDING", "RUNNING")
    deadline = time.monotonic() + 60
    while ingestion["state"] in ("PENDING", "RUNNING") and time.monotonic() < deadline:
        time.sleep(0.2)
        ingestion = http.get(f"/v1/{ingestion['name']}", headers=auth(session)).json()
    assert ingestion["state"] == "SUCCEEDED"
    expected = json.loads((FIXTURES / "v2_week_metric.counts.json").read_text())
    assert {m: sum(c.values()) for m, c in ingestion["counts"].items()} == expected
    assert int(ingestion["processedBytes"]) == len(body)


def test_what_the_fixture_readme_promises(http):
    """tests/fixtures/hae/README.md: what each payload must hold after ingest."""
    session = new_user(http)
    key = api_key(http, session)
    h = auth(session)
    week = post(http, key, (FIXTURES / "v2_week_metric.json").read_bytes()).json()
    assert week["state"] == "SUCCEEDED"
    hr = http.get("/v1/users/me/samples?type=heart_rate&pageSize=1000", headers=h).json()["samples"]
    assert hr and all("min" in s and "max" in s and s["min"] <= s["value"] <= s["max"] for s in hr)
    nights = http.get("/v1/users/me/sleepSessions?pageSize=100", headers=h).json()["sleepSessions"]
    assert len(nights) == 7
    assert all({"CORE", "DEEP", "REM", "AWAKE"} <= {st["stage"] for st in n["stages"]} for n in nights)
    assert len(http.get("/v1/users/me/activities?pageSize=100", headers=h).json()["activities"]) == 4

    other = new_user(http)
    legacy = post(http, api_key(http, other), (FIXTURES / "v1_legacy_mixed.json").read_bytes()).json()
    assert legacy["state"] == "SUCCEEDED", legacy["errors"]
    assert legacy["counts"]["stateOfMind"]["skipped"] >= 1
    # The skipped kind is reported once, at its first item (ItemCounts.skipped); nothing else is an error.
    assert [(e["path"], e["reason"]) for e in legacy["errors"]] == [("$.data.stateOfMind[0]", "UNSUPPORTED_METRIC")]
    assert "walking_running_distance" not in legacy["counts"]  # "data": null is no items, no error
    energy = http.get("/v1/users/me/samples?type=active_energy", headers=auth(other)).json()["samples"]
    assert any(s["originalValue"] == 418.4 and s["originalUnit"] == "kJ" and round(s["value"], 6) == 100
               for s in energy)
    glucose = http.get("/v1/users/me/samples?type=blood_glucose", headers=auth(other)).json()["samples"]
    assert {s["mealContext"] for s in glucose} == {"BEFORE_MEAL", "AFTER_MEAL"}
    assert http.get("/v1/users/me/samples?type=vo2_max", headers=auth(other)).json()["samples"]

    third = new_user(http)
    segments = post(http, api_key(http, third), (FIXTURES / "v2_day_imperial_12h_segments.json").read_bytes()).json()
    assert segments["counts"]["sleep_analysis"]["accepted"] == 10
    (night,) = http.get("/v1/users/me/sleepSessions", headers=auth(third)).json()["sleepSessions"]
    assert len(night["stages"]) == 10
    water = http.get("/v1/users/me/samples?type=water", headers=auth(third)).json()["samples"]
    assert water and all(s["unit"] == "mL" and s["originalUnit"] == "fl_oz_us" for s in water)


def test_dates_at_the_ends_of_the_calendar_are_rejected_per_item(http):
    """Year 1 at +0100 (or 9999 at -0100) is a date no UTC instant can hold: that item is
    rejected, the rest of the payload is stored."""
    session = new_user(http)
    edge = ["0001-01-01 00:00:00 +0100", "9999-12-31 23:59:59 -0100", "0001-01-01 0:00:00\u202fam +0100"]
    body = json.dumps({"data": {
        "metrics": [{"name": "step_count", "units": "count",
                     "data": [{"date": d, "qty": 5} for d in edge] + [{"date": "2026-03-01 07:00:00 +0100", "qty": 9}]},
                    {"name": "sleep_analysis", "units": "hr",
                     "data": [{"startDate": edge[0], "endDate": "0001-01-01 07:00:00 +0100", "value": "Core"}]}],
        "workouts": [{"name": "Outdoor Walk", "start": edge[0], "end": "0001-01-01 00:30:00 +0100"}]}}).encode()
    ingestion = post(http, api_key(http, session), body).json()
    assert ingestion["state"] == "SUCCEEDED", ingestion
    counts = ingestion["counts"]
    assert (counts["step_count"]["accepted"], counts["step_count"]["rejected"]) == (1, 3)
    assert counts["sleep_analysis"]["rejected"] == 1 and counts["workouts"]["rejected"] == 1
    assert {e["path"] for e in ingestion["errors"]} >= {f"$.data.metrics[0].data[{i}].date" for i in range(3)}


def test_numbers_no_float_can_hold_are_rejected_per_item(http):
    """1e400 (infinite once read) and an integer of 400 digits: INVALID_VALUE on their item, never a 500."""
    session = new_user(http)
    date = '"date": "2026-03-01 07:00:00 +0100"'
    items = ", ".join([f'{{{date}, "qty": 1e400}}', f'{{{date}, "qty": {"9" * 400}}}',
                       '{"date": "2026-03-01 08:00:00 +0100", "qty": 4}'])
    body = f'{{"data": {{"metrics": [{{"name": "step_count", "units": "count", "data": [{items}]}}]}}}}'.encode()
    ingestion = post(http, api_key(http, session), body).json()
    assert ingestion["state"] == "SUCCEEDED", ingestion
    assert (ingestion["counts"]["step_count"]["accepted"], ingestion["counts"]["step_count"]["rejected"]) == (1, 2)
    assert {(e["path"], e["reason"]) for e in ingestion["errors"]} == {
        (f"$.data.metrics[0].data[{i}].qty", "INVALID_VALUE") for i in range(2)}


def test_route_points_that_cannot_be_read_are_left_out_and_said(http):
    session = new_user(http)
    route = [{"latitude": 52.5, "longitude": 13.4, "timestamp": "2026-03-01 07:00:00 +0100"},
             {"latitude": 152.5, "longitude": 13.4, "timestamp": "2026-03-01 07:00:05 +0100"},
             {"latitude": 52.5, "longitude": 13.4}]
    body = json.dumps({"data": {"workouts": [{"name": "Outdoor Walk", "start": "2026-03-01 07:00:00 +0100",
                                              "end": "2026-03-01 07:30:00 +0100", "route": route}]}}).encode()
    ingestion = post(http, api_key(http, session), body).json()
    assert ingestion["state"] == "SUCCEEDED" and ingestion["counts"]["workouts"]["accepted"] == 1
    (said,) = [e for e in ingestion["errors"] if e["path"] == "$.data.workouts[0]"]
    assert said["reason"] == "PARTLY_READ" and said["message"].startswith("2 route points")
    (activity,) = http.get("/v1/users/me/activities?view=FULL", headers=auth(session)).json()["activities"]
    assert len(activity["route"]) == 1
