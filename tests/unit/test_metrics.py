"""services/common/metrics.py: the RPC metrics the interceptor records (OpenTelemetry's names,
status codes as numbers, no user in any label), the domain helpers, the caches' counts, the
/metrics server and where Settings puts it. Counts are read as deltas of the process's registry."""

from __future__ import annotations

import socket
import urllib.request
from types import SimpleNamespace

import grpc
import pytest
from healthmesh.auth.v1 import auth_service_pb2, user_pb2
from prometheus_client import REGISTRY

from services.common import metrics
from services.common.cache import GenerationCache, TtlCache
from services.common.config import Settings
from services.common.errors import NotFound
from services.common.interceptor import CallInterceptor
from services.common.principal import Principal
from services.common.server import ServiceSpec

GET_USER = "/healthmesh.auth.v1.AuthService/GetUser"
ADA = Principal("user", "0190a1b2-0000-7000-8000-00000000ada0", "users/0190a1b2-0000-7000-8000-00000000ada0")


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rpc_labels(method: str, code: int) -> dict[str, str]:
    return {"rpc_system": "grpc", "rpc_service": "healthmesh.auth.v1.AuthService", "rpc_method": method,
            "rpc_grpc_status_code": str(code)}


class FakeAuthenticator:
    revocations = None

    async def principal(self, metadata):
        return ADA


class FakeAudit:
    def record(self, record) -> None:
        pass


class FakeContext:
    def invocation_metadata(self):
        return (("authorization", "Bearer t"),)

    def peer(self) -> str:
        return "ipv4:127.0.0.1:5555"

    async def abort(self, code, details, trailing_metadata=()):
        raise grpc.aio.AbortError()


async def get_user(missing: bool) -> None:
    async def behaviour(request, context):
        if missing:
            raise NotFound(f"{ADA.actor} does not exist")
        return user_pb2.User(name=ADA.actor)

    handler = grpc.unary_unary_rpc_method_handler(behaviour, auth_service_pb2.GetUserRequest.FromString,
                                                  user_pb2.User.SerializeToString)
    icp = CallInterceptor(ServiceSpec("auth"), FakeAuthenticator(), FakeAudit())

    async def continuation(details):
        return handler

    wrapped = await icp.intercept_service(continuation, SimpleNamespace(method=GET_USER))
    await wrapped.unary_unary(auth_service_pb2.GetUserRequest(name="users/me"), FakeContext())


async def test_the_interceptor_counts_each_call_and_its_errors_by_status_code():
    ok, not_found = rpc_labels("GetUser", 0), rpc_labels("GetUser", 5)
    before = {k: value(k, **ok) for k in ("rpc_server_requests_total", "rpc_server_call_duration_seconds_count")}
    errors_ok, errors_nf = value("rpc_server_errors_total", **ok), value("rpc_server_errors_total", **not_found)
    requests_nf = value("rpc_server_requests_total", **not_found)

    await get_user(missing=False)
    await get_user(missing=False)
    with pytest.raises(grpc.aio.AbortError):
        await get_user(missing=True)

    assert value("rpc_server_requests_total", **ok) == before["rpc_server_requests_total"] + 2
    assert value("rpc_server_call_duration_seconds_count", **ok) == before["rpc_server_call_duration_seconds_count"] + 2
    assert value("rpc_server_errors_total", **ok) == errors_ok  # OK is not an error
    assert value("rpc_server_requests_total", **not_found) == requests_nf + 1
    assert value("rpc_server_errors_total", **not_found) == errors_nf + 1
    text = metrics.text()
    assert 'rpc_server_call_duration_seconds_bucket{le="0.005",rpc_grpc_status_code="0",rpc_method="GetUser"' in text
    assert "ada0" not in text  # the user is in no label


def test_an_unknown_status_name_counts_as_unknown():
    labels = rpc_labels("Odd", 2)
    before = value("rpc_server_errors_total", **labels)
    metrics.record_rpc("/healthmesh.auth.v1.AuthService/Odd", "NOT_A_CODE", 0.2)
    assert value("rpc_server_errors_total", **labels) == before + 1
    assert value("rpc_server_call_duration_seconds_bucket", **labels, le="0.1") == 0
    assert value("rpc_server_call_duration_seconds_bucket", **labels, le="0.25") >= 1


