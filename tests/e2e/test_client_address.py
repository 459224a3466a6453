"""Which address the services see through the real Envoy, read back from the caller's audit log,
and login throttles through Envoy and the mesh's Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
import redis

from tests.e2e.conftest import PASSWORD, auth, grpcurl

pytestmark = pytest.mark.e2e

FORGED = {"x-forwarded-for": "203.0.113.9"}


def _audit(http: httpx.Client, session: dict, actions: set[str]) -> list[dict]:
    deadline = time.monotonic() + 10
    while True:  # audit records are batched: give the flush a moment
        events = http.get("/v1/users/me/auditEvents", headers=auth(session)).json()["auditEvents"]
        if actions <= {e["action"].rsplit("/", 1)[1] for e in events} or time.monotonic() > deadline:
            return events
        time.sleep(0.3)


def test_a_loopback_client_is_seen_as_127_0_0_1_and_a_forged_x_forwarded_for_is_not_believed(http, mesh):
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.org"
    assert http.post("/v1/auth:register", json={"email": email, "password": PASSWORD, "displayName": "E2E"},
                     headers=FORGED).status_code == 200
    login = http.post("/v1/auth:login", json={"email": email, "password": PASSWORD}, headers=FORGED)
    assert login.status_code == 200, login.text
    session = login.json()
    assert http.get("/v1/users/me", headers={**auth(session), **FORGED}).status_code == 200
    reply = grpcurl(mesh, "healthmesh.auth.v1.AuthService/GetUser", data={"name": "users/me"},
                    headers={**auth(session), **FORGED})
    assert reply.returncode == 0, reply.stderr
    events = _audit(http, session, {"Register", "Login", "GetUser"})
    seen = {(e["action"].rsplit("/", 1)[1], e["clientAddress"]) for e in events}
    # Envoy used to append its own host address for a loopback peer (192.0.2.2 here), after the forged one.
    assert {a for _, a in seen} == {"127.0.0.1"}, seen
    assert {a for a, _ in seen} >= {"Register", "Login", "GetUser"}


def test_twelve_wrong_logins_at_once_through_envoy_get_five_401s_and_seven_429s(http, mesh):
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.org"
    assert http.post("/v1/auth:register", json={"email": email, "password": PASSWORD,
                                                "displayName": "E2E"}).status_code == 200

    async def guesses() -> list[int]:
        async with httpx.AsyncClient(base_url=mesh.http, timeout=30) as client:
            replies = await asyncio.gather(*(client.post("/v1/auth:login", json={"email": email,
                                                                              "password": f"wrong {i} password"})
                                             for i in range(12)))
        return [r.status_code for r in replies]

    codes = asyncio.run(guesses())
    assert sorted(codes) == [401] * 5 + [429] * 7
    # Counted in the mesh's Redis, not in a fallback inside one Auth process.
    keys = redis.Redis.from_url(mesh.endpoints["redis_url"]).keys("login:pair:*:127.0.0.1")
    assert keys
    # The owner, from this same address now refused, is refused too; the limit is per address.
    assert http.post("/v1/auth:login", json={"email": email, "password": PASSWORD}).status_code == 429
