"""The OpenAPI document (gen/openapi.json): current, valid OpenAPI 3.1, every pinned REST route, the
proto3 JSON mapping, field behaviours, comments, errors and auth as the descriptor set says; and the
Envoy routes and docker-compose mounts that serve it and the Swagger UI page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2
from openapi_spec_validator import OpenAPIV31SpecValidator

from services.common.contract import DESCRIPTOR_SET
from services.runner import envoy_config
from services.runner.envoy_config import DOCKER_TOPOLOGY, render
from services.runner.openapi import OPENAPI, generate, to_json

REPO = Path(__file__).resolve().parents[2]
PINNED = Path(__file__).with_name("rest_surface.txt")
FDP = descriptor_pb2.FieldDescriptorProto
ANONYMOUS = {"Register", "Login", "RefreshToken", "Logout", "GetJwks"}  # the Auth proto's service comment


@pytest.fixture(scope="module")
def doc() -> dict:
    return json.loads(OPENAPI.read_text())


def operations(doc: dict) -> dict[str, tuple[str, str, dict]]:
    """operationId -> (verb, path, operation)."""
    return {op["operationId"]: (verb.upper(), path, op)
            for path, item in doc["paths"].items() for verb, op in item.items()}


def schema(doc: dict, name: str) -> dict:
    return doc["components"]["schemas"][name]


def resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        node = doc["components"][node["$ref"].split("/")[2]][node["$ref"].split("/")[3]]
    return node


def descriptor_messages() -> dict[str, descriptor_pb2.DescriptorProto]:
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    found = {}

    def walk(msg, scope):
        found[f"{scope}.{msg.name}"] = msg
        for nested in msg.nested_type:
            walk(nested, f"{scope}.{msg.name}")
    for f in files.file:
        for msg in f.message_type:
            walk(msg, f.package)
    return found


def test_the_committed_document_is_current():
    assert OPENAPI.read_text() == to_json(generate(DESCRIPTOR_SET)), "run: make gen"


def test_it_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1.")
    errors = [str(e) for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert not errors, errors[:5]


def expected_path(template: str) -> str:
    """Independently of the generator: the `*` after `things` is `{thing}`, and the braces go."""
    def variable(match: re.Match) -> str:
        segments = match.group(1).partition("=")[2].split("/")
        return "/".join("{" + re.sub("s$", "", re.sub("ies$", "y", segments[i - 1])) + "}" if seg == "*" else seg
                        for i, seg in enumerate(segments))
    return re.sub(r"\{([^}]+)\}", variable, template)


def test_every_pinned_rest_route_is_an_operation_at_its_path(doc):
    ops = operations(doc)
    pinned = PINNED.read_text().splitlines()
    for line in pinned:
        verb, template, _body, _, rpc = line.split(" ")
        service, method = rpc.split("/")[1].rsplit(".", 1)[1], rpc.split("/")[2]
        assert ops[f"{service}_{method}"][:2] == (verb, expected_path(template)), line
    assert expected_path("/v1/{name=users/*/sleepSessions/*}") == "/v1/users/{user}/sleepSessions/{sleepSession}"
    assert len([o for o in ops if not o.startswith("Envoy_")]) == len(pinned)
    assert {"/healthz", "/v1/openapi.json"} <= set(doc["paths"])


def test_path_parameters_are_declared_and_required(doc):
    for _verb, path, op in operations(doc).values():
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), path
        assert all(p["required"] for p in op.get("parameters", []) if p["in"] == "path")


def test_query_parameters_are_the_fields_neither_path_nor_body_takes(doc):
    ops = operations(doc)
    params = {p["name"]: p for p in ops["TrackingService_ListSamples"][2]["parameters"]}
    request = descriptor_messages()["healthmesh.tracking.v1.ListSamplesRequest"]
    assert set(params) == {"user"} | {fd.json_name for fd in request.field if fd.name != "parent"}
    assert {"type", "startTime", "pageSize", "pageToken"} <= set(params)
    assert params["startTime"]["in"] == "query" and params["startTime"]["schema"]["format"] == "date-time"
    assert params["pageSize"]["schema"]["type"] == "integer"
    assert "Only samples of this type" in params["type"]["description"]  # the field's proto comment
    assert [p["name"] for p in ops["AuthService_GetUser"][2]["parameters"]] == ["user"]
    # A PATCH takes the resource as its body and the mask as a query parameter (a string, in lowerCamel).
    update = ops["AuthService_UpdateUser"][2]
    mask = next(p for p in update["parameters"] if p["name"] == "updateMask")
    assert mask["in"] == "query" and mask["required"] and mask["schema"]["type"] == "string"
    assert update["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/healthmesh.auth.v1.User"}
    # body "*": the request message is the body, less the fields the path binds.
    trigger = ops["DeviceService_TriggerSync"][2]
    body = trigger["requestBody"]["content"]["application/json"]["schema"]
    assert "name" not in body["properties"] and "startTime" in body["properties"]
    assert "parameters" not in trigger or all(p["in"] == "path" for p in trigger["parameters"])


def test_schemas_follow_the_proto3_json_mapping(doc):
    ingestion = schema(doc, "healthmesh.ingest.v1.Ingestion")["properties"]
    assert ingestion["payloadSizeBytes"]["type"] == "string" and ingestion["payloadSizeBytes"]["format"] == "int64"
    assert ingestion["counts"]["type"] == "object"  # map<string, ItemCounts>
    counts = ingestion["counts"]["additionalProperties"]
    assert counts == {"$ref": "#/components/schemas/healthmesh.ingest.v1.ItemCounts"}
    assert ingestion["errors"]["type"] == "array"
    state = resolve(doc, ingestion["state"])
    assert state["type"] == "string" and "SUCCEEDED" in state["enum"] and "RUNNING" in state["enum"]
    sample = schema(doc, "healthmesh.tracking.v1.Sample")["properties"]
    assert "startTime" in sample and "start_time" not in sample
    assert sample["startTime"]["type"] == "string" and sample["startTime"]["format"] == "date-time"
    assert sample["value"]["type"] == "number"
    # A oneof: any one of its fields, or none, never two.
    watch = schema(doc, "healthmesh.insight.v1.WatchAlertsResponse")
    assert watch["allOf"][0]["not"] == {"anyOf": [{"required": ["alert", "heartbeat"]}]}
    ops = operations(doc)
    empty = ops["AuthService_DeleteUser"][2]["responses"]["200"]["content"]["application/json"]["schema"]
    assert empty["type"] == "object" and empty["maxProperties"] == 0  # google.protobuf.Empty is {}


def test_every_field_behaviour_becomes_required_or_read_only(doc):
    messages = descriptor_messages()
    checked = 0
    for name, node in doc["components"]["schemas"].items():
        if name not in messages:
            continue  # enums
        for fd in messages[name].field:
            behaviours = set(fd.options.Extensions[field_behavior_pb2.field_behavior])
            prop = node["properties"][fd.json_name]
            assert (fd.json_name in node.get("required", [])) == (field_behavior_pb2.REQUIRED in behaviours), \
                (name, fd.name)
            assert prop.get("readOnly", False) == (field_behavior_pb2.OUTPUT_ONLY in behaviours), (name, fd.name)
            checked += field_behavior_pb2.REQUIRED in behaviours or field_behavior_pb2.OUTPUT_ONLY in behaviours
    assert checked > 50
    assert schema(doc, "healthmesh.auth.v1.User")["properties"]["createTime"]["readOnly"] is True
    assert "type" in schema(doc, "healthmesh.tracking.v1.Sample")["required"]


def test_descriptions_come_from_the_proto_comments(doc):
    ops = operations(doc)
    login = ops["AuthService_Login"][2]
    assert login["summary"] == "Exchanges an email and password for an access token and a refresh token."
    assert "UNAUTHENTICATED for a wrong email or password" in login["description"]
    assert schema(doc, "healthmesh.tracking.v1.SampleType")["properties"]["loinc"]["description"].startswith(
        "The LOINC code")
    tags = {t["name"]: t["description"] for t in doc["tags"]}
    assert tags["TrackingService"].startswith("The canonical health record")


def test_bearer_auth_everywhere_but_the_anonymous_calls(doc):
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {**doc["components"]["securitySchemes"]["bearerAuth"],
                                                                  "type": "http", "scheme": "bearer"}
    open_ops = {op_id for op_id, (_v, _p, op) in operations(doc).items() if op.get("security") == []}
    assert open_ops == {f"AuthService_{m}" for m in ANONYMOUS} | {"Envoy_Healthz", "Envoy_OpenApi"}
    for op_id, (_v, _p, op) in operations(doc).items():
        if op_id not in open_ops:
            assert "security" not in op and op["responses"]["401"] == {"$ref": "#/components/responses/UNAUTHENTICATED"}


def test_errors_are_google_rpc_status_with_the_documented_codes(doc):
    status = {"$ref": "#/components/schemas/google.rpc.Status"}
    for op_id, (_v, _p, op) in operations(doc).items():
        for code, response in op["responses"].items():
            if code != "200" and not op_id.startswith("Envoy_"):
                assert resolve(doc, response)["content"]["application/json"]["schema"] == status, (op_id, code)
    register = operations(doc)["AuthService_Register"][2]["responses"]
    assert {"400", "409", "429", "default"} <= set(register)  # its comment's INVALID_ARGUMENT, ALREADY_EXISTS, ...
    sync = operations(doc)["DeviceService_TriggerSync"][2]["responses"]
    # FAILED_PRECONDITION is 400 too, as Envoy maps it.
    assert sync["400"] == {"$ref": "#/components/responses/INVALID_ARGUMENT-FAILED_PRECONDITION"}
    assert sync["404"] == {"$ref": "#/components/responses/NOT_FOUND"}
    assert sync["403"] == {"$ref": "#/components/responses/PERMISSION_DENIED"}
    assert "code" in schema(doc, "google.rpc.Status")["properties"]


def test_streams_and_raw_bodies(doc):
    ops = operations(doc)
    watch = ops["InsightService_WatchAlerts"][2]["responses"]["200"]["content"]["application/json"]["schema"]
    assert watch["type"] == "array"
    assert watch["items"] == {"$ref": "#/components/schemas/healthmesh.insight.v1.WatchAlertsResponse"}
    for upload in ("IngestService_IngestHealthAutoExport", "IngestService_UploadAppleHealthExport"):
        body = ops[upload][2]["requestBody"]
        assert body["required"] and list(body["content"]) == ["*/*"], upload


def test_envoy_serves_the_document_and_the_page_itself():
    for topology, openapi, docs in (
            (DOCKER_TOPOLOGY, "/etc/envoy/openapi.json", "/etc/envoy/docs"),
            (envoy_config.Topology("127.0.0.1", 1, "127.0.0.1", 2, "x", DOCKER_TOPOLOGY.backends), str(OPENAPI),
             str(envoy_config.DOCS_DIR))):
        hcm = render(topology)["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        routes = {r["match"].get("path"): r for r in hcm["route_config"]["virtual_hosts"][0]["routes"]}
        for path, (name, content_type) in envoy_config.STATIC_FILES.items():
            route = routes[path]
            assert route["direct_response"]["body"]["filename"] == (f"{docs}/{name}" if name else openapi)
            headers = [h["header"] for h in route["response_headers_to_add"]]
            assert {"key": "content-type", "value": content_type} in headers
            assert route["typed_per_filter_config"][envoy_config.TRANSCODER_FILTER]["disabled"] is True
    served = [OPENAPI] + [envoy_config.DOCS_DIR / name for name, _ in envoy_config.STATIC_FILES.values() if name]
    for path in served:
        assert 0 < path.stat().st_size <= envoy_config.MAX_STATIC_FILE_BYTES, path
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["envoy"]["volumes"]
    assert "./gen/openapi.json:/etc/envoy/openapi.json:ro" in compose
    assert "./envoy/docs:/etc/envoy/docs:ro" in compose


def test_the_page_loads_only_what_envoy_serves():
    page = (envoy_config.DOCS_DIR / "index.html").read_text()
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r'url: "([^"]+)"', page)
    assert loaded and set(loaded) <= set(envoy_config.STATIC_FILES), loaded
    assert "validatorUrl: null" in page  # else Swagger UI fetches a badge from its online validator
