"""The REST surface of DESIGN.md section 3a through Envoy, with a plain HTTP client."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import asyncpg
import jwt
import pytest

from services.auth.secrets import issue_access_token, open_private_key, SigningKey
from tests.e2e.conftest import PASSWORD, auth, new_user

pytestmark = pytest.mark.e2e


def test_healthz(http):
    reply = http.get("/healthz")
    assert reply.status_code == 200


def test_register_login_get_me(http):
    email = f"Flow-{uuid.uuid4().hex[:8]}@Example.org"
    registered = http.post("/v1/auth:register", json={
        "email": email, "password": PASSWORD, "displayName": "Flo", "birthDate": "1985-06-15", "sex": "FEMALE"})
    assert registered.status_code == 200, registered.text
    user = registered.json()
    assert user["name"].startswith("users/") and user["birthDate"] == "1985-06-15" and user["sex"] == "FEMALE"
    login = http.post("/v1/auth:login", json={"email": email.lower(), "password": PASSWORD})
    assert login.status_code == 200, login.text
    body = login.json()
    assert set(body) >= {"accessToken", "refreshToken", "expiresInSeconds", "user"}
    assert body["expiresInSeconds"] == 900
    me = http.get("/v1/users/me", headers=auth(body))
    assert me.status_code == 200 and me.json()["name"] == user["name"] and me.json()["email"] == email
    same = http.get(f"/v1/{user['name']}", headers=auth(body))
    assert same.status_code == 200 and same.json()["name"] == user["name"]


def test_update_and_delete_me(http):
    session = new_user(http)
    patched = http.patch("/v1/users/me?updateMask=displayName", json={"displayName": "Renamed", "email": "x@y.z"},
                         headers=auth(session))
    assert patched.status_code == 200, patched.text
    assert patched.json()["displayName"] == "Renamed" and patched.json()["email"] == session["user"]["email"]
    bad_mask = http.patch("/v1/users/me?updateMask=email", json={"email": "x@y.z"}, headers=auth(session))
    assert bad_mask.status_code == 400 and "updateMask" in bad_mask.text
    assert http.delete("/v1/users/me", headers=auth(session)).status_code == 200
    relogin = http.post("/v1/auth:login", json={"email": session["user"]["email"], "password": PASSWORD})
    assert relogin.status_code == 401


def test_refresh_rotates_and_reuse_is_detected(http):
    session = new_user(http)
    first = http.post("/v1/auth:refresh", json={"refreshToken": session["refreshToken"]})
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refreshToken"] != session["refreshToken"] and rotated["accessToken"]
    assert http.get("/v1/users/me", headers=auth(rotated)).status_code == 200
    reuse = http.post("/v1/auth:refresh", json={"refreshToken": session["refreshToken"]})
    assert reuse.status_code == 401
    assert "REFRESH_TOKEN_REUSED" in reuse.text
    # Reuse ended the session: the token from the good rotation is dead too.
    assert http.post("/v1/auth:refresh", json={"refreshToken": rotated["refreshToken"]}).status_code == 401


def test_logout(http):
    session = new_user(http)
    assert http.post("/v1/auth:logout", json={"refreshToken": session["refreshToken"]}).status_code == 200
    assert http.post("/v1/auth:refresh", json={"refreshToken": session["refreshToken"]}).status_code == 401


def test_bad_json_is_a_400_with_a_json_body(http):
    reply = http.post("/v1/auth:login", content=b'{"email": "a@b.c", "password": ',
                      headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert reply.headers["content-type"].startswith("application/json")
    assert "message" in reply.json()


def test_validation_errors_carry_field_violations(http):
    reply = http.post("/v1/auth:register", json={"email": "nope", "password": "short", "displayName": ""})
    assert reply.status_code == 400
    body = reply.json()
    violations = [v for d in body["details"] if d["@type"].endswith("BadRequest") for v in d["fieldViolations"]]
    assert {v["field"] for v in violations} == {"email", "password", "displayName"}
    info = next(d for d in body["details"] if d["@type"].endswith("ErrorInfo"))
    assert info["domain"] == "auth.healthmesh"


def test_duplicate_email_is_409(http):
    session = new_user(http)
    again = http.post("/v1/auth:register", json={
        "email": session["user"]["email"].upper(), "password": PASSWORD, "displayName": "Twin"})
    assert again.status_code == 409


def _mesh_key(mesh) -> SigningKey:
    """The mesh's real signing key, read the way Auth reads it (to mint an expired token)."""
    secrets = json.loads((mesh.state_dir / "secrets.json").read_text())
    kek = base64.b64decode(secrets["HEALTHMESH_KEY_ENCRYPTION_KEY"])

    async def fetch():
        conn = await asyncpg.connect(mesh.endpoints["database_url"])
        try:
            return await conn.fetchrow("SELECT kid, private_key_encrypted FROM auth.signing_keys ORDER BY create_time DESC LIMIT 1")
        finally:
            await conn.close()

    import asyncio

    row = asyncio.run(fetch())
    return SigningKey(row["kid"], open_private_key(row["kid"], row["private_key_encrypted"], kek), {}, dt.datetime.now(dt.UTC))


