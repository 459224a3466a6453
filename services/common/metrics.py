"""Prometheus metrics: one registry per process, served as text at /metrics on its own port.

RPC metrics follow the OpenTelemetry RPC semantic conventions (rpc.server.call.duration and
friends), written the way OpenTelemetry's Prometheus exporter writes them: dots become
underscores, the unit a suffix (`rpc_server_call_duration_seconds`). Domain metrics are
`healthmesh_*`, each recorded where the thing happens.

Cardinality: labels hold only names the code defines (RPC paths of the contract, status codes,
paths, outcomes, formats, table names), never a user id, a device, a resource name or a value.

Every process serves its own numbers (a replica on its own port + offset), which Prometheus
scrapes as one target each: the simple choice over prometheus-client's multiprocess mode, which
needs a shared directory of mmapped files cleaned between runs and loses the per-process view.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import (
    REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest, start_http_server,
)

log = logging.getLogger(__name__)
disable_created_metrics()  # no `_created` series beside every counter and histogram: half the text, no use here

# OpenTelemetry's recommended boundaries for rpc.server.call.duration, in seconds.
RPC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_RPC_LABELS = ("rpc_system", "rpc_service", "rpc_method", "rpc_grpc_status_code")

# gRPC status names (as the interceptor records them) to their numbers, as the conventions ask.
STATUS_CODES = {
    "OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
    "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
    "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

RPC_DURATION = Histogram(
    "rpc_server_call_duration_seconds", "rpc.server.call.duration: time from a call's start to its end",
    _RPC_LABELS, buckets=RPC_BUCKETS)
RPC_REQUESTS = Counter("rpc_server_requests", "Calls finished, by status code", _RPC_LABELS)
RPC_ERRORS = Counter("rpc_server_errors", "Calls finished with a status other than OK", _RPC_LABELS)

# Domain metrics.
SAMPLES = Counter("healthmesh_tracking_samples", "Samples Tracking was given to write, by path and outcome "
                  "(accepted, duplicate, updated, rejected)", ("path", "outcome"))
TELEMETRY_STREAMS = Gauge("healthmesh_device_telemetry_streams_open", "StreamTelemetry streams open here")
TELEMETRY_ACK = Histogram("healthmesh_device_telemetry_ack_seconds",
                          "From a telemetry batch read to its ack sent", buckets=RPC_BUCKETS)
INGEST_BYTES = Counter("healthmesh_ingest_bytes", "Payload bytes of finished ingestions, by format and state",
                       ("format", "state"))
INGEST_ITEMS = Counter("healthmesh_ingest_items", "Items of finished ingestions, by format and outcome",
                       ("format", "outcome"))
OUTBOX_LAG = Gauge("healthmesh_outbox_lag_seconds",
                   "Age of the oldest event waiting in an outbox at the relay's last look (0: none waiting)",
                   ("outbox",))
OUTBOX_RELAYED = Counter("healthmesh_outbox_relayed", "Outbox events the peer took", ("outbox",))
AUDIT_PENDING = Gauge("healthmesh_audit_pending_records", "Audit records in memory, not yet in the audit store")
CACHE = Counter("healthmesh_cache_lookups", "Cache lookups, by cache and result (hit, miss)", ("cache", "result"))


class RpcRecorder:
    """What the interceptor calls when a call ends; the label sets are made once per (method, code)."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str], tuple[Callable[[float], None], Callable[[], None],
                                                    Callable[[], None] | None]] = {}

    def __call__(self, path: str, code: str, seconds: float) -> None:
        known = self._children.get((path, code))
        if known is None:
            known = self._children[(path, code)] = self._make(path, code)
        observe, count, error = known
        observe(seconds)
        count()
        if error is not None:
            error()

    @staticmethod
    def _make(path: str, code: str):
        service, _, method = path.strip("/").partition("/")
        labels = ("grpc", service, method, str(STATUS_CODES.get(code, 2)))  # an unknown name counts as UNKNOWN
        error = RPC_ERRORS.labels(*labels).inc if code != "OK" else None
        return RPC_DURATION.labels(*labels).observe, RPC_REQUESTS.labels(*labels).inc, error


record_rpc = RpcRecorder()


def ingest_finished(fmt: str, state: str, size_bytes: int, counts: dict[str, int]) -> None:
    """An ingestion ended (SUCCEEDED or FAILED): its bytes, and its items per outcome."""
    INGEST_BYTES.labels(fmt, state).inc(size_bytes)
    for outcome, n in counts.items():
        if n:
            INGEST_ITEMS.labels(fmt, outcome).inc(n)


def samples_written(path: str, accepted: int, duplicate: int, updated: int, rejected: int) -> None:
    for outcome, n in (("accepted", accepted), ("duplicate", duplicate), ("updated", updated),
                       ("rejected", rejected)):
        if n:
            SAMPLES.labels(path, outcome).inc(n)


def text(registry: CollectorRegistry = REGISTRY) -> str:
    """The exposition, as /metrics serves it."""
    return generate_latest(registry).decode()


def serve(host: str, port: int):
    """Starts /metrics on a thread of its own (prometheus-client's WSGI server), so a busy event
    loop does not hold up a scrape; returns the server, or None when the port cannot be bound: the
    service runs on without metrics rather than not at all."""
    try:
        server, thread = start_http_server(port, host)
    except OSError as exc:
        log.warning("metrics: cannot listen on %s:%d (%s); no /metrics in this process", host, port, exc)
        return None
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server
