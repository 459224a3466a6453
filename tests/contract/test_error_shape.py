"""The error shape in Envoy's config and in the interceptor: a local reply is a google.rpc.Status with
an ErrorInfo (its gRPC form consistent with grpc-status and grpc-message, as client libraries check),
and field violations are named in JSON for transcoded calls, in proto for gRPC ones."""

from __future__ import annotations

import base64

from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.common import interceptor
from services.common.errors import FieldViolation, InvalidArgument, json_field_path
from services.runner import envoy_config


def _mappers() -> list[dict]:
    return envoy_config._local_reply()["mappers"]


def test_every_local_reply_to_a_grpc_caller_carries_a_matching_status():
    grpc_mappers = [m for m in _mappers() if "headers_to_add" in m]
    assert len(grpc_mappers) == len(envoy_config.LOCAL_REPLIES) + 1
    for mapper in grpc_mappers:
        headers = {h["header"]["key"]: h["header"]["value"] for h in mapper["headers_to_add"]}
        status = status_pb2.Status.FromString(base64.b64decode(headers["grpc-status-details-bin"]))
        assert status.code == int(headers["grpc-status"]) != 0
        assert status.message == mapper["body"]["inline_string"] != ""
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info) and info.reason and info.domain == envoy_config.GATEWAY_DOMAIN


def test_every_local_reply_to_a_rest_caller_is_a_status_with_error_info():
    rest_mappers = [m for m in _mappers() if "body_format_override" in m]
    assert len(rest_mappers) == len(envoy_config.LOCAL_REPLIES) + 1
    for mapper in rest_mappers:
        body = mapper["body_format_override"]["json_format"]
        assert set(body) == {"code", "message", "details"} and body["code"] > 0
        [info] = body["details"]
        assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" and info["reason"]
    last = rest_mappers[-1]["filter"]["status_code_filter"]["comparison"]
    assert (last["op"], last["value"]["default_value"]) == ("GE", 400)  # nothing Envoy says escapes the shape


def test_the_transcoded_marker_is_taken_from_clients_before_any_filter():
    assert envoy_config.TRANSCODED_HEADER == interceptor.TRANSCODED_HEADER
    mutations = envoy_config._early_headers()[0]["typed_config"]["mutations"]
    assert {"remove": interceptor.TRANSCODED_HEADER} in mutations


def test_json_field_paths():
    assert json_field_path("sample.start_time") == "sample.startTime"
    assert json_field_path("samples[3].utc_offset_minutes") == "samples[3].utcOffsetMinutes"
    assert json_field_path('counts["heart_rate"].accepted') == 'counts["heart_rate"].accepted'
    assert json_field_path("alert_rule.use_value2") == "alertRule.useValue2"


def _violations(status: status_pb2.Status) -> list[tuple[str, str]]:
    bad = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(bad)
    return [(v.field, v.reason) for v in bad.field_violations]


def test_violations_are_named_for_the_transport_and_always_have_a_reason():
    err = InvalidArgument("sample.start_time: too early; sample.source: NUL", [
        FieldViolation("sample.start_time", "too early"), FieldViolation("sample.source", "NUL", "NUL_CHARACTER")])
    grpc_status = interceptor.to_status(err, "tracking.healthmesh")
    assert _violations(grpc_status) == [("sample.start_time", "INVALID_ARGUMENT"), ("sample.source", "NUL_CHARACTER")]
    assert grpc_status.message == err.message
    rest = interceptor.to_status(err, "tracking.healthmesh", json_names=True)
    assert _violations(rest) == [("sample.startTime", "INVALID_ARGUMENT"), ("sample.source", "NUL_CHARACTER")]
    assert rest.message == "sample.startTime: too early; sample.source: NUL"
    assert rest.code == code_pb2.INVALID_ARGUMENT


def test_one_violation_names_its_field_in_error_info():
    status = interceptor.to_status(InvalidArgument.field("page_size", "must not be negative"), "x.healthmesh",
                                   json_names=True)
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info) and dict(info.metadata) == {"field": "pageSize"}
