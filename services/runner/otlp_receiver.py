"""Envoy's spans without a collector: a tiny OTLP/HTTP trace receiver that `make run` hosts.

No registry package this project can use ships an OpenTelemetry Collector (README, Observability),
so with tracing on and no OTEL_EXPORTER_OTLP_ENDPOINT the runner starts this on a free loopback
port, Envoy's OpenTelemetry tracer posts its protobuf ExportTraceServiceRequests here, and each
span becomes one line of `<state dir>/traces/envoy.jsonl`: a complete OTLP/JSON
ExportTraceServiceRequest holding that one span (ids in hex, int64 times as strings), the same
lines the services write and a collector's file exporter would, so `healthmesh trace` reads them all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1 import trace_pb2

TRACES_PATH = "/v1/traces"
MAX_BODY_BYTES = 16 * 1024 * 1024  # Envoy sends batches of a few hundred spans at most


def _attributes(attributes) -> list[dict]:
    """KeyValues as protobuf's JSON mapping makes them; a string (nearly all of Envoy's) directly."""
    out = []
    for kv in attributes:
        if kv.value.WhichOneof("value") == "string_value":
            out.append({"key": kv.key, "value": {"stringValue": kv.value.string_value}})
        else:
            out.append(json_format.MessageToDict(kv, use_integers_for_enums=True))
    return out


def _span_json(span: trace_pb2.Span) -> dict:
    """OTLP/JSON of one span: as protobuf's JSON mapping (fields at their defaults left out), but
    ids in hex (not base64) and enums as numbers, which is what the OTLP/JSON encoding asks; a
    root's parentSpanId is "". Built field by field: json_format's walk of every field cost the
    process hosting this (a benchmark's, with tracing on) twice the CPU."""
    body: dict = {"traceId": span.trace_id.hex(), "spanId": span.span_id.hex()}
    if span.trace_state:
        body["traceState"] = span.trace_state
    body["parentSpanId"] = span.parent_span_id.hex()
    if span.flags:
        body["flags"] = span.flags
    if span.name:
        body["name"] = span.name
    if span.kind:
        body["kind"] = span.kind
    if span.start_time_unix_nano:
        body["startTimeUnixNano"] = str(span.start_time_unix_nano)
    if span.end_time_unix_nano:
        body["endTimeUnixNano"] = str(span.end_time_unix_nano)
    if span.attributes:
        body["attributes"] = _attributes(span.attributes)
    if span.dropped_attributes_count:
        body["droppedAttributesCount"] = span.dropped_attributes_count
    if span.events:
        body["events"] = [json_format.MessageToDict(e, use_integers_for_enums=True) for e in span.events]
    if span.dropped_events_count:
        body["droppedEventsCount"] = span.dropped_events_count
    if span.links:
        body["links"] = []
        for link in span.links:
            out = json_format.MessageToDict(link, use_integers_for_enums=True)
            out["traceId"], out["spanId"] = link.trace_id.hex(), link.span_id.hex()
            body["links"].append(out)
    if span.dropped_links_count:
        body["droppedLinksCount"] = span.dropped_links_count
    if span.HasField("status"):
        body["status"] = json_format.MessageToDict(span.status, use_integers_for_enums=True)
    return body


def span_lines(request: ExportTraceServiceRequest) -> Iterator[str]:
    """One JSON line per span, each a whole ExportTraceServiceRequest with its resource and scope
    (written once per scope, the span put between)."""
    for resource_spans in request.resource_spans:
        resource = json_format.MessageToDict(resource_spans.resource, use_integers_for_enums=True)
        for scope_spans in resource_spans.scope_spans:
            scope = json_format.MessageToDict(scope_spans.scope, use_integers_for_enums=True)
            marker = "\x00span\x00"
            before, _, after = json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [
                {"scope": scope, "spans": [marker]}]}]}, separators=(",", ":")).partition(json.dumps(marker))
            for span in scope_spans.spans:
                yield before + json.dumps(_span_json(span), separators=(",", ":")) + after


class OtlpReceiver:
    """POST /v1/traces (application/x-protobuf) appends to `path`; start() binds, stop() ends it."""

    def __init__(self, path: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.path = path
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: Envoy's exports reuse a connection (and a thread)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                if self.path != TRACES_PATH:
                    self._answer(404, b"")
                    return
                body = self._body()
                if body is None:
                    self._answer(400, b"no body, or one over the limit")
                    return
                try:
                    request = ExportTraceServiceRequest.FromString(body)
                except DecodeError:
                    self._answer(400, b"not an ExportTraceServiceRequest")
                    return
                receiver.write(request)
                self._answer(200, ExportTraceServiceResponse().SerializeToString())

            def _body(self) -> bytes | None:
                """The request's body, by content-length or chunked (as Envoy's exporter sends it)."""
                if "chunked" in self.headers.get("transfer-encoding", "").lower():
                    chunks, total = [], 0
                    while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                        total += size
                        if total > MAX_BODY_BYTES:
                            return None
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()  # the CRLF after the chunk
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(chunks) or None
                size = int(self.headers.get("content-length") or 0)
                return self.rfile.read(size) if 0 < size <= MAX_BODY_BYTES else None

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(body)))
                if status != 200:  # (a body left unread would be taken for the next request)
                    self.send_header("connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - one line per export is noise
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def write(self, request: ExportTraceServiceRequest) -> None:
        lines = "".join(line + "\n" for line in span_lines(request))
        with self._lock, self.path.open("a") as out:
            out.write(lines)

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
