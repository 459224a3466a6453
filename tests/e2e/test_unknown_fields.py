"""Over REST, a body with a field its message lacks is refused by Envoy before the transcoder would
drop it (services/runner/unknown_fields.py): INVALID_ARGUMENT (HTTP 400), domain gateway.healthmesh,
reason UNKNOWN_FIELD, a violation naming each unknown field at its JSON path as the client wrote it.
Nothing reaches the service; valid bodies, in JSON or proto names, pass as before."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from services.runner.envoy_config import GATEWAY_DOMAIN
from tests.e2e.conftest import REPO, auth, new_user

pytestmark = pytest.mark.e2e

SAMPLE = {"type": "weight", "startTime": "2026-03-01T07:00:00Z", "value": 75, "unit": "kg"}
RUN = {"type": "running", "startTime": "2026-03-01T07:00:00Z", "endTime": "2026-03-01T07:25:00Z",
       "route": [{"time": f"2026-03-01T07:0{i}:00Z", "latitude": 48.85 + i / 1000, "longitude": 2.35,
                  "altitudeMeters": 35} for i in range(5)]}


def unknown_fields(reply) -> list[str]:
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == 3
    [info] = [d for d in body["details"] if d["@type"].endswith("google.rpc.ErrorInfo")]
    assert (info["reason"], info["domain"]) == ("UNKNOWN_FIELD", GATEWAY_DOMAIN)
    [bad] = [d for d in body["details"] if d["@type"].endswith("google.rpc.BadRequest")]
    assert all(v["reason"] == "UNKNOWN_FIELD" and v["description"] for v in bad["fieldViolations"])
    return [v["field"] for v in bad["fieldViolations"]]


def test_a_typo_is_named_not_taken_for_a_missing_value(http):
    session = new_user(http)
    reply = http.post("/v1/users/me/samples", headers=auth(session),
                      json={**{k: v for k, v in SAMPLE.items() if k != "value"}, "vaule": 75})
    assert unknown_fields(reply) == ["sample.vaule"]
    assert reply.json()["message"] == ('sample.vaule: no such field in healthmesh.tracking.v1.Sample '
                                       '(did you mean "value"?)')
    assert reply.json()["details"][0]["metadata"] == {"field": "sample.vaule"}
    assert http.get("/v1/users/me/samples", headers=auth(session)).json().get("samples", []) == []


def test_a_field_inside_a_repeated_element_is_named_at_its_index(http):
    session = new_user(http)
    run = json.loads(json.dumps(RUN))
    run["route"][3]["altitudeMetersX"] = run["route"][3].pop("altitudeMeters")
    assert unknown_fields(http.post("/v1/users/me/activities", headers=auth(session), json=run)) == [
        "activity.route[3].altitudeMetersX"]
    assert http.get("/v1/users/me/activities", headers=auth(session)).json().get("activities", []) == []
    assert http.post("/v1/users/me/activities", headers=auth(session), json=RUN).status_code == 200


def test_every_unknown_field_is_named_at_once(http):
    session = new_user(http)
    samples = [{**SAMPLE, "vaule": 1}, SAMPLE, {**SAMPLE, "unitt": "kg", "sauce": "x"}]
    reply = http.post("/v1/users/me/samples:batchCreate", headers=auth(session),
                      json={"samples": samples, "requestIdd": "r"})
    assert unknown_fields(reply) == ["samples[0].vaule", "samples[2].unitt", "samples[2].sauce", "requestIdd"]
    assert reply.json()["details"][0]["metadata"] == {}  # several fields: each in its violation


def test_nested_messages_and_map_fields(http):
    session = new_user(http)
    device = {"displayName": "Ring", "integration": "oura",
              "credentials": {"accessToken": "t", "extra": {"any key": "v", "region": "eu"}},
              "syncSettings": {"autoSync": False, "backfillDays": 7}}
    typo = json.loads(json.dumps(device))
    typo["credentials"]["accesToken"] = typo["credentials"].pop("accessToken")
    typo["syncSettings"]["autoSynk"] = True
    assert unknown_fields(http.post("/v1/users/me/devices", headers=auth(session), json=typo)) == [
        "device.credentials.accesToken", "device.syncSettings.autoSynk"]
    # A map takes any key (credentials.extra is map<string, string>).
    assert http.post("/v1/users/me/devices", headers=auth(session), json=device).status_code == 200


def test_proto_names_are_accepted_as_the_transcoder_accepts_them(http):
    session = new_user(http)
    reply = http.post("/v1/users/me/samples", headers=auth(session), json={
        "type": "weight", "start_time": "2026-03-01T07:00:00Z", "utc_offset_minutes": 60, "value": 75, "unit": "kg"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["utcOffsetMinutes"] == 60
    batch = http.post("/v1/users/me/samples:batchCreate", headers=auth(session), json={
        "request_id": "0190a6e4-7d3c-7c4b-9d6e-3f1a2b3c4d5e", "samples": [{**SAMPLE, "start_time": "2026-03-02T07:00:00Z"}]})
    assert batch.status_code == 200, batch.text


def test_a_patch_body_and_a_body_of_the_whole_request(http):
    session = new_user(http)
    reply = http.patch("/v1/users/me", params={"updateMask": "displayName"}, headers=auth(session),
                       json={"displayNmae": "Ada"})
    assert unknown_fields(reply) == ["user.displayNmae"]
    assert unknown_fields(http.post("/v1/auth:login", json={"email": "a@example.org", "pasword": "x"})) == [
        "pasword"]


def test_grpc_callers_are_not_checked_here(mesh, http):
    # gRPC bodies are protobuf: the check reads only transcoded JSON.
    from tests.e2e.conftest import grpcurl
    session = new_user(http)
    out = grpcurl(mesh, "healthmesh.tracking.v1.TrackingService/CreateSample",
                  data={"parent": "users/me", "sample": SAMPLE}, headers=auth(session))
    assert out.returncode == 0, out.stderr


def _readme_bodies() -> list[tuple[str, str, str]]:
    """(method, path, body) of each curl in README.md's shell blocks that sends a JSON body."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    found = []
    for block in blocks:
        block = block.replace("\\\n", " ")
        for start in (m.start() for m in re.finditer(r"\bcurl ", block)):
            lexer = shlex.shlex(block[start:], posix=True, punctuation_chars="|;)\n")
            lexer.whitespace, lexer.whitespace_split, lexer.commenters = " \t", True, ""
            tokens = []
            for token in lexer:  # up to the end of the command: a pipe, a ")", a comment or a line's end
                if set(token) <= set("|;)\n") or token.startswith("#"):
                    break
                tokens.append(token)
            if "-d" not in tokens:
                continue
            method = tokens[tokens.index("-X") + 1] if "-X" in tokens else "POST"
            [url] = [t for t in tokens if "localhost:8080" in t]
            fake = "users/me/devices/x1"  # a device named by a variable: unknown, which is fine here
            path = re.sub(r"\$\w+", fake, url.split("localhost:8080", 1)[1]).replace("<id>", "x1")
            found.append((method, path, re.sub(r"\$\w+", fake, tokens[tokens.index("-d") + 1])))
    return found


def test_no_body_in_the_readme_is_refused(http):
    session = new_user(http)
    bodies = _readme_bodies()
    assert len(bodies) >= 10, bodies
    for method, path, body in bodies:
        json.loads(body)
        reply = http.request(method, path, content=body.encode(), headers=auth(session))
        assert reply.status_code < 500, (path, reply.text)
        assert "UNKNOWN_FIELD" not in reply.text, (path, body, reply.text)
