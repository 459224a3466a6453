"""Prometheus metrics: one registry per process, served as text at /metrics on its own port.

RPC metrics follow the OpenTelemetry RPC semantic conventions (rpc.server.call.duration and
friends), written the way OpenTelemetry's Prometheus exporter writes them: dots become
underscores, the unit a suffix (`rpc_server_call_duration_seconds`). Domain metrics are
`healthmesh_*`, each recorded where the thing happens.

Cardinality: labels hold only names the code defines (RPC paths of the contract, status codes,
paths, outcomes, formats, table names), never a user id, a device, a resource name or a value.

Several processes of one service (the runner's --replicas): the runner gives them one
PROMETHEUS_MULTIPROC_DIR (<state>/metrics/<service>, emptied at its start), every process writes
its values to memory-mapped files there (prometheus-client's multiprocess mode), and each one's
/metrics (its own port + offset) serves the sum over all of them: so the service's first port is the
one to scrape, and any replica's says the same. Counters and histograms add up; each gauge says how
(`livesum`: the live processes' values added, `livemax`: the largest); a process marks itself dead
when it stops, and the runner does it for one it restarts. process_* and python_* are left out
there: they would describe only the process that answers. One process alone keeps the plain
in-memory registry (docker-compose: one process per container).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from prometheus_client import (
    REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest, multiprocess,
    start_http_server,
)

log = logging.getLogger(__name__)
disable_created_metrics()  # no `_created` series beside every counter and histogram: half the text, no use here
# Set by the runner for a service of several processes; read by prometheus-client at import too.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

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
TELEMETRY_STREAMS = Gauge("healthmesh_device_telemetry_streams_open", "StreamTelemetry streams open",
                          multiprocess_mode="livesum")
TELEMETRY_ACK = Histogram("healthmesh_device_telemetry_ack_seconds",
                          "From a telemetry batch read to its ack sent", buckets=RPC_BUCKETS)
INGEST_BYTES = Counter("healthmesh_ingest_bytes", "Payload bytes of finished ingestions, by format and state",
                       ("format", "state"))
INGEST_ITEMS = Counter("healthmesh_ingest_items", "Items of finished ingestions, by format and outcome",
                       ("format", "outcome"))
OUTBOX_LAG = Gauge("healthmesh_outbox_lag_seconds",
                   "Age of the oldest event waiting in an outbox at the relay's last look (0: none waiting)",
                   ("outbox",), multiprocess_mode="livemax")
OUTBOX_RELAYED = Counter("healthmesh_outbox_relayed", "Outbox events the peer took", ("outbox",))
AUDIT_PENDING = Gauge("healthmesh_audit_pending_records", "Audit records in memory, not yet in the audit store",
                      multiprocess_mode="livesum")
# OpenTelemetry's db.client.connection.count, state "used": connections of the pool checked out now.
DB_CONNECTIONS = Gauge("db_client_connection_count", "Database connections of the pool in use (checked out)",
                       ("db_client_connection_pool_name", "db_client_connection_state"), multiprocess_mode="livesum")
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


def watch_pool(engine, name: str) -> None:
    """Counts the engine's pool connections in use, by SQLAlchemy's checkout and checkin events
    (an AsyncEngine's are its sync_engine's)."""
    from sqlalchemy import event

    used = DB_CONNECTIONS.labels(name, "used")
    pooled = getattr(engine, "sync_engine", engine)
    event.listen(pooled, "checkout", lambda *_: used.inc())
    event.listen(pooled, "checkin", lambda *_: used.dec())


def served_registry() -> CollectorRegistry:
    """What /metrics serves: this process's registry, or with several processes the sum of all of
    theirs, read from the shared directory at each scrape."""
    if not MULTIPROCESS_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, MULTIPROCESS_DIR)
    return registry


def process_stopped() -> None:
    """With several processes: this one's live gauges leave the sum (its counts stay in it)."""
    if MULTIPROCESS_DIR:
        multiprocess.mark_process_dead(os.getpid(), MULTIPROCESS_DIR)


def text(registry: CollectorRegistry | None = None) -> str:
    """The exposition, as /metrics serves it."""
    return generate_latest(registry or served_registry()).decode()


def serve(host: str, port: int):
    """Starts /metrics on a thread of its own (prometheus-client's WSGI server), so a busy event
    loop does not hold up a scrape; returns the server, or None when the port cannot be bound: the
    service runs on without metrics rather than not at all."""
    try:
        server, thread = start_http_server(port, host, registry=served_registry())
    except OSError as exc:
        log.warning("metrics: cannot listen on %s:%d (%s); no /metrics in this process", host, port, exc)
        return None
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server
