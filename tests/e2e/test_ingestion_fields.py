"""What an Ingestion says while and after it runs, through Envoy: processed_bytes moves while a large
upload is parsed (at least every second), and request_id is the batch's idempotency key."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import auth, new_user

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
POLL_SECONDS = 0.1
WAIT_SECONDS = 180


def heart_rate_year(days: int = 365) -> bytes:
    """A Health Auto Export body (export version 2) of one heart-rate point a minute for `days`
    days: 525,600 points, about 50 MB, as make_hae_payload.py --days 365 --hr-every 60 writes them
    but made in a second, with values that vary from point to point."""
    start = dt.date(2025, 1, 1)
    points = []
    for d in range(days):
        day = (start + dt.timedelta(days=d)).isoformat()
        for minute in range(1440):
            avg = 55 + (d * 7 + minute) % 40
            points.append(f'{{"date":"{day} {minute // 60:02d}:{minute % 60:02d}:00 +0100","Min":{avg - 4},'
                          f'"Avg":{avg},"Max":{avg + 6},"source":"Apple Watch"}}')
    return ('{"data":{"metrics":[{"name":"heart_rate","units":"count/min","data":[' + ",".join(points)
            + ']}],"workouts":[]}}').encode()


def test_processed_bytes_grow_while_a_large_upload_runs(http):
    session = new_user(http)
    h = auth(session)
    # Parsed and written in about 3 s here (more under load); with progress published every 20 s, as
    # before, a poller saw 0 until the end.
    body = heart_rate_year()
    reply = http.post("/v1/ingest/healthAutoExport", content=body, timeout=120,
                      headers={**h, "content-type": "application/json", "prefer": "respond-async"})
    assert reply.status_code == 200, reply.text
    ingestion = reply.json()
    running: list[int] = []  # processedBytes of each poll that found it RUNNING
    deadline = time.monotonic() + WAIT_SECONDS
    while ingestion["state"] in ("PENDING", "RUNNING") and time.monotonic() < deadline:
        if ingestion["state"] == "RUNNING":
            running.append(int(ingestion.get("processedBytes", 0)))
        time.sleep(POLL_SECONDS)
        ingestion = http.get(f"/v1/{ingestion['name']}", headers=h).json()
    assert ingestion["state"] == "SUCCEEDED", ingestion
    assert int(ingestion["processedBytes"]) == int(ingestion["payloadSizeBytes"]) == len(body)
    # Before the job ended a poller saw it move (the whole may be read while the last writes are
    # still on their way to Tracking), and never go back.
    assert any(b > 0 for b in running), running
    assert running == sorted(running), running
    assert ingestion["counts"]["heart_rate"]["accepted"] == 525_600


def test_request_id_is_the_batch_idempotency_key_and_empty_for_uploads(http):
    session = new_user(http)
    h = auth(session)
    request_id = str(uuid.uuid4())
    batch = {"requestId": request_id, "samples": [
        {"type": "weight", "startTime": "2026-03-01T07:00:00Z", "value": 70, "unit": "kg"}]}
    first = http.post("/v1/users/me/ingestions:batch", headers=h, json=batch)
    assert first.status_code == 200, first.text
    made = first.json()
    assert made["requestId"] == request_id and made["state"] == "SUCCEEDED"
    assert http.get(f"/v1/{made['name']}", headers=h).json()["requestId"] == request_id
    retry = http.post("/v1/users/me/ingestions:batch", headers=h, json=batch).json()
    assert (retry["name"], retry["requestId"]) == (made["name"], request_id)  # the first one, nothing stored again

    without = http.post("/v1/users/me/ingestions:batch", headers=h, json={"samples": batch["samples"]}).json()
    upload = http.post("/v1/ingest/healthAutoExport", headers={**h, "content-type": "application/json"},
                       content=(FIXTURES / "hae" / "v1_legacy_mixed.json").read_bytes())
    assert upload.status_code == 200, upload.text
    listed = {i["name"]: i for i in http.get("/v1/users/me/ingestions", headers=h).json()["ingestions"]}
    assert set(listed) == {made["name"], without["name"], upload.json()["name"]}
    assert listed[made["name"]]["requestId"] == request_id
    assert listed[without["name"]].get("requestId", "") == ""
    assert listed[upload.json()["name"]].get("requestId", "") == ""
    not_a_uuid = http.post("/v1/users/me/ingestions:batch", headers=h, json={**batch, "requestId": "retry-1"})
    assert not_a_uuid.status_code == 400, not_a_uuid.text
