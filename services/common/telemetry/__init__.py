"""OpenTelemetry traces: set up once per process (services/common/app.py), then a span is one call.

Where spans go, by the standard variables and one of ours:
- `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: nowhere, tracing off;
- `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`): there, by OTLP over HTTP/protobuf;
- else `HEALTHMESH_TRACES_DIR` (the runner sets `<state>/traces`): `<service>-<pid>.jsonl` there,
  one OTLP/JSON ExportTraceServiceRequest of one span per line (files.py);
- else off.
`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER(_ARG)` and the
`OTEL_BSP_*` batch settings are the SDK's own. Off, nothing of OpenTelemetry is installed: no
interceptor, no patched driver, and span() hands back one shared no-op context manager.

On, every healthmesh call has a SERVER span continuing the caller's W3C traceparent (rpc.py),
peer channels carry it (opentelemetry-instrumentation-grpc's client interceptors), asyncpg (under
SQLAlchemy too: postgres.py) and redis have client spans, and every exported span is redacted
(redact.py; the file exporter applies the same rules as it encodes). A database, Redis or peer call made outside any request or job (a poll, a
heartbeat, a health check) starts no trace of its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.common import logs

log = logging.getLogger(__name__)

_NOOP = contextlib.nullcontext()
_tracer = None  # an SDK tracer while tracing is on
_provider = None
_attach = _detach = _set_span_in_context = _ERROR = _statement_span = None  # (_bind_sdk)


def enabled() -> bool:
    return _tracer is not None


def setup(service: str, traces_dir: str = "", environ: Mapping[str, str] = os.environ) -> bool:
    """Starts tracing for this process when the environment asks for it (see the module
    docstring); True when it is on. Call once, before channels, servers and engines are made."""
    global _tracer, _provider
    exporter = _exporter(service, traces_dir, environ)
    if exporter is None:
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from services.common.telemetry.sampling import no_orphan_clients

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: environ.get("OTEL_SERVICE_NAME") or service}),
                              sampler=no_orphan_clients())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # (for any other library's spans; ours name the provider)
    _bind_sdk()
    _provider, _tracer = provider, provider.get_tracer("healthmesh")
    _instrument_drivers(provider)
    logs.span_ids = _span_ids
    return True


def _bind_sdk() -> None:
    """What _Current calls, bound once here rather than imported on each span (tracing off
    imports none of it)."""
    global _attach, _detach, _set_span_in_context, _ERROR, _statement_span
    from opentelemetry import context, trace
    from opentelemetry.trace import Status, StatusCode

    from services.common.telemetry.postgres import covering

    _attach, _detach, _set_span_in_context = context.attach, context.detach, trace.set_span_in_context
    _ERROR, _statement_span = Status(StatusCode.ERROR), covering


def shutdown() -> None:
    """Exports what is still buffered (at the end of the process)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
        _uninstrument_drivers()
    _tracer = _provider = None
    logs.span_ids = None


def _exporter(service: str, traces_dir: str, environ: Mapping[str, str]):
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    if environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        from services.common.telemetry.redact import RedactingExporter

        # (it reads the endpoint, headers and timeout from the environment)
        return RedactingExporter(OTLPSpanExporter())
    if traces_dir:
        from services.common.telemetry.files import JsonLinesExporter

        return JsonLinesExporter(Path(traces_dir) / f"{service}-{os.getpid()}.jsonl")
    return None


def _instrument_drivers(provider) -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    from services.common.telemetry import postgres

    # asyncpg's spans carry the statement's text with its $n placeholders, never the parameters
    # (postgres.py); redis' carry the command name and a ? per argument.
    postgres.instrument(_tracer)
    RedisInstrumentor().instrument(tracer_provider=provider)


def _uninstrument_drivers() -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    from services.common.telemetry import postgres

    postgres.uninstrument()
    RedisInstrumentor().uninstrument()


def server_interceptors() -> list:
    """For grpc.aio.server(interceptors=...), before ours: a SERVER span per healthmesh call, in
    the context the caller's traceparent names (health and reflection are left out)."""
    if _tracer is None:
        return []
    from services.common.telemetry.rpc import ServerSpans

    return [ServerSpans(_tracer, _ours)]


def client_interceptors() -> list:
    """For a peer channel: a CLIENT span per call, and the traceparent in its metadata."""
    if _tracer is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return aio_client_interceptors(tracer_provider=_provider)


def _ours(details) -> bool:
    method = details.method
    return (method.decode() if isinstance(method, bytes) else method).startswith("/healthmesh.")


def span(name: str, attributes: Mapping[str, object] | None = None, statement: bool = False):
    """A span around a block (`with telemetry.span("tracking.copy", {"healthmesh.rows": n}):`),
    a child of the current one. Attributes say how much and which kind, never what: no values,
    names, ids of users or anything a client sent (redact.py drops keys it does not know).
    statement=True for a block of one SQL statement: the statement gets no span of its own, its
    text and outcome go on this one (a span less: each costs about 40 us of CPU)."""
    if _tracer is None:
        return _NOOP
    return _Current(_tracer.start_span(name, attributes=attributes, record_exception=False), statement)


class _Current:
    """A started span, current while the block runs and ended after it; an exception marks it an
    error (its message stays out: redact.py). The SDK's start_as_current_span does the same through
    two context-manager layers, at about twice the cost."""

    __slots__ = ("_span", "_statement", "_token", "_covering")

    def __init__(self, span, statement: bool = False) -> None:
        self._span = span
        self._statement = statement
        self._token = self._covering = None

    def __enter__(self):
        self._token = _attach(_set_span_in_context(self._span))
        if self._statement:
            self._covering = _statement_span.set(self._span)
        return self._span

    def __exit__(self, kind, exc, tb) -> None:
        if self._covering is not None:
            _statement_span.reset(self._covering)
        if isinstance(exc, Exception):
            self._span.set_status(_ERROR)
        self._span.end()
        _detach(self._token)


def job_span(name: str, queued_by: Sequence[str], attributes: Mapping[str, object] | None = None):
    """The root span of background work (a job, an outbox delivery), LINKED to the traces of the
    requests that queued it (their traceparents, as traceparent() gave them then; empty ones are
    skipped) rather than a child of one of them."""
    if _tracer is None:
        return _NOOP
    from opentelemetry import context, trace

    links = [trace.Link(c) for c in (_span_context(t) for t in queued_by if t) if c is not None]
    return _Current(_tracer.start_span(name, context=context.Context(), kind=trace.SpanKind.CONSUMER, links=links,
                                       attributes=attributes, record_exception=False))


def traceparent() -> str:
    """The current span as a W3C traceparent, to store with work queued for later; "" when off
    or outside a span."""
    if _tracer is None:
        return ""
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return ""
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def trace_id() -> str:
    """The current trace id (32 hex), "" when off or outside a span: error responses carry it."""
    ids = _span_ids() if _tracer is not None else None
    return ids[0] if ids else ""


def _span_ids() -> tuple[str, str] | None:
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    return (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}") if ctx.is_valid else None


def _span_context(value: str):
    """A traceparent's span context, None when it is not one (version 00: 00-<32>-<16>-<2>)."""
    from opentelemetry import trace

    parts = value.split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) != 2:
        return None
    try:
        ctx = trace.SpanContext(int(parts[1], 16), int(parts[2], 16), is_remote=True,
                                trace_flags=trace.TraceFlags(int(parts[3], 16)))
    except ValueError:
        return None
    return ctx if ctx.is_valid else None
