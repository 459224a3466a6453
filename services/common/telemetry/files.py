"""Spans as OTLP/JSON lines in a file, for a developer without a collector: each line is one
ExportTraceServiceRequest holding exactly one span, as an OpenTelemetry Collector's file exporter
writes them (ids in lowercase hex, 64-bit times as strings, enums as numbers).
`healthmesh trace <trace-id>` reads these files. The encoding redacts as redact.py does (the
attributes it keeps, no status description, no exception message) without copying the span first."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from services.common.telemetry.redact import MAX_CHARS, keeps, kept


def value(v: object) -> dict:
    """An attribute value as OTLP/JSON's AnyValue."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    if isinstance(v, bytes):
        return {"bytesValue": v.hex()}
    return {"stringValue": str(v)}


def attributes(attrs: Mapping[str, object] | None) -> list[dict]:
    return [{"key": k, "value": value(v)} for k, v in (attrs or {}).items()]


def encode_span_events(span: ReadableSpan) -> list[dict]:
    return [{"timeUnixNano": str(e.timestamp), "name": e.name, "attributes": attributes(kept(e.attributes))}
            for e in span.events]


def encode_span_links(span: ReadableSpan) -> list[dict]:
    return [{"traceId": f"{link.context.trace_id:032x}", "spanId": f"{link.context.span_id:016x}",
             "attributes": attributes(kept(link.attributes))} for link in span.links]


def encode_span(span: ReadableSpan) -> dict:
    ctx = span.context
    out = {
        "traceId": f"{ctx.trace_id:032x}",
        "spanId": f"{ctx.span_id:016x}",
        "parentSpanId": f"{span.parent.span_id:016x}" if span.parent is not None else "",
        "flags": int(ctx.trace_flags),
        "name": span.name,
        "kind": span.kind.value + 1,  # OTLP counts UNSPECIFIED as 0, the API starts at INTERNAL
        "startTimeUnixNano": str(span.start_time),
        "endTimeUnixNano": str(span.end_time),
        "attributes": attributes(kept(span.attributes)),
        "events": encode_span_events(span),
        "links": encode_span_links(span),
        "status": {"code": span.status.status_code.value} if span.status.status_code.value else {},
    }
    if ctx.trace_state:
        out["traceState"] = ctx.trace_state.to_header()
    return out


def _envelope(span: ReadableSpan) -> dict:
    scope = span.instrumentation_scope
    return {"resourceSpans": [{
        "resource": {"attributes": attributes(span.resource.attributes if span.resource else {})},
        "scopeSpans": [{
            "scope": {"name": scope.name, **({"version": scope.version} if scope.version else {})} if scope else {},
            "spans": [],
        }],
    }]}


def encode(span: ReadableSpan) -> dict:
    """One span as a whole ExportTraceServiceRequest."""
    request = _envelope(span)
    request["resourceSpans"][0]["scopeSpans"][0]["spans"].append(encode_span(span))
    return request


_string = json.encoder.encode_basestring_ascii  # (the C one json.dumps uses for a str)


def _attributes_json(attrs) -> str:
    """attributes(kept(attrs)) as JSON text, without the dicts between: what every span pays."""
    if not attrs:
        return "[]"
    out = []
    for k, v in getattr(attrs, "_dict", attrs).items():  # (a BoundedAttributes' own dict: no copy, no lock)
        if not keeps(k):
            continue
        if isinstance(v, str):
            out.append(f'{{"key":{_string(k)},"value":{{"stringValue":{_string(v[:MAX_CHARS])}}}}}')
        elif isinstance(v, bool):
            out.append(f'{{"key":{_string(k)},"value":{{"boolValue":{"true" if v else "false"}}}}}')
        elif isinstance(v, int):
            out.append(f'{{"key":{_string(k)},"value":{{"intValue":"{v}"}}}}')
        else:
            out.append(json.dumps({"key": k, "value": value(v)}, separators=(",", ":")))
    return f"[{','.join(out)}]"


def _span_json(span: ReadableSpan) -> str:
    """json.dumps(encode_span(span)) written out; events and links (rare) go the long way."""
    ctx, parent = span.context, span.parent
    code = span.status.status_code.value
    parent_id = f"{parent.span_id:016x}" if parent is not None else ""
    events = json.dumps(encode_span_events(span), separators=(",", ":")) if span.events else "[]"
    links = json.dumps(encode_span_links(span), separators=(",", ":")) if span.links else "[]"
    status = f'{{"code":{code}}}' if code else "{}"
    state = f',"traceState":{_string(ctx.trace_state.to_header())}' if ctx.trace_state else ""
    return (f'{{"traceId":"{ctx.trace_id:032x}","spanId":"{ctx.span_id:016x}",'
            f'"parentSpanId":"{parent_id}",'
            f'"flags":{int(ctx.trace_flags)},"name":{_string(span.name)},"kind":{span.kind.value + 1},'
            f'"startTimeUnixNano":"{span.start_time}","endTimeUnixNano":"{span.end_time}",'
            f'"attributes":{_attributes_json(span.attributes)},"events":{events},"links":{links},'
            f'"status":{status}{state}}}')


class _Lines:
    """encode() as one line of text, the resource and scope around the span written once per
    pair (they are the same for every span of a process and instrumentation)."""

    def __init__(self) -> None:
        self._frames: dict[tuple, tuple[str, str]] = {}

    def __call__(self, span: ReadableSpan) -> str:
        scope = span.instrumentation_scope
        key = (id(span.resource), scope.name if scope else "", scope.version if scope else "")
        frame = self._frames.get(key)
        if frame is None:
            marker = "\x00span\x00"
            request = _envelope(span)
            request["resourceSpans"][0]["scopeSpans"][0]["spans"].append(marker)
            before, _, after = json.dumps(request, separators=(",", ":")).partition(json.dumps(marker))
            frame = self._frames[key] = (before, after + "\n")
        return frame[0] + _span_json(span) + frame[1]


class JsonLinesExporter(SpanExporter):
    """Appends each span as a line to `path` (made with its directory when the first span comes)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file = None
        self._lock = threading.Lock()
        self._line = _Lines()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        text = "".join(self._line(s) for s in spans)
        try:
            with self._lock:
                if self._file is None:
                    self._path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
                self._file.write(text)
                self._file.flush()
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
