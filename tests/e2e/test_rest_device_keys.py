"""A device-scoped API key through Envoy's REST listener: it uploads and reports health for its
device, and every other call with it is 403."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import auth, new_user

pytestmark = pytest.mark.e2e


def test_a_device_key_over_rest(http):
    session = new_user(http)
    ring = http.post("/v1/users/me/devices", json={"displayName": "Ring", "deviceType": "RING"},
                     headers=auth(session)).json()
    other = http.post("/v1/users/me/devices", json={"displayName": "Scale"}, headers=auth(session)).json()
    made = http.post("/v1/users/me/apiKeys", json={"displayName": "ring key", "device": ring["name"]},
                     headers=auth(session))
    assert made.status_code == 200, made.text
    assert made.json()["apiKey"]["device"] == ring["name"]
    key = {"authorization": f"Bearer {made.json()['secret']}"}
    ring_id, other_id = ring["name"].rsplit("/", 1)[1], other["name"].rsplit("/", 1)[1]
    sample = {"type": "heart_rate", "startTime": "2026-03-01T07:00:00Z", "utcOffsetMinutes": 60, "value": 58,
              "unit": "/min"}
    upload = http.post(f"/v1/users/me/devices/{ring_id}:uploadData", json={"samples": [sample]}, headers=key)
    assert upload.status_code == 200 and upload.json()["accepted"] == 1, upload.text
    health = http.post(f"/v1/users/me/devices/{ring_id}:reportHealth", json={"batteryPercent": 70}, headers=key)
    assert health.status_code == 200 and health.json()["status"] == "OK"
    for method, path in (("GET", "/v1/users/me"), ("GET", "/v1/users/me/devices"),
                         ("GET", f"/v1/users/me/devices/{ring_id}"), ("GET", "/v1/users/me/samples"),
                         ("POST", f"/v1/users/me/devices/{other_id}:uploadData"),
                         ("DELETE", f"/v1/users/me/devices/{ring_id}")):
        reply = http.request(method, path, headers=key, json={"samples": [sample]} if method == "POST" else None)
        assert reply.status_code == 403, (method, path, reply.text)
    assert http.get(f"/v1/users/me/devices/{ring_id}", headers=auth(session)).status_code == 200
