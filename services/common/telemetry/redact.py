"""What leaves the process: every span passes here on its way to the OTLP exporter, on the export
thread (files.py encodes by the same rules). Attributes are kept by an allowlist of keys (what kind of call, how much, how it ended),
so whatever an instrumentation adds in a later version stays in unless named here. Status
descriptions and exception messages go: they quote error messages, which may quote what a
client sent; an exception event keeps its type only.

What the instrumentations record, checked against 0.66b1: grpc the method, peer address and
status code (never a message); redis the command with a ? per argument; and ours of asyncpg
(postgres.py) the statement with its $n placeholders, never its parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status

KEPT_PREFIXES = ("rpc.", "healthmesh.", "network.", "net.peer.", "net.transport", "server.")
KEPT_KEYS = frozenset({"db.system", "db.system.name", "db.name", "db.namespace", "db.statement", "db.query.text",
                       "db.operation", "db.operation.name", "db.redis.database_index", "error.type",
                       "exception.type"})
MAX_CHARS = 2048  # a statement of many placeholders is cut here


_decided: dict[str, bool] = {}  # key -> kept: the keys are the few that instrumentations and we write


def keeps(key: str) -> bool:
    decision = _decided.get(key)
    if decision is None:
        decision = key in KEPT_KEYS or key.startswith(KEPT_PREFIXES)
        if len(_decided) < 1024:
            _decided[key] = decision
    return decision


def kept(attributes: Mapping[str, object] | None) -> dict[str, object]:
    out = {}
    for key, value in (attributes or {}).items():
        if keeps(key):
            out[key] = value[:MAX_CHARS] if isinstance(value, str) else value
    return out


def redacted(span: ReadableSpan) -> ReadableSpan:
    events = [Event(e.name, kept(e.attributes), e.timestamp) for e in span.events]
    links = [Link(link.context, kept(link.attributes)) for link in span.links]
    return ReadableSpan(name=span.name, context=span.context, parent=span.parent, resource=span.resource,
                        attributes=kept(span.attributes), events=events, links=links, kind=span.kind,
                        status=Status(span.status.status_code), start_time=span.start_time, end_time=span.end_time,
                        instrumentation_scope=span.instrumentation_scope)


class RedactingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([redacted(s) for s in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
