"""Revocation through Envoy, on the whole mesh (with Redis): a credential that Auth revoked is
refused by every service, over REST and over gRPC. Each case polls until refused and prints the
delay it saw (the bound is checked from outside; no duration is asserted here)."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import PASSWORD, auth, grpcurl, new_user

POLL_LIMIT_SECONDS = 15  # a bound for the loop, not a target
SAMPLE = {"type": "weight", "startTime": "2026-03-01T07:00:00Z", "value": 70, "unit": "kg"}
# One read per service that stores health data, over REST.
READS = ["/v1/users/me", "/v1/users/me/samples", "/v1/users/me/ingestions"]


def status(http: httpx.Client, path: str, headers: dict) -> int:
    return http.get(path, headers=headers).status_code


def refused_everywhere(http: httpx.Client, mesh, headers: dict, what: str) -> None:
    start = time.monotonic()
    for path in READS:
        while (code := status(http, path, headers)) != 401:
            assert code == 200, (path, code)
            assert time.monotonic() - start < POLL_LIMIT_SECONDS, f"{what}: {path} still answers"
    wrote = http.post("/v1/users/me/samples", json=SAMPLE, headers=headers)
    assert wrote.status_code == 401, wrote.text
    print(f"{what}: refused over REST by auth, tracking and ingest within {(time.monotonic() - start) * 1000:.0f} ms")
    out = grpcurl(mesh, "healthmesh.tracking.v1.TrackingService/ListSamples", data={"parent": "users/me"},
                  headers={"authorization": headers["authorization"]})
    assert "Unauthenticated" in out.stdout + out.stderr, out.stdout + out.stderr


def test_a_deleted_users_token_and_api_key_stop_everywhere(http, mesh):
    session = new_user(http)
    key = http.post("/v1/users/me/apiKeys", json={"displayName": "exporter"}, headers=auth(session)).json()["secret"]
    by_key = {"authorization": f"Bearer {key}"}
    for path in READS:
        assert status(http, path, auth(session)) == 200 and status(http, path, by_key) == 200
    assert http.delete("/v1/users/me", headers=auth(session)).status_code == 200
    refused_everywhere(http, mesh, auth(session), "deleted user's access token")
    refused_everywhere(http, mesh, by_key, "deleted user's API key")
    login = http.post("/v1/auth:login", json={"email": session["user"]["email"], "password": PASSWORD})
    assert login.status_code == 401


def test_a_revoked_api_key_stops_everywhere(http, mesh):
    session = new_user(http)
    created = http.post("/v1/users/me/apiKeys", json={"displayName": "watch"}, headers=auth(session)).json()
    by_key = {"authorization": f"Bearer {created['secret']}"}
    for path in READS:
        assert status(http, path, by_key) == 200  # each service has it cached now
    assert http.delete(f"/v1/{created['apiKey']['name']}", headers=auth(session)).status_code == 200
    refused_everywhere(http, mesh, by_key, "revoked API key")
    assert status(http, "/v1/users/me/samples", auth(session)) == 200


def test_refresh_reuse_kills_the_sessions_access_tokens(http, mesh):
    session = new_user(http)
    rotated = http.post("/v1/auth:refresh", json={"refreshToken": session["refreshToken"]})
    assert rotated.status_code == 200
    assert http.post("/v1/auth:refresh", json={"refreshToken": session["refreshToken"]}).status_code == 401
    refused_everywhere(http, mesh, auth(session), "reused session's first access token")
    refused_everywhere(http, mesh, auth(rotated.json()), "reused session's rotated access token")


def test_changing_the_password_and_signing_out_everywhere_end_every_session(http, mesh):
    session = new_user(http)
    other = http.post("/v1/auth:login", json={"email": session["user"]["email"], "password": PASSWORD}).json()
    changed = http.post("/v1/users/me:changePassword", headers=auth(session),
                        json={"currentPassword": PASSWORD, "newPassword": "another horse battery"})
    assert changed.status_code == 200, changed.text
    for old in (session, other):
        refused_everywhere(http, mesh, auth(old), "session from before the password change")
    fresh = changed.json()
    assert status(http, "/v1/users/me/samples", auth(fresh)) == 200
    assert http.post("/v1/users/me:revokeSessions", headers=auth(fresh), json={}).status_code == 200
    refused_everywhere(http, mesh, auth(fresh), "session after signing out everywhere")
    again = http.post("/v1/auth:login", json={"email": session["user"]["email"], "password": "another horse battery"})
    assert again.status_code == 200
