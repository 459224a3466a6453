"""Each service's /metrics on the session mesh (its service port + 1000): a REST call through Envoy
shows up as its RPC's counter and latency histogram, a failed one under its status code, and the
text names no user."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.e2e.conftest import auth, new_user

pytestmark = pytest.mark.e2e

TRACKING = 'rpc_service="healthmesh.tracking.v1.TrackingService"'


def scrape(mesh, service: str) -> str:
    host, port = mesh.endpoints["services"][service].rsplit(":", 1)
    reply = httpx.get(f"http://{host}:{int(port) + 1000}/metrics", timeout=10)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return reply.text


def sample(text: str, name: str, *labels: str) -> float:
    """The value of the one series of `name` whose labels include all of `labels` (0 if none)."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(label in line for label in labels):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_rest_call_shows_in_its_services_metrics_without_the_user(mesh, http):
    session = new_user(http)
    user_id = session["user"]["name"].removeprefix("users/")
    before = scrape(mesh, "tracking")
    created = http.post("/v1/users/me/samples", headers=auth(session), json={
        "type": "heart_rate", "startTime": "2026-03-01T08:00:00Z", "value": 64, "unit": "count/min"})
    assert created.status_code == 200, created.text
    missing = http.get(f"/v1/{session['user']['name']}/samples/{uuid.uuid4()}", headers=auth(session))
    assert missing.status_code == 404

    text = scrape(mesh, "tracking")
    ok = (TRACKING, 'rpc_method="CreateSample"', 'rpc_grpc_status_code="0"')
    assert sample(text, "rpc_server_requests_total", *ok) >= sample(before, "rpc_server_requests_total", *ok) + 1
    assert sample(text, "rpc_server_call_duration_seconds_count", *ok) >= 1
    assert sample(text, "rpc_server_call_duration_seconds_bucket", *ok, 'le="+Inf"') >= 1
    not_found = (TRACKING, 'rpc_method="GetSample"', 'rpc_grpc_status_code="5"')
    assert sample(text, "rpc_server_errors_total", *not_found) >= 1
    assert sample(text, "healthmesh_tracking_samples_total", 'path="rest"', 'outcome="accepted"') >= 1
    email = session["user"].get("email", "")
    assert user_id not in text and (not email or email not in text)
    assert not re.search(r'="[^"]*users/', text)  # no resource name in any label


def test_every_service_serves_its_own_metrics(mesh):
    for service in mesh.endpoints["services"]:
        assert "# TYPE rpc_server_call_duration_seconds histogram" in scrape(mesh, service)
