"""Every error through Envoy has one shape, google.rpc.Status with an ErrorInfo, whether Envoy made
it (a request it cannot transcode, no such route, a body over the cap) or a service did; a field
violation names the field as the caller wrote it (JSON names over REST, proto names over gRPC)."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from healthmesh.auth.v1 import auth_internal_service_pb2, auth_internal_service_pb2_grpc
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc
from services.runner.envoy_config import GATEWAY_DOMAIN, MAX_REQUEST_BODY_BYTES
from tests.e2e.conftest import auth, new_user

pytestmark = pytest.mark.e2e

WINDOW = "startTime=2026-03-01T00:00:00Z&endTime=2026-03-02T00:00:00Z"
SAMPLE = {"type": "heart_rate", "startTime": "2026-03-01T08:00:00+01:00", "value": 64, "unit": "count/min"}


def error_info(body: dict) -> dict:
    """Checks the google.rpc.Status JSON shape and returns its ErrorInfo."""
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["code"], int) and body["code"] > 0 and body["message"], body
    infos = [d for d in body["details"] if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"]
    assert len(infos) == 1, body
    info = infos[0]
    assert info["reason"] and info["domain"].endswith(".healthmesh"), info
    assert all(isinstance(v, str) for v in info["metadata"].values()), info
    return info


@pytest.mark.parametrize("kind, method, path, body, status, code, reason", [
    ("bad timestamp", "GET", f"/v1/users/me/samples:aggregate?type=step_count&interval=DAY"
     f"&startTime=yesterday&endTime=2026-03-02T00:00:00Z", None, 400, 3, "MALFORMED_REQUEST"),
    ("bad enum", "GET", f"/v1/users/me/samples:aggregate?type=step_count&interval=99&{WINDOW}", None,
     400, 3, "MALFORMED_REQUEST"),
    ("bad timestamp in a body", "POST", "/v1/users/me/samples", b'{"type": "x", "startTime": "yesterday"}',
     400, 3, "MALFORMED_REQUEST"),
    ("broken JSON", "POST", "/v1/users/me/samples", b'{"type": ', 400, 3, "MALFORMED_REQUEST"),
    ("unknown query parameter", "GET", "/v1/sampleTypes?colour=blue", None, 400, 3, "MALFORMED_REQUEST"),
    ("unknown path", "GET", "/v1/nothing/here", None, 404, 5, "NO_SUCH_METHOD"),
    ("wrong method", "DELETE", "/v1/sampleTypes", None, 404, 5, "NO_SUCH_METHOD"),
    ("internal service", "POST", "/healthmesh.auth.v1.AuthInternalService/ListRevocations", b"{}",
     404, 5, "NO_SUCH_METHOD"),
])
def test_envoys_own_rest_errors_are_a_status_with_error_info(http, kind, method, path, body, status, code, reason):
    session = new_user(http)
    reply = http.request(method, path, content=body, headers={**auth(session), "content-type": "application/json"})
    assert reply.status_code == status, (kind, reply.text)
    assert reply.headers["content-type"].startswith("application/json")
    info = error_info(reply.json())
    assert (reply.json()["code"], info["reason"], info["domain"]) == (code, reason, GATEWAY_DOMAIN), kind
    if status == 404:
        assert info["metadata"] == {"method": method}


def test_a_body_over_the_cap_is_413_with_the_limit(http):
    reply = http.post("/v1/auth:login", content=b'{"email": "' + b"a" * (MAX_REQUEST_BODY_BYTES + 1024) + b'"}',
                      headers={"content-type": "application/json"})
    assert reply.status_code == 413, reply.text[:200]
    info = error_info(reply.json())
    assert (reply.json()["code"], info["reason"]) == (8, "REQUEST_TOO_LARGE")
    assert info["metadata"] == {"limit_bytes": str(MAX_REQUEST_BODY_BYTES)}


def test_a_services_rest_error_has_the_same_shape(http):
    reply = http.get("/v1/sampleTypes")
    assert reply.status_code == 401, reply.text
    info = error_info(reply.json())
    assert (reply.json()["code"], info["reason"], info["domain"]) == (16, "UNAUTHENTICATED", "tracking.healthmesh")


def bad_request(body: dict) -> list[dict]:
    return [v for d in body["details"] if d["@type"].endswith("BadRequest") for v in d["fieldViolations"]]


def test_rest_field_violations_name_json_fields_with_a_reason(http):
    session = new_user(http)
    reply = http.post("/v1/users/me/samples", json={**SAMPLE, "startTime": "1700-01-01T00:00:00Z"},
                      headers=auth(session))
    assert reply.status_code == 400, reply.text
    body = reply.json()
    info = error_info(body)
    [violation] = bad_request(body)
    assert violation["field"] == "sample.startTime" and violation["reason"] and violation["description"]
    assert info["metadata"]["field"] == "sample.startTime"
    assert body["message"].startswith("sample.startTime: ") and "start_time" not in body["message"]
    pages = http.get("/v1/sampleTypes?pageSize=-1", headers=auth(session))
    assert [v["field"] for v in bad_request(pages.json())] == ["pageSize"]
    assert all(v["reason"] for v in bad_request(pages.json()))


def test_a_client_cannot_pass_for_the_transcoder(mesh, http):
    # Over gRPC with the transcoder's header set by hand, fields keep their proto names.
    session = new_user(http)
    with grpc.insecure_channel(mesh.grpc) as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListSampleTypes(tracking_service_pb2.ListSampleTypesRequest(page_size=-1), metadata=(
                ("authorization", f"Bearer {session['accessToken']}"), ("x-envoy-original-path", "/v1/sampleTypes")))
    violations = _details(caught.value, error_details_pb2.BadRequest)
    assert [v.field for v in violations.field_violations] == ["page_size"]


def _details(err: grpc.RpcError, kind):
    status = rpc_status.from_call(err)  # raises if code or message disagree with grpc-status/-message
    assert status is not None, err
    found = {d.type_url.rsplit("/", 1)[1]: d for d in status.details}
    info = error_details_pb2.ErrorInfo()
    assert found["google.rpc.ErrorInfo"].Unpack(info) and info.reason and info.domain.endswith(".healthmesh")
    if kind is error_details_pb2.ErrorInfo:
        return info
    detail = kind()
    assert found[kind.DESCRIPTOR.full_name].Unpack(detail)
    return detail


def test_grpc_field_violations_keep_proto_names_with_a_reason(mesh, http):
    session = new_user(http)
    with grpc.insecure_channel(mesh.grpc) as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListSampleTypes(tracking_service_pb2.ListSampleTypesRequest(page_size=-1),
                                 metadata=(("authorization", f"Bearer {session['accessToken']}"),))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = _details(caught.value, error_details_pb2.BadRequest).field_violations
    assert [(v.field, bool(v.reason)) for v in violations] == [("page_size", True)]


def test_envoys_own_grpc_errors_carry_details(mesh):
    with grpc.insecure_channel(mesh.grpc, options=[("grpc.max_send_message_length", -1)]) as channel:
        internal = auth_internal_service_pb2_grpc.AuthInternalServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            internal.ListRevocations(auth_internal_service_pb2.ListRevocationsRequest())
        tracking = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        big = tracking_service_pb2.CreateSampleRequest(parent="users/me")
        big.sample.type = "x" * (MAX_REQUEST_BODY_BYTES + 1024)
        with pytest.raises(grpc.RpcError) as too_large:
            tracking.CreateSample(big)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    info = _details(refused.value, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("NO_SUCH_METHOD", GATEWAY_DOMAIN)
    assert too_large.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = _details(too_large.value, error_details_pb2.ErrorInfo)
    assert (info.reason, dict(info.metadata)) == ("REQUEST_TOO_LARGE", {"limit_bytes": str(MAX_REQUEST_BODY_BYTES)})
