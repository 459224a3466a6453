"""The runner's replica option and what it makes of Envoy's clusters."""

import os

import pytest

from services.runner.envoy_config import Topology, render
from services.runner.mesh import envoy_concurrency, parse_replicas


def test_replicas_are_parsed_and_bad_ones_refused():
    assert parse_replicas("") == {}
    assert parse_replicas("device=2, tracking=3") == {"device": 2, "tracking": 3}
    for bad in ("moon=2", "device", "device=0", "device=9", "device=two"):
        with pytest.raises(ValueError):
            parse_replicas(bad)


def test_a_replicated_service_has_every_process_in_its_cluster():
    backends = {s: ("127.0.0.1", 50051 + i) for i, s in enumerate(("auth", "tracking", "device", "ingest", "insight"))}
    config = render(Topology("127.0.0.1", 8080, "127.0.0.1", 9901, "/x.binpb", backends,
                             replicas={"device": [("127.0.0.1", 60001)]}))
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}

    def ports(name: str) -> list[int]:
        return [e["endpoint"]["address"]["socket_address"]["port_value"]
                for e in clusters[name]["load_assignment"]["endpoints"][0]["lb_endpoints"]]

    assert ports("device") == [50053, 60001]
    assert ports("auth") == [50051]
    assert clusters["device"]["health_checks"], "a dead replica must be taken out"


def test_envoy_gets_half_the_cores_unless_told(monkeypatch):
    monkeypatch.delenv("HEALTHMESH_ENVOY_CONCURRENCY", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert envoy_concurrency() == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert envoy_concurrency() == 4
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert envoy_concurrency() == 1
    monkeypatch.setenv("HEALTHMESH_ENVOY_CONCURRENCY", "3")
    assert envoy_concurrency() == 3
    for bad in ("0", "-1", "many"):
        monkeypatch.setenv("HEALTHMESH_ENVOY_CONCURRENCY", bad)
        with pytest.raises(ValueError, match="HEALTHMESH_ENVOY_CONCURRENCY"):
            envoy_concurrency()
