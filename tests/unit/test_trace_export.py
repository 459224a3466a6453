"""services/common/telemetry: the OTLP/JSON lines a process writes (notes on the format in the
module), what redaction keeps, and tracing off by default."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from services.common import logs, telemetry
from services.common.telemetry.files import JsonLinesExporter, encode
from services.common.telemetry.redact import RedactingExporter, redacted
from services.common.telemetry.sampling import no_orphan_clients

LINKED = trace.SpanContext(0xAB * (2**120 // 0xFF), 0x1234, is_remote=True)


@pytest.fixture
def recorded():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "tracking"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("healthmesh"), exporter
    provider.shutdown()


def test_a_span_is_one_export_request_in_otlp_json(recorded):
    tracer, exporter = recorded
    with tracer.start_as_current_span("outer", kind=trace.SpanKind.SERVER):
        with tracer.start_as_current_span("tracking.copy", links=[trace.Link(LINKED, {"healthmesh.n": 1})],
                                          attributes={"healthmesh.rows": 500, "healthmesh.table": "samples",
                                                      "healthmesh.ratio": 0.5, "healthmesh.on": True,
                                                      "healthmesh.kinds": ("a", "b")}) as span:
            span.set_status(Status(StatusCode.ERROR))
    inner, outer = exporter.get_finished_spans()
    line = json.loads(json.dumps(encode(inner)))
    [resource] = line["resourceSpans"]
    assert {"key": "service.name", "value": {"stringValue": "tracking"}} in resource["resource"]["attributes"]
    [scope] = resource["scopeSpans"]
    assert scope["scope"]["name"] == "healthmesh"
    [s] = scope["spans"]
    assert s["traceId"] == f"{outer.context.trace_id:032x}" and len(s["traceId"]) == 32
    assert s["spanId"] == f"{inner.context.span_id:016x}" and len(s["spanId"]) == 16
    assert s["parentSpanId"] == f"{outer.context.span_id:016x}"
    assert s["traceId"] == s["traceId"].lower()
    assert s["name"] == "tracking.copy" and s["kind"] == 1  # INTERNAL, as OTLP numbers it
    assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]) > 0
    assert isinstance(s["startTimeUnixNano"], str)
    assert s["attributes"] == [
        {"key": "healthmesh.rows", "value": {"intValue": "500"}},
        {"key": "healthmesh.table", "value": {"stringValue": "samples"}},
        {"key": "healthmesh.ratio", "value": {"doubleValue": 0.5}},
        {"key": "healthmesh.on", "value": {"boolValue": True}},
        {"key": "healthmesh.kinds", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}},
    ]
    assert s["links"] == [{"traceId": f"{LINKED.trace_id:032x}", "spanId": f"{LINKED.span_id:016x}",
                           "attributes": [{"key": "healthmesh.n", "value": {"intValue": "1"}}]}]
    assert s["status"] == {"code": 2}
    root = encode(outer)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert root["parentSpanId"] == "" and root["kind"] == 2  # SERVER


def test_the_file_gets_one_line_per_span(recorded, tmp_path):
    tracer, exporter = recorded
    for name in ("a", "b", "c"):
        with tracer.start_as_current_span(name):
            pass
    out = JsonLinesExporter(tmp_path / "traces" / "tracking-1.jsonl")
    out.export(exporter.get_finished_spans()[:2])
    out.export(exporter.get_finished_spans()[2:])
    out.shutdown()
    lines = (tmp_path / "traces" / "tracking-1.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines] == [encode(s) for s in exporter.get_finished_spans()]
    assert [json.loads(x)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] for x in lines] == ["a", "b", "c"]


def test_redaction_keeps_known_keys_and_drops_messages(recorded):
    tracer, exporter = recorded
    with tracer.start_as_current_span("/healthmesh.tracking.v1.TrackingService/CreateSample", attributes={
            "rpc.method": "CreateSample", "db.statement": "SELECT $1", "db.statement.parameters": "('ada@x.org',)",
            "http.request.body": "{}", "enduser.id": "u1", "healthmesh.rows": 1}) as span:
        span.record_exception(ValueError("value 71.3 for ada@example.org"))
        span.set_status(Status(StatusCode.ERROR, "sample.value: 71.3 is out of range"))
    [clean] = [redacted(s) for s in exporter.get_finished_spans()]
    assert dict(clean.attributes) == {"rpc.method": "CreateSample", "db.statement": "SELECT $1", "healthmesh.rows": 1}
    assert clean.status.status_code == StatusCode.ERROR and not clean.status.description
    [event] = clean.events
    assert event.name == "exception" and dict(event.attributes) == {"exception.type": "ValueError"}
    text = json.dumps(encode(clean))
    assert "71.3" not in text and "ada@" not in text


def test_a_long_statement_is_cut(recorded):
    tracer, exporter = recorded
    with tracer.start_as_current_span("INSERT", attributes={"db.statement": "INSERT " + "($1), " * 5000}):
        pass
    [clean] = [redacted(s) for s in exporter.get_finished_spans()]
    assert len(clean.attributes["db.statement"]) == 2048


def test_the_redacting_exporter_hands_on_redacted_spans(recorded):
    tracer, exporter = recorded
    with tracer.start_as_current_span("x", attributes={"user.email": "ada@example.org"}):
        pass
    inner = InMemorySpanExporter()
    RedactingExporter(inner).export(exporter.get_finished_spans())
    assert dict(inner.get_finished_spans()[0].attributes) == {}


def test_a_client_call_outside_any_span_starts_no_trace(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=no_orphan_clients())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("SELECT", kind=trace.SpanKind.CLIENT):  # a poll's query
        pass
    with tracer.start_as_current_span("job", kind=trace.SpanKind.CONSUMER):
        with tracer.start_as_current_span("SELECT", kind=trace.SpanKind.CLIENT):
            pass
    assert [s.name for s in exporter.get_finished_spans()] == ["SELECT", "job"]
    provider.shutdown()


def test_off_without_an_endpoint_or_a_directory():
    assert telemetry.setup("tracking", "", environ={}) is False
    assert not telemetry.enabled()
    assert telemetry.server_interceptors() == [] and telemetry.client_interceptors() == []
    assert telemetry.traceparent() == "" and telemetry.trace_id() == ""
    with telemetry.span("x"), telemetry.job_span("y", ["00-" + "a" * 32 + "-" + "b" * 16 + "-01"]):
        pass
    assert logs.span_ids is None


def test_disabled_wins_over_a_directory(tmp_path):
    assert telemetry.setup("tracking", str(tmp_path), environ={"OTEL_SDK_DISABLED": "true"}) is False
    assert telemetry.setup("tracking", str(tmp_path), environ={"OTEL_TRACES_EXPORTER": "none"}) is False


def test_traceparents_that_are_not_one_are_no_link():
    assert telemetry._span_context("00-" + "a" * 32 + "-" + "b" * 16 + "-01") is not None
    for bad in ("", "junk", "00-" + "0" * 32 + "-" + "b" * 16 + "-01", "00-" + "g" * 32 + "-" + "b" * 16 + "-01",
                "00-" + "a" * 31 + "-" + "b" * 16 + "-01"):
        assert telemetry._span_context(bad) is None, bad


def test_the_file_redacts_as_it_encodes(recorded, tmp_path):
    tracer, exporter = recorded
    with tracer.start_as_current_span("x", attributes={"user.email": "ada@example.org", "rpc.method": "M"}) as span:
        span.record_exception(ValueError("ada@example.org sent 71.3"))
        span.set_status(Status(StatusCode.ERROR, "71.3 is out of range"))
    out = JsonLinesExporter(tmp_path / "t.jsonl")
    out.export(exporter.get_finished_spans())
    out.shutdown()
    text = (tmp_path / "t.jsonl").read_text()
    assert "ada@" not in text and "71.3" not in text
    [s] = json.loads(text)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert s["attributes"] == [{"key": "rpc.method", "value": {"stringValue": "M"}}]
    assert s["events"][0]["attributes"] == [{"key": "exception.type", "value": {"stringValue": "ValueError"}}]
    assert s["status"] == {"code": 2}


def test_transaction_statements_have_no_span(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=no_orphan_clients())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("call", kind=trace.SpanKind.SERVER):
        for name in ("BEGIN;", "INSERT", "COMMIT;", "ROLLBACK", "SAVEPOINT"):
            with tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT):
                pass
    assert [s.name for s in exporter.get_finished_spans()] == ["INSERT", "call"]
    provider.shutdown()


def test_a_span_of_ours_is_current_in_its_block_and_an_error_when_it_raises(tmp_path):
    assert telemetry.setup("tracking", str(tmp_path), environ={})
    try:
        with telemetry.span("outer", {"healthmesh.rows": 2}) as outer:
            assert telemetry.trace_id() == f"{outer.get_span_context().trace_id:032x}"
            assert telemetry.traceparent().split("-")[2] == f"{outer.get_span_context().span_id:016x}"
            with pytest.raises(ValueError), telemetry.span("inner"):
                raise ValueError("71.3")
        assert telemetry.trace_id() == ""
        queued = f"00-{outer.get_span_context().trace_id:032x}-{outer.get_span_context().span_id:016x}-01"
        with telemetry.job_span("job", [queued, ""]) as job:
            assert job.get_span_context().trace_id != outer.get_span_context().trace_id
    finally:
        telemetry.shutdown()
    spans = [json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
             for path in tmp_path.glob("tracking-*.jsonl") for line in path.read_text().splitlines()]
    by_name = {s["name"]: s for s in spans}
    assert by_name["inner"]["parentSpanId"] == by_name["outer"]["spanId"]
    assert by_name["inner"]["status"] == {"code": 2} and "71.3" not in json.dumps(spans)
    assert by_name["job"]["parentSpanId"] == "" and by_name["job"]["kind"] == 5
    assert [link["spanId"] for link in by_name["job"]["links"]] == [by_name["outer"]["spanId"]]


def test_setup_and_shutdown_leave_the_drivers_as_they_were(tmp_path):
    import asyncpg

    before = asyncpg.connection.Connection.fetch
    assert telemetry.setup("tracking", str(tmp_path), environ={})
    assert asyncpg.connection.Connection.fetch is not before  # patched while on
    telemetry.shutdown()
    assert asyncpg.connection.Connection.fetch is before


def test_the_files_line_is_what_encode_makes_of_the_span(recorded, tmp_path):
    """The file's lines are written without encode()'s dicts, for speed: the same JSON, redaction
    included, for every kind of value."""
    tracer, exporter = recorded
    state = trace.TraceState([("vendor", "x1")])
    parent = trace.SpanContext(0x1F, 0x2F, is_remote=True, trace_flags=trace.TraceFlags(1), trace_state=state)
    with tracer.start_as_current_span("ü \"quoted\"\n", context=trace.set_span_in_context(
            trace.NonRecordingSpan(parent)), kind=trace.SpanKind.CLIENT, links=[trace.Link(LINKED, {"healthmesh.n": 2})],
            attributes={"db.statement": "SELECT 'é' || $1 " + "x" * 3000, "healthmesh.on": False,
                        "healthmesh.n": -3, "healthmesh.ratio": 1.25, "healthmesh.kinds": ["a", "b"],
                        "user.email": "ada@example.org"}) as span:
        span.add_event("retry", {"healthmesh.attempt": 2, "note": "drop me"})
    with tracer.start_as_current_span("plain"):
        pass
    out = JsonLinesExporter(tmp_path / "t.jsonl")
    out.export(exporter.get_finished_spans())
    out.shutdown()
    lines = (tmp_path / "t.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [encode(s) for s in exporter.get_finished_spans()]
    rich = json.loads(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert rich["traceState"] == "vendor=x1" and rich["parentSpanId"] == f"{0x2F:016x}"
    assert len(rich["attributes"][0]["value"]["stringValue"]) == 2048
    assert "ada@" not in lines[0] and "drop me" not in lines[0]
