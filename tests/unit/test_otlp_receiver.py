"""The runner's OTLP/HTTP receiver of Envoy's spans (one OTLP/JSON span per line, ids in hex), how
the runner reads OTEL_EXPORTER_OTLP_ENDPOINT, and Envoy's tracing configuration."""

from __future__ import annotations

import http.client
import json

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

from services.runner.envoy_config import TRACES_CLUSTER, TraceExport, Topology, render
from services.runner.mesh import otlp_endpoint
from services.runner.otlp_receiver import OtlpReceiver, span_lines

TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")


def request(spans: int) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="envoy")))
    ss = rs.scope_spans.add()
    ss.scope.name = "envoy"
    for i in range(spans):
        span = ss.spans.add(trace_id=TRACE, span_id=bytes([i + 1]) * 8, name=f"span {i}",
                            kind=trace_pb2.Span.SPAN_KIND_SERVER, start_time_unix_nano=10**18 + i,
                            end_time_unix_nano=10**18 + 1000 + i)
        if i:
            span.parent_span_id = bytes([1]) * 8
            span.links.add(trace_id=TRACE, span_id=bytes([9]) * 8)
    return req


def test_each_span_is_a_line_of_otlp_json_with_hex_ids():
    lines = [json.loads(line) for line in span_lines(request(2))]
    assert len(lines) == 2
    root, child = (line["resourceSpans"][0] for line in lines)
    assert root["resource"]["attributes"] == [{"key": "service.name", "value": {"stringValue": "envoy"}}]
    assert root["scopeSpans"][0]["scope"] == {"name": "envoy"}
    span = root["scopeSpans"][0]["spans"][0]
    assert (span["traceId"], span["spanId"], span["parentSpanId"]) == (TRACE.hex(), "01" * 8, "")
    assert (span["kind"], span["startTimeUnixNano"], span["endTimeUnixNano"]) == (2, str(10**18), str(10**18 + 1000))
    linked = child["scopeSpans"][0]["spans"][0]
    assert linked["parentSpanId"] == "01" * 8
    assert linked["links"] == [{"traceId": TRACE.hex(), "spanId": "09" * 8}]


def post(port: int, body: bytes, chunked: bool, path: str = "/v1/traces") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"content-type": "application/x-protobuf"}
    if chunked:
        conn.request("POST", path, body=iter([body[:5], body[5:]]), headers=headers, encode_chunked=True)
    else:
        conn.request("POST", path, body=body, headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_receiver_appends_what_it_is_sent_by_length_or_chunked(tmp_path):
    receiver = OtlpReceiver(tmp_path / "traces" / "envoy.jsonl")
    receiver.start()
    try:
        body = request(3).SerializeToString()
        assert post(receiver.port, body, chunked=True) == 200  # as Envoy's exporter sends it
        assert post(receiver.port, body, chunked=False) == 200
        assert post(receiver.port, b"\xff\xff not protobuf", chunked=False) == 400
        assert post(receiver.port, body, chunked=False, path="/v1/logs") == 404
    finally:
        receiver.stop()
    lines = (tmp_path / "traces" / "envoy.jsonl").read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(line)["resourceSpans"] for line in lines)


def test_the_collector_endpoint_and_protocol_are_read_as_opentelemetry_names_them():
    assert otlp_endpoint({}) is None
    assert otlp_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318"}) == \
        TraceExport("otel-collector", 4318, "http/protobuf")
    assert otlp_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) \
        == TraceExport("collector", 4317, "grpc")
    assert otlp_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}) == TraceExport("localhost", 4318,
                                                                                           "http/protobuf")


def topology(traces: TraceExport | None) -> Topology:
    return Topology("127.0.0.1", 8080, "127.0.0.1", 9901, "/x.binpb", {s: ("127.0.0.1", 50051 + i) for i, s in
                    enumerate(("auth", "device", "ingest", "insight", "tracking"))}, traces=traces)


def hcm(config: dict) -> dict:
    return config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def test_envoy_traces_only_when_told_where_spans_go():
    off = render(topology(None))
    assert "tracing" not in hcm(off) and TRACES_CLUSTER not in {c["name"] for c in off["static_resources"]["clusters"]}
    assert hcm(off)["request_id_extension"]["typed_config"]["pack_trace_reason"] is False  # x-request-id untouched

    local = render(topology(TraceExport("127.0.0.1", 4318, "http/protobuf")))
    tracing = hcm(local)["tracing"]
    assert tracing["random_sampling"] == {"value": 100.0} and tracing["spawn_upstream_span"] is True
    provider = tracing["provider"]["typed_config"]
    assert provider["http_service"]["http_uri"]["uri"] == "http://127.0.0.1:4318/v1/traces"
    assert provider["service_name"] == "envoy"
    cluster = next(c for c in local["static_resources"]["clusters"] if c["name"] == TRACES_CLUSTER)
    assert cluster["type"] == "STATIC" and "typed_extension_protocol_options" not in cluster

    collector = render(topology(TraceExport("otel-collector", 4317, "grpc")))
    provider = hcm(collector)["tracing"]["provider"]["typed_config"]
    assert provider["grpc_service"] == {"envoy_grpc": {"cluster_name": TRACES_CLUSTER}, "timeout": "1s"}
    cluster = next(c for c in collector["static_resources"]["clusters"] if c["name"] == TRACES_CLUSTER)
    assert cluster["type"] == "STRICT_DNS" and "typed_extension_protocol_options" in cluster  # HTTP/2 for gRPC


def test_a_line_is_protobufs_json_mapping_with_ids_in_hex():
    """The receiver builds each span's JSON field by field (for speed): what json_format makes of
    it, every kind of field set, but the ids in hex."""
    from google.protobuf import json_format

    req = request(2)
    span = req.resource_spans[0].scope_spans[0].spans[1]
    span.trace_state, span.flags, span.dropped_attributes_count = "vendor=x", 257, 3
    span.attributes.append(KeyValue(key="http.url", value=AnyValue(string_value="/v1/users/me")))
    span.attributes.append(KeyValue(key="n", value=AnyValue(int_value=7)))
    span.attributes.append(KeyValue(key="ok", value=AnyValue(bool_value=True)))
    span.events.add(time_unix_nano=5, name="e").attributes.append(KeyValue(key="k", value=AnyValue(double_value=0.5)))
    span.status.code = trace_pb2.Status.STATUS_CODE_ERROR
    span.dropped_events_count = span.dropped_links_count = 1
    for sent, line in zip(req.resource_spans[0].scope_spans[0].spans, span_lines(req)):
        expected = json_format.MessageToDict(sent, use_integers_for_enums=True)
        expected["traceId"], expected["spanId"] = sent.trace_id.hex(), sent.span_id.hex()
        expected["parentSpanId"] = sent.parent_span_id.hex()
        for link, linked in zip(expected.get("links", []), sent.links):
            link["traceId"], link["spanId"] = linked.trace_id.hex(), linked.span_id.hex()
        assert json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0] == expected
