"""The API documentation through Envoy: GET /v1/openapi.json and GET /docs need no credentials,
headless Chromium (Debian's package) renders /docs with the operations of all five services, and
real answers validate against the document's schemas."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

from services.runner.envoy_config import DOCS_DIR, STATIC_FILES
from services.runner.openapi import OPENAPI
from tests.e2e.conftest import auth, new_user

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium")
SERVICES = {"AuthService", "TrackingService", "DeviceService", "IngestService", "InsightService"}


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    # The flags keep Chromium off the network it would otherwise try (this machine has none), and
    # root needs --no-sandbox. The virtual time budget lets the page fetch the document and render.
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=30000", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


def test_the_document_is_served_without_credentials(http):
    reply = http.get("/v1/openapi.json")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    served = reply.json()
    assert served == json.loads(OPENAPI.read_text())
    assert not list(OpenAPIV31SpecValidator(served).iter_errors())


def test_the_page_and_its_assets_are_served_without_credentials(http):
    for path, (name, content_type) in STATIC_FILES.items():
        if not name:
            continue
        reply = http.get(path)
        assert reply.status_code == 200, path
        assert reply.headers["content-type"] == content_type
        assert reply.content == (DOCS_DIR / name).read_bytes(), path
    assert http.get("/docs/nothing-here.js").status_code == 404


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_chromium_renders_the_operations_of_all_five_services(mesh, tmp_path, capsys):
    url = f"{mesh.http}/docs"
    dom = chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # Swagger UI gives each operation it lists the id operations-<tag>-<operationId>.
    shown = re.findall(r'id="operations-(\w+)-(\w+)"', dom.stdout)
    shown = [(tag, op) for tag, op in shown if tag != "tag"]
    document = json.loads(OPENAPI.read_text())
    expected = [(op["tags"][0], op["operationId"]) for item in document["paths"].values() for op in item.values()]
    assert sorted(shown) == sorted(expected)
    per_service = Counter(tag for tag, _ in shown)
    assert SERVICES <= set(per_service) and all(per_service[s] >= 5 for s in SERVICES), per_service
    assert "healthmesh REST API" in dom.stdout

    screenshot = tmp_path / "docs.png"
    shot = chromium(tmp_path, "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={screenshot}", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 50_000
    with capsys.disabled():
        print(f"\n/docs screenshot: {screenshot}")


def conforms(document: dict, operation_id: str, status: int, body) -> None:
    """The body validates against the schema the document gives that operation's answer."""
    op = next(op for item in document["paths"].values() for op in item.values() if op["operationId"] == operation_id)
    response = op["responses"].get(str(status)) or op["responses"]["default"]
    while "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = {**response["content"]["application/json"]["schema"], "components": document["components"]}
    errors = [e.message for e in OAS31Validator(schema).iter_errors(body)]
    assert not errors, (operation_id, status, errors[:3], body)


def test_real_answers_conform_to_the_document(http):
    document = json.loads(OPENAPI.read_text())
    session = new_user(http)
    conforms(document, "AuthService_Login", 200, session)
    headers = auth(session)
    me = http.get("/v1/users/me", headers=headers)
    conforms(document, "AuthService_GetUser", 200, me.json())
    conforms(document, "TrackingService_ListSampleTypes", 200, http.get("/v1/sampleTypes", headers=headers).json())
    created = http.post("/v1/users/me/samples", headers=headers, json={
        "type": "heart_rate", "startTime": "2026-03-01T08:00:00+01:00", "value": 64, "unit": "/min"})
    assert created.status_code == 200, created.text
    conforms(document, "TrackingService_CreateSample", 200, created.json())
    listed = http.get("/v1/users/me/samples", headers=headers, params={"type": "heart_rate"})
    conforms(document, "TrackingService_ListSamples", 200, listed.json())
    sample_id = created.json()["name"].rsplit("/", 1)[1]
    deleted = http.delete(f"/v1/users/me/samples/{sample_id}", headers=headers)
    assert deleted.status_code == 200, deleted.text
    conforms(document, "TrackingService_DeleteSample", 200, deleted.json())
    # Errors: a google.rpc.Status from a service, and the same schema for one Envoy makes itself.
    missing = http.get(f"/v1/users/me/samples/{sample_id}", headers=headers)
    assert missing.status_code == 404
    conforms(document, "TrackingService_GetSample", 404, missing.json())
    unknown_query = http.get("/v1/users/me/samples", headers=headers, params={"noSuchField": "1"})
    assert unknown_query.status_code == 400
    conforms(document, "TrackingService_ListSamples", 400, unknown_query.json())
    anonymous = http.get("/v1/users/me")
    assert anonymous.status_code == 401
    conforms(document, "AuthService_GetUser", 401, anonymous.json())