def test_missing_forged_expired_and_unsigned_tokens_are_401(http, mesh):
    session = new_user(http)
    user_id = uuid.UUID(session["user"]["name"].split("/")[1])
    header, payload, signature = session["accessToken"].split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(payload + "==")) | {"sub": str(uuid.uuid4())}
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("=")
    expired = issue_access_token(_mesh_key(mesh), user_id, uuid.uuid4(), "healthmesh",
                                 dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), 900)
    unsigned = jwt.encode({"sub": str(user_id), "iss": "healthmesh", "iat": 0, "exp": 2**31}, None, algorithm="none")
    cases = {
        "missing": {},
        "forged": {"authorization": f"Bearer {header}.{forged_payload}.{signature}"},
        "expired": {"authorization": f"Bearer {expired}"},
        "alg none": {"authorization": f"Bearer {unsigned}"},
        "unknown api key": {"authorization": "Bearer hm_not-a-real-key"},
        "not bearer": {"authorization": f"Basic {session['accessToken']}"},
    }
    for case, headers in cases.items():
        reply = http.get("/v1/users/me", headers=headers)
        assert reply.status_code == 401, (case, reply.status_code, reply.text)
    assert "TOKEN_EXPIRED" in http.get("/v1/users/me", headers=cases["expired"]).text


def test_another_users_resources_are_403(http):
    a, b = new_user(http), new_user(http)
    a_name = a["user"]["name"]
    for method, path in [("GET", f"/v1/{a_name}"), ("GET", f"/v1/{a_name}/apiKeys"),
                         ("DELETE", f"/v1/{a_name}/apiKeys/{uuid.uuid4()}"), ("GET", f"/v1/{a_name}/auditEvents"),
                         ("DELETE", f"/v1/{a_name}")]:
        reply = http.request(method, path, headers=auth(b))
        assert reply.status_code == 403, (method, path, reply.text)
    assert http.get("/v1/users/me", headers=auth(a)).status_code == 200  # A is untouched


def test_unknown_path_is_404_and_unknown_query_parameter_is_400(http):
    session = new_user(http)
    assert http.get("/v1/nothing/here", headers=auth(session)).status_code == 404
    reply = http.get("/v1/users/me?colour=blue", headers=auth(session))
    assert reply.status_code == 400, reply.text


def test_a_body_over_the_limit_is_413_json(http):
    reply = http.post("/v1/auth:login", content=b'{"email": "' + b"a" * (40 * 1024 * 1024) + b'"}',
                      headers={"content-type": "application/json"})
    assert reply.status_code == 413, reply.text[:200]
    assert reply.headers["content-type"].startswith("application/json")


