"""Syncs through Envoy: REST (`:sync`, `/syncs`, `:retry`) and grpcurl, against the whole mesh.
The mesh has no Oura server to reach, so these use a push device without a stream: its sync
waits PENDING (the pulls are tested against a local Oura server in tests/integration)."""

from __future__ import annotations

import json

from tests.e2e.conftest import auth, grpcurl, new_user


def push_device(http, headers) -> str:
    reply = http.post("/v1/users/me/devices", headers=headers, json={"displayName": "Band"})
    assert reply.status_code == 200, reply.text
    return reply.json()["name"]


def test_a_sync_over_rest_and_grpcurl(http, mesh):
    headers = auth(new_user(http))
    device = push_device(http, headers)
    started = http.post(f"/v1/{device}:sync", headers=headers, json={})
    assert started.status_code == 200, started.text
    sync = started.json()
    assert sync["name"].startswith(f"{device}/syncs/") and sync["state"] == "PENDING"
    assert sync["trigger"] == "MANUAL" and sync["dataStartTime"] < sync["dataEndTime"]
    again = http.post(f"/v1/{device}:sync", headers=headers, json={}).json()
    assert again["name"] == sync["name"]  # one open sync per device

    listed = http.get(f"/v1/{device}/syncs", headers=headers, params={"state": "PENDING"})
    assert listed.status_code == 200 and [s["name"] for s in listed.json()["syncs"]] == [sync["name"]]
    assert http.get(f"/v1/{sync['name']}", headers=headers).json()["name"] == sync["name"]
    out = grpcurl(mesh, "healthmesh.device.v1.DeviceService/GetSync", data={"name": sync["name"]},
                  headers=headers)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["state"] == "PENDING"

    not_finished = http.post(f"/v1/{sync['name']}:retry", headers=headers, json={})
    assert not_finished.status_code == 400, not_finished.text
    info = next(d for d in not_finished.json()["details"] if d["@type"].endswith("ErrorInfo"))
    assert info["reason"] == "SYNC_NOT_RETRIABLE"


def test_sync_mistakes_are_4xx(http):
    headers = auth(new_user(http))
    device = push_device(http, headers)
    future = http.post(f"/v1/{device}:sync", headers=headers, json={"startTime": "2199-01-01T00:00:00Z"})
    assert future.status_code == 400, future.text
    other = auth(new_user(http))
    assert http.post(f"/v1/{device}:sync", headers=other, json={}).status_code == 403
    assert http.get(f"/v1/{device}/syncs", headers=other).status_code == 403
    assert http.get(f"/v1/{device}/syncs/0190e2a4-0000-7000-8000-000000000000", headers=headers).status_code == 404
    assert http.get(f"/v1/{device}/syncs", headers=headers, params={"pageSize": -1}).status_code == 400
