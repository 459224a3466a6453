"""Hostile input through Envoy's REST listener, as the red team sent it: NUL in a JSON body
string, a megabyte string, an unknown enum number, a negative page size, a Health Auto Export
body with NUL in a metric name. Each is a 400 with field violations (or, for the upload, a
SUCCEEDED ingestion with the metric's items rejected), never a 5xx."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import auth, new_user
from tests.e2e.test_ingest_hae import api_key, post

pytestmark = pytest.mark.e2e

SAMPLE = {"type": "heart_rate", "startTime": "2026-03-01T08:00:00+01:00", "value": 64, "unit": "count/min"}


def violations(reply) -> dict[str, str]:
    body = reply.json()
    return {v["field"]: v["description"] for d in body.get("details", []) if d["@type"].endswith("BadRequest")
            for v in d["fieldViolations"]}


def test_nul_in_a_json_body_string_is_400_naming_the_field(http):
    session = new_user(http)
    reply = http.post("/v1/users/me/samples", json={**SAMPLE, "source": "Apple\u0000Watch"}, headers=auth(session))
    assert reply.status_code == 400, reply.text
    assert violations(reply) == {"sample.source": "must not contain NUL (U+0000)"}
    batch = http.post("/v1/users/me/samples:batchCreate", headers=auth(session),
                      json={"samples": [SAMPLE, {**SAMPLE, "unit": "count\u0000/min"}]})
    assert batch.status_code == 400, batch.text
    assert list(violations(batch)) == ["samples[1].unit"]


def test_a_megabyte_string_is_400_and_not_echoed(http):
    session = new_user(http)
    reply = http.post("/v1/users/me/samples", json={**SAMPLE, "type": "x" * (1 << 20)}, headers=auth(session))
    assert reply.status_code == 400, reply.text[:300]
    assert violations(reply) == {"sample.type": "must have at most 256 characters, got 1,048,576"}
    assert len(reply.content) < 4096


def test_an_unknown_enum_number_and_a_negative_page_size_are_400(http):
    session = new_user(http)
    reply = http.get("/v1/users/me/samples:aggregate?type=step_count&interval=99"
                     "&startTime=2026-03-01T00:00:00Z&endTime=2026-03-02T00:00:00Z", headers=auth(session))
    assert reply.status_code == 400, reply.text  # Envoy's own answer: it cannot map 99 to an Interval
    pages = http.get("/v1/sampleTypes?pageSize=-1", headers=auth(session))
    assert pages.status_code == 400, pages.text
    assert list(violations(pages)) == ["pageSize"]


def test_a_window_at_the_end_of_the_calendar_is_400(http):
    session = new_user(http)
    reply = http.get("/v1/users/me/heartRate:zones?startTime=9999-12-24T00:00:00Z&endTime=9999-12-31T00:00:00Z",
                     headers=auth(session))
    assert reply.status_code == 400, reply.text
    assert set(violations(reply)) == {"startTime", "endTime"}


def test_a_nul_in_a_health_auto_export_metric_name_is_an_item_error_not_a_stuck_import(http):
    session = new_user(http)
    body = json.dumps({"data": {"metrics": [
        {"name": "heart\u0000rate", "units": "count/min",
         "data": [{"date": "2026-03-01 08:00:00 +0100", "Avg": 60, "Min": 50, "Max": 70}]},
        {"name": "step_count", "units": "count", "data": [{"date": "2026-03-01 08:00:00 +0100", "qty": 120}]},
    ]}}).encode()
    assert b"\\u0000" in body
    reply = post(http, api_key(http, session), body)
    assert reply.status_code == 200, reply.text
    ingestion = reply.json()
    assert ingestion["state"] == "SUCCEEDED"
    assert ingestion["counts"]["heart\ufffdrate"]["rejected"] == 1
    assert ingestion["counts"]["step_count"]["accepted"] == 1
    assert [e["reason"] for e in ingestion["errors"]] == ["INVALID_NAME"]
    stored = http.get(f"/v1/{ingestion['name']}", headers=auth(session)).json()
    assert stored["state"] == "SUCCEEDED" and stored["counts"] == ingestion["counts"]