def test_api_keys_over_rest(http):
    session = new_user(http)
    created = http.post("/v1/users/me/apiKeys", json={"displayName": "Health Auto Export"}, headers=auth(session))
    assert created.status_code == 200, created.text
    body = created.json()
    secret, key = body["secret"], body["apiKey"]
    assert set(key) >= {"name", "displayName", "createTime"} and secret.startswith("hm_")
    assert "lastUseTime" not in key  # never used yet
    me = http.get("/v1/users/me", headers={"authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["name"] == session["user"]["name"]
    listed = http.get("/v1/users/me/apiKeys", headers=auth(session)).json()["apiKeys"]
    assert [k["name"] for k in listed] == [key["name"]] and "secret" not in listed[0]
    assert "lastUseTime" in listed[0]
    key_id = key["name"].rsplit("/", 1)[1]
    assert http.delete(f"/v1/users/me/apiKeys/{key_id}", headers=auth(session)).status_code == 200
    assert http.get("/v1/users/me/apiKeys", headers=auth(session)).json()["apiKeys"] == []
    assert http.delete(f"/v1/users/me/apiKeys/{key_id}", headers=auth(session)).status_code == 404


def test_devices_over_rest(http):
    session = new_user(http)
    made = http.post("/v1/users/me/devices", json={"displayName": "Band", "capabilities": ["heart_rate"]},
                     headers=auth(session))
    assert made.status_code == 200, made.text
    device_id = made.json()["name"].rsplit("/", 1)[1]
    listed = http.get("/v1/users/me/devices?stale=false", headers=auth(session))
    assert listed.status_code == 200 and [d["name"] for d in listed.json()["devices"]] == [made.json()["name"]]
    upload = http.post(f"/v1/users/me/devices/{device_id}:uploadData", headers=auth(session), json={"samples": [
        {"type": "heart_rate", "startTime": "2026-03-01T07:00:00Z", "utcOffsetMinutes": 60, "value": 64, "unit": "/min"},
        {"type": "step_count", "startTime": "2026-03-01T07:00:00Z", "utcOffsetMinutes": 60, "value": 9,
         "unit": "{count}"}]})
    assert upload.status_code == 200, upload.text
    body = upload.json()
    assert body["accepted"] == 1 and body["rejected"] == 1 and body["errors"][0]["reason"] == "TYPE_NOT_IN_CAPABILITIES"
    again = http.post(f"/v1/users/me/devices/{device_id}:uploadData", headers=auth(session),
                      json={"samples": [{"type": "heart_rate", "startTime": "2026-03-01T07:00:00Z",
                                         "utcOffsetMinutes": 60, "value": 64, "unit": "/min"}]})
    assert again.json()["duplicate"] == 1
    report = http.post(f"/v1/users/me/devices/{device_id}:reportHealth", json={"batteryPercent": 3},
                       headers=auth(session))
    assert report.status_code == 200 and report.json()["status"] == "CRITICAL"
    assert http.get(f"/v1/users/me/devices/{device_id}/health", headers=auth(session)).json() == report.json()
    assert http.get(f"/v1/users/me/devices/{device_id}", headers=auth(session)).json()["batteryPercent"] == 3
    bad = http.post("/v1/users/me/devices", json={"displayName": "", "integration": "nope"}, headers=auth(session))
    assert bad.status_code == 400, bad.text
    assert http.delete(f"/v1/users/me/devices/{device_id}", headers=auth(session)).status_code == 200
    assert http.get(f"/v1/users/me/devices/{device_id}", headers=auth(session)).status_code == 404


def test_the_calls_are_in_the_audit_log(http, mesh):
    session = new_user(http)
    user_id = session["user"]["name"].split("/")[1]
    http.get("/v1/users/me", headers=auth(session))
    http.get("/v1/users/me/devices", headers=auth(session))  # recorded by device, sent to Auth

    async def rows():
        conn = await asyncpg.connect(mesh.endpoints["database_url"])
        try:
            return await conn.fetch("SELECT action, outcome, service, actor FROM auth.audit_events "
                                    "WHERE subject_user_id = $1 ORDER BY id", uuid.UUID(user_id))
        finally:
            await conn.close()

    import asyncio
    import time

    expected = {("/healthmesh.auth.v1.AuthService/Register", "OK", "auth"),
                ("/healthmesh.auth.v1.AuthService/Login", "OK", "auth"),
                ("/healthmesh.auth.v1.AuthService/GetUser", "OK", "auth"),
                ("/healthmesh.device.v1.DeviceService/ListDevices", "OK", "device")}
    deadline = time.monotonic() + 10
    while True:  # audit records are batched: give the flush a moment
        found = {(r["action"], r["outcome"], r["service"]) for r in asyncio.run(rows())}
        if expected <= found or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert expected <= found
    listed = http.get("/v1/users/me/auditEvents", headers=auth(session)).json()["auditEvents"]
    assert {e["action"] for e in listed} >= {a for a, _, _ in expected}


def test_other_services_accept_api_keys_through_auth(http):
    session = new_user(http)
    secret = http.post("/v1/users/me/apiKeys", json={"displayName": "exporter"}, headers=auth(session)).json()["secret"]
    # Tracking resolves the key through Auth's internal RPC; an unknown key is stopped at the door.
    assert http.get("/v1/sampleTypes", headers={"authorization": f"Bearer {secret}"}).status_code == 200
    assert http.get("/v1/sampleTypes", headers={"authorization": "Bearer hm_unknown"}).status_code == 401
    assert http.get("/v1/sampleTypes").status_code == 401
