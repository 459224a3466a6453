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


def _span_json(span: trace_pb2.Span) -> dict:
    """OTLP/JSON of one span: as protobuf's JSON mapping, but ids in hex (not base64) and enums as
    numbers, which is what the OTLP/JSON encoding asks; a root's parentSpanId is ""."""
    body = json_format.MessageToDict(span, use_integers_for_enums=True)
    body["traceId"], body["spanId"] = span.trace_id.hex(), span.span_id.hex()
    body["parentSpanId"] = span.parent_span_id.hex()
    for link, linked in zip(body.get("links", []), span.links):
        link["traceId"], link["spanId"] = linked.trace_id.hex(), linked.span_id.hex()
    return body


def span_lines(request: ExportTraceServiceRequest) -> Iterator[str]:
    """One JSON line per span, each a whole ExportTraceServiceRequest with its resource and scope."""
    for resource_spans in request.resource_spans:
        resource = json_format.MessageToDict(resource_spans.resource, use_integers_for_enums=True)
        for scope_spans in resource_spans.scope_spans:
            scope = json_format.MessageToDict(scope_spans.scope, use_integers_for_enums=True)
            for span in scope_spans.spans:
                yield json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [
                    {"scope": scope, "spans": [_span_json(span)]}]}]}, separators=(",", ":"))


class OtlpReceiver:
    """POST /v1/traces (application/x-protobuf) appends to `path`; start() binds, stop() ends it."""

    def __init__(self, path: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.path = path
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
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
