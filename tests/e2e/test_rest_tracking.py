"""Tracking's samples through Envoy: REST exactly as DESIGN.md section 3a writes it, and grpcurl."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import auth, grpcurl, new_user

pytestmark = pytest.mark.e2e


def test_sample_types(http):
    session = new_user(http)
    types = http.get("/v1/sampleTypes", headers=auth(session)).json()["sampleTypes"]
    steps = next(t for t in types if t["type"] == "step_count")
    assert steps["unit"] == "{count}" and steps["aggregation"] == "SUM" and steps["loinc"] == "55423-8"


def test_post_a_sample_as_section_3a_shows_it(http):
    session = new_user(http)
    reply = http.post("/v1/users/me/samples", headers=auth(session), json={
        "type": "heart_rate", "startTime": "2026-03-01T08:00:00+01:00", "utcOffsetMinutes": 60, "value": 64,
        "min": 60, "max": 71, "unit": "count/min", "source": "Apple Watch"})
    assert reply.status_code == 200, reply.text
    s = reply.json()
    assert s["name"].startswith(session["user"]["name"] + "/samples/")
    assert (s["startTime"], s["endTime"], s["utcOffsetMinutes"]) == ("2026-03-01T07:00:00Z", "2026-03-01T07:00:00Z", 60)
    assert (s["value"], s["min"], s["max"], s["unit"], s["originalUnit"]) == (64, 60, 71, "/min", "count/min")
    assert http.get(f"/v1/{s['name']}", headers=auth(session)).json() == s
    assert http.delete(f"/v1/{s['name']}", headers=auth(session)).status_code == 200
    assert http.get(f"/v1/{s['name']}", headers=auth(session)).status_code == 404


def test_a_bad_sample_is_400_with_a_field_violation(http):
    session = new_user(http)
    reply = http.post("/v1/users/me/samples", headers=auth(session), json={
        "type": "heart_rate", "startTime": "2026-03-01T08:00:00Z", "value": 64, "unit": "parsecs"})
    assert reply.status_code == 400
    violations = [v for d in reply.json()["details"] if d["@type"].endswith("BadRequest") for v in d["fieldViolations"]]
    assert violations[0]["field"] == "sample.unit"
    not_a_time = http.post("/v1/users/me/samples", headers=auth(session), json={
        "type": "heart_rate", "startTime": "yesterday", "value": 64, "unit": "/min"})
    assert not_a_time.status_code == 400 and not_a_time.headers["content-type"].startswith("application/json")


def test_batch_create_list_latest_and_aggregate(http):
    session = new_user(http)
    samples = [{"type": "step_count", "startTime": f"2026-03-0{d}T{h:02d}:00:00Z", "utcOffsetMinutes": 0,
                "value": 100 * h, "unit": "count", "source": "iPhone"} for d in (1, 2) for h in (8, 9)]
    samples.append({"type": "weight", "startTime": "2026-03-02T07:00:00Z", "value": 154, "unit": "lb"})
    samples.append({"type": "nope", "startTime": "2026-03-02T07:00:00Z", "value": 1, "unit": "x"})
    reply = http.post("/v1/users/me/samples:batchCreate", headers=auth(session), json={"samples": samples})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["accepted"], body["rejected"], body["errors"][0]["index"]) == (5, 1, 5)
    page = http.get("/v1/users/me/samples?type=step_count&pageSize=3", headers=auth(session)).json()
    rest = http.get(f"/v1/users/me/samples?type=step_count&pageSize=3&pageToken={page['nextPageToken']}",
                    headers=auth(session)).json()
    assert len(page["samples"]) == 3 and len(rest["samples"]) == 1 and rest["nextPageToken"] == ""
    latest = http.get("/v1/users/me/samples:latest?types=weight", headers=auth(session)).json()["samples"]
    assert [(s["type"], round(s["value"], 2)) for s in latest] == [("weight", 69.85)]
    aggregate = http.get("/v1/users/me/samples:aggregate?type=step_count&interval=day"
                         "&startTime=2026-03-01T00:00:00Z&endTime=2026-03-03T00:00:00Z", headers=auth(session))
    assert aggregate.status_code == 200, aggregate.text
    buckets = aggregate.json()["buckets"]
    assert [(b["localDate"], b["sum"], b["sources"]) for b in buckets] == [
        ("2026-03-01", 1700, ["iPhone"]), ("2026-03-02", 1700, ["iPhone"])]
    typo = http.get("/v1/users/me/samples:aggregate?type=step_count&intervall=DAY", headers=auth(session))
    assert typo.status_code == 400


def test_samples_over_grpcurl(mesh, http):
    session = new_user(http)
    headers = {"authorization": f"Bearer {session['accessToken']}"}
    out = grpcurl(mesh, "healthmesh.tracking.v1.TrackingService/CreateSample", headers=headers, data={
        "parent": "users/me", "sample": {"type": "water", "startTime": "2026-03-01T12:00:00Z", "value": 8,
                                         "unit": "fl_oz_us", "utcOffsetMinutes": -480}})
    assert out.returncode == 0, out.stderr
    assert round(json.loads(out.stdout)["value"], 1) == 236.6
    out = grpcurl(mesh, "healthmesh.tracking.v1.TrackingService/AggregateSamples", headers=headers, data={
        "parent": "users/me", "type": "water", "interval": "DAY", "startTime": "2026-03-01T00:00:00Z",
        "endTime": "2026-03-02T00:00:00Z"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["buckets"][0]["localDate"] == "2026-03-01"


def test_write_samples_is_not_reachable_through_envoy(mesh, http):
    session = new_user(http)
    out = grpcurl(mesh, "healthmesh.tracking.v1.TrackingInternalService/WriteSamples",
                  data={"sequence": 1, "user": session["user"]["name"]},
                  headers={"authorization": f"Bearer {session['accessToken']}"},
                  options=("-import-path", "proto", "-import-path", "third_party/googleapis",
                           "-proto", "healthmesh/tracking/v1/tracking_internal_service.proto"))
    assert out.returncode != 0 and "Unimplemented" in out.stderr, out.stderr
