"""Health Auto Export fidelity (issue 17) through Envoy: what the payloads in the shapes the other
projects sent are stored as, and that sending them again in other bytes stores nothing new."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import auth, new_user
from tests.e2e.test_ingest_hae import api_key, post

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hae"


def ingest(http, key: str, body: bytes) -> dict:
    reply = post(http, key, body)
    assert reply.status_code == 200, reply.text
    ingestion = reply.json()
    assert ingestion["state"] == "SUCCEEDED", ingestion["errors"][:5]
    return ingestion


def resent_adds_nothing(http, key: str, body: bytes) -> None:
    """The same payload in other bytes (sorted keys: each metric's points before its name; indented)."""
    for layout in ({"indent": 1}, {"separators": (",", ":")}):
        again = ingest(http, key, json.dumps(json.loads(body), sort_keys=True, **layout).encode())
        assert sum(c["accepted"] + c["updated"] + c["rejected"] for c in again["counts"].values()) == 0, again


def samples(http, session, type_: str) -> list[dict]:
    reply = http.get(f"/v1/users/me/samples?type={type_}&pageSize=1000", headers=auth(session))
    assert reply.status_code == 200, reply.text
    return sorted(reply.json()["samples"], key=lambda s: s["startTime"])


@pytest.mark.parametrize("fixture", ["interval_points", "new_types", "sleep_app_totals", "skipped_kinds"])
def test_each_fixture_resent_in_other_bytes_adds_no_rows(http, fixture):
    session = new_user(http)
    key = api_key(http, session)
    body = (FIXTURES / f"{fixture}.json").read_bytes()
    first = ingest(http, key, body)
    assert sum(c["accepted"] for c in first["counts"].values()) > 0
    resent_adds_nothing(http, key, body)


def test_start_and_end_of_points_are_stored_as_the_samples_interval(http):
    session = new_user(http)
    ingestion = ingest(http, api_key(http, session), (FIXTURES / "interval_points.json").read_bytes())
    assert {m: c["accepted"] for m, c in ingestion["counts"].items()} == {
        "step_count": 24, "heart_rate": 30, "active_energy": 6}
    steps = samples(http, session, "step_count")
    assert (steps[9]["startTime"], steps[9]["endTime"], steps[9]["value"]) == (
        "2026-03-14T09:00:00Z", "2026-03-14T10:00:00Z", 1234 + 37 * 9)
    assert all(s["endTime"] != s["startTime"] for s in steps)
    hr = samples(http, session, "heart_rate")
    assert (hr[0]["startTime"], hr[0]["endTime"], hr[0]["min"], hr[0]["max"]) == (
        "2026-03-14T00:00:00Z", "2026-03-14T00:00:59Z", 58, 70)
    energy = samples(http, session, "active_energy")
    assert [(e["startTime"], e["endTime"]) for e in energy[:2]] == [
        ("2026-03-14T00:00:00Z", "2026-03-14T00:30:00Z"), ("2026-03-14T01:00:00Z", "2026-03-14T01:30:00Z")]


def test_a_point_whose_date_lies_outside_its_interval_is_rejected_where_it_is(http):
    session = new_user(http)
    body = json.dumps({"data": {"metrics": [{"name": "step_count", "units": "count", "data": [
        {"date": "2026-03-14 11:00:00 +0000", "qty": 5, "start": "2026-03-14 09:00:00 +0000",
         "end": "2026-03-14 10:00:00 +0000"},
        {"date": "2026-03-14 12:00:00 +0000", "qty": 6, "start": "2026-03-14 12:00:00 +0000",
         "end": "2026-03-14 13:00:00 +0000"}]}]}}).encode()
    ingestion = ingest(http, api_key(http, session), body)
    counts = ingestion["counts"]["step_count"]
    assert (counts["accepted"], counts["rejected"]) == (1, 1)
    assert [(e["path"], e["reason"]) for e in ingestion["errors"]] == [
        ("$.data.metrics[0].data[0].date", "INVALID_DATE")]
    assert [s["value"] for s in samples(http, session, "step_count")] == [6]


def test_new_types_are_stored_in_their_canonical_units(http):
    session = new_user(http)
    ingestion = ingest(http, api_key(http, session), (FIXTURES / "new_types.json").read_bytes())
    assert all(c["accepted"] == 1 for c in ingestion["counts"].values()), ingestion["counts"]
    basal = samples(http, session, "basal_body_temperature")[0]
    assert (basal["unit"], basal["originalUnit"], basal["originalValue"]) == ("Cel", "degF", 97.7)
    assert basal["value"] == pytest.approx(36.5) and basal["utcOffsetMinutes"] == -300
    speed = samples(http, session, "walking_speed")[0]
    assert (speed["unit"], speed["originalUnit"]) == ("m/s", "km/hr") and speed["value"] == pytest.approx(1.3)
    waist = samples(http, session, "waist_circumference")[0]
    assert waist["unit"] == "cm" and waist["value"] == pytest.approx(81.28)
    audio = samples(http, session, "headphone_audio_exposure")[0]
    assert (audio["unit"], audio["value"]) == ("dB[SPL]", 74.5)
    types = {t["type"]: t for t in http.get("/v1/sampleTypes", headers=auth(session)).json()["sampleTypes"]}
    assert types["fev1"]["loinc"] == "20150-9" and types["time_in_daylight"]["aggregation"] == "SUM"


def test_the_apps_sleep_totals_are_the_nights_figures_and_the_window_its_start_and_end(http):
    session = new_user(http)
    ingest(http, api_key(http, session), (FIXTURES / "sleep_app_totals.json").read_bytes())
    got = http.get("/v1/users/me/sleepSessions?pageSize=10", headers=auth(session)).json()["sleepSessions"]
    nights = {n["localDate"]: n for n in got}
    before_662 = nights["2021-12-18"]
    assert (before_662["startTime"], before_662["endTime"]) == ("2021-12-17T18:21:06Z", "2021-12-18T00:57:06Z")
    assert (before_662["asleepSeconds"], before_662["timeInBedSeconds"]) == (21990, 24515)  # not the window's 23760
    assert (before_662["reportedAsleepSeconds"], before_662["reportedTimeInBedSeconds"]) == (21990, 24515)
    assert before_662["efficiencyPercent"] == 89.7
    shape_662 = nights["2026-03-08"]
    assert (shape_662["startTime"], shape_662["endTime"]) == ("2026-03-07T21:55:35Z", "2026-03-08T06:11:00Z")
    assert (shape_662["timeInBedSeconds"], shape_662["asleepSeconds"]) == (29322, 27072)  # not the window's 29725
    watch_only = nights["2026-03-09"]  # inBed 0: no total, so the window
    assert (watch_only["timeInBedSeconds"], watch_only["asleepSeconds"]) == (25200, 24300)
    assert "reportedTimeInBedSeconds" not in watch_only


def test_every_skipped_kind_is_reported_once_with_its_path_and_reason(http):
    session = new_user(http)
    ingestion = ingest(http, api_key(http, session), (FIXTURES / "skipped_kinds.json").read_bytes())
    assert {m: c["skipped"] for m, c in ingestion["counts"].items() if c["skipped"]} == {
        "HKQuantityTypeIdentifierHeartRate": 4, "insulin_delivery": 2, "weight_body_mass": 2, "sleep_analysis": 1,
        "stateOfMind": 2}
    assert [(e["path"], e["reason"]) for e in ingestion["errors"]] == [
        ("$.data.metrics[0].data[0]", "UNSUPPORTED_METRIC"), ("$.data.metrics[2].data[0]", "UNSUPPORTED_METRIC"),
        ("$.data.metrics[3].data[0]", "UNSUPPORTED_UNIT"), ("$.data.metrics[4].data[0]", "UNSUPPORTED_SLEEP_STAGE"),
        ("$.data.stateOfMind[0]", "UNSUPPORTED_METRIC")]
    assert "'HKQuantityTypeIdentifierHeartRate' has no mapping" in ingestion["errors"][0]["message"]