def test_domain_helpers_count_by_path_format_and_outcome_only():
    accepted = value("healthmesh_tracking_samples_total", path="write_samples_columns", outcome="accepted")
    rejected = value("healthmesh_tracking_samples_total", path="write_samples_columns", outcome="rejected")
    metrics.samples_written("write_samples_columns", 7, 0, 0, 2)
    assert value("healthmesh_tracking_samples_total", path="write_samples_columns", outcome="accepted") == accepted + 7
    assert value("healthmesh_tracking_samples_total", path="write_samples_columns", outcome="rejected") == rejected + 2

    size = value("healthmesh_ingest_bytes_total", format="health_auto_export", state="FAILED")
    skipped = value("healthmesh_ingest_items_total", format="health_auto_export", outcome="skipped")
    metrics.ingest_finished("health_auto_export", "FAILED", 1234, {"accepted": 0, "skipped": 3})
    assert value("healthmesh_ingest_bytes_total", format="health_auto_export", state="FAILED") == size + 1234
    assert value("healthmesh_ingest_items_total", format="health_auto_export", outcome="skipped") == skipped + 3


async def test_caches_count_hits_and_misses():
    cache = TtlCache(60, name="test-ttl")
    cache.put("k", 1)
    assert (cache.get("k"), cache.get("other")) == (1, None)
    assert value("healthmesh_cache_lookups_total", cache="test-ttl", result="hit") >= 1
    assert value("healthmesh_cache_lookups_total", cache="test-ttl", result="miss") >= 1

    generations = GenerationCache(prefix="test-gen")  # no Redis: in this process
    hits = value("healthmesh_cache_lookups_total", cache="test-gen", result="hit")
    misses = value("healthmesh_cache_lookups_total", cache="test-gen", result="miss")
    found, stamp = await generations.get("scope", "key")
    await generations.put("scope", "key", b"v", 60, stamp)
    again, _ = await generations.get("scope", "key")
    assert (found, again) == (None, b"v")
    assert value("healthmesh_cache_lookups_total", cache="test-gen", result="miss") == misses + 1
    assert value("healthmesh_cache_lookups_total", cache="test-gen", result="hit") == hits + 1
    await generations.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_prometheus_text_and_a_taken_port_is_no_server():
    port = free_port()
    server = metrics.serve("127.0.0.1", port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            body = reply.read().decode()
            assert reply.headers["Content-Type"].startswith("text/plain")
        assert "# TYPE rpc_server_call_duration_seconds histogram" in body
        assert "# TYPE healthmesh_audit_pending_records gauge" in body
        assert metrics.serve("127.0.0.1", port) is None  # the service goes on without
    finally:
        server.shutdown()
        server.server_close()


def test_the_metrics_port_is_the_service_port_plus_the_offset():
    default = Settings(device_addr="127.0.0.1:50053", listen_host="127.0.0.1")
    assert default.metrics_addr("device") == ("127.0.0.1", 51053)
    replica = Settings(device_addr="127.0.0.1:40001", metrics_host="0.0.0.0")  # a replica has its own port
    assert replica.metrics_addr("device") == ("0.0.0.0", 41001)
    assert Settings(metrics_port_offset=0).metrics_addr("auth") is None


def test_the_pool_gauge_counts_connections_checked_out(tmp_path):
    import sqlalchemy
    from sqlalchemy.pool import QueuePool

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'pool.db'}", poolclass=QueuePool)
    metrics.watch_pool(engine, "test-pool")

    def used() -> float:
        return value("db_client_connection_count", db_client_connection_pool_name="test-pool",
                     db_client_connection_state="used")

    with engine.connect(), engine.connect():
        assert used() == 2
    assert used() == 0
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text("SELECT 1"))
        assert used() == 1
    assert used() == 0
    engine.dispose()


PROCESS = """
import os, sys
from services.common import metrics
metrics.record_rpc("/healthmesh.auth.v1.AuthService/GetUser", "OK", 0.01)
for _ in range(int(sys.argv[1])):
    metrics.record_rpc("/healthmesh.auth.v1.AuthService/GetUser", "NOT_FOUND", 0.01)
    metrics.TELEMETRY_STREAMS.inc()
if sys.argv[2] == "stop":
    metrics.process_stopped()
if sys.argv[2] == "scrape":
    print(metrics.text())
"""


def test_several_processes_serve_the_sum_of_all_and_a_stopped_ones_live_gauges_leave_it(tmp_path):
    """Two processes sharing PROMETHEUS_MULTIPROC_DIR (one still running, one stopped): a third's
    /metrics text has both one's counts, and only the running one's open streams."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def process(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-c", PROCESS, *argv], env=env, capture_output=True, text=True,
                              timeout=60, check=True)
        return done.stdout

    process("3", "run")  # exits without marking itself dead: as if running still
    process("4", "stop")
    text = process("0", "scrape")
    labels = 'rpc_grpc_status_code="5",rpc_method="GetUser",rpc_service="healthmesh.auth.v1.AuthService"'
    assert f'rpc_server_errors_total{{{labels},rpc_system="grpc"}} 7.0' in text
    assert 'rpc_server_call_duration_seconds_count{rpc_grpc_status_code="0"' in text
    assert "healthmesh_device_telemetry_streams_open 3.0" in text
    assert "process_cpu_seconds_total" not in text  # one process's figures would pass for the service's
