"""A service of two processes: /metrics on its first process's metrics port (and on the
replica's) is the sum of both, in the real mesh (--replicas tracking=2, Envoy balancing over them).
The access logs show that the calls reached both processes."""

from __future__ import annotations

import httpx
import pytest

from services.runner.mesh import temporary_mesh
from tests.e2e.conftest import auth, new_user
from tests.e2e.test_metrics import sample

pytestmark = pytest.mark.e2e

CALLS = 12
CREATED = ('rpc_service="healthmesh.tracking.v1.TrackingService"', 'rpc_method="CreateSample"',
           'rpc_grpc_status_code="0"')


def scrape(address: str) -> str:
    host, port = address.rsplit(":", 1)
    reply = httpx.get(f"http://{host}:{int(port) + 1000}/metrics", timeout=10)
    assert reply.status_code == 200
    return reply.text


def test_calls_reaching_both_processes_show_up_summed_in_one_metrics():
    with temporary_mesh("healthmesh-metrics-replicas-", replicas={"tracking": 2}) as mesh:
        endpoints = mesh.endpoints()
        with httpx.Client(base_url=endpoints["http"], timeout=30) as http:
            session = new_user(http)
            for minute in range(CALLS):
                created = http.post("/v1/users/me/samples", headers=auth(session), json={
                    "type": "heart_rate", "startTime": f"2026-03-01T08:{minute:02d}:00Z", "value": 60 + minute,
                    "unit": "count/min"})
                assert created.status_code == 200, created.text

        served = {name: (mesh.logs / f"{name}.log").read_text().count('"method": "/healthmesh.tracking.v1.'
                                                                        'TrackingService/CreateSample"')
                  for name in ("tracking", "tracking-2")}
        assert sum(served.values()) == CALLS and all(served.values()), served  # both processes took some

        first, replica = scrape(endpoints["services"]["tracking"]), scrape(endpoints["replicas"]["tracking-2"])
        for text in (first, replica):  # either port: the sum of both processes
            assert sample(text, "rpc_server_requests_total", *CREATED) == CALLS
            assert sample(text, "rpc_server_call_duration_seconds_count", *CREATED) == CALLS
            assert sample(text, "healthmesh_tracking_samples_total", 'path="rest"', 'outcome="accepted"') == CALLS
            assert 'db_client_connection_count{db_client_connection_pool_name="tracking",' \
                   'db_client_connection_state="used"}' in text
        single = scrape(endpoints["services"]["auth"])  # one process: its own registry, as before
        assert "process_cpu_seconds_total" in single
