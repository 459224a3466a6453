"""The contracts as clients see them: the REST surface is pinned, exceptions are listed, and
Envoy's configuration and docker-compose.yml agree with the descriptor set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from services.common.contract import DESCRIPTOR_SET, methods, public_services
from services.runner.envoy_config import DOCKER_CONFIG, DOCKER_TOPOLOGY, Topology, render, to_yaml
from services.runner.mesh import real_clock_env

REPO = Path(__file__).resolve().parents[2]
PINNED = Path(__file__).with_name("rest_surface.txt")

# Public RPCs that deliberately have no HTTP rule: bidirectional streams only work over gRPC.
NO_HTTP_RULE = {"/healthmesh.device.v1.DeviceService/StreamTelemetry"}

# DESIGN.md section 3a, as (verb, path template): every row must be served by some RPC.
SECTION_3A = [
    ("POST", "/v1/auth:register"), ("POST", "/v1/auth:login"), ("POST", "/v1/auth:refresh"),
    ("POST", "/v1/auth:logout"), ("GET", "/v1/{name=users/*}"), ("PATCH", "/v1/{user.name=users/*}"),
    ("DELETE", "/v1/{name=users/*}"), ("POST", "/v1/{parent=users/*}/apiKeys"), ("GET", "/v1/{parent=users/*}/apiKeys"),
    ("DELETE", "/v1/{name=users/*/apiKeys/*}"), ("GET", "/v1/sampleTypes"),
    ("POST", "/v1/{parent=users/*}/samples"), ("POST", "/v1/{parent=users/*}/samples:batchCreate"),
    ("GET", "/v1/{parent=users/*}/samples"), ("GET", "/v1/{name=users/*/samples/*}"),
    ("DELETE", "/v1/{name=users/*/samples/*}"), ("GET", "/v1/{parent=users/*}/samples:latest"),
    ("GET", "/v1/{parent=users/*}/samples:aggregate"),
    ("POST", "/v1/{parent=users/*}/activities"), ("GET", "/v1/{parent=users/*}/activities"),
    ("GET", "/v1/{name=users/*/activities/*}"), ("DELETE", "/v1/{name=users/*/activities/*}"),
    ("POST", "/v1/{parent=users/*}/sleepSessions"), ("GET", "/v1/{parent=users/*}/sleepSessions"),
    ("GET", "/v1/{parent=users/*}/sleepSessions:analyze"),
    ("POST", "/v1/{parent=users/*}/nutritionEntries"), ("GET", "/v1/{parent=users/*}/nutritionEntries"),
    ("POST", "/v1/{parent=users/*}/goals"), ("GET", "/v1/{parent=users/*}/goals"),
    ("GET", "/v1/{name=users/*/goals/*}:progress"), ("GET", "/v1/{parent=users/*}/heartRate:zones"),
    ("POST", "/v1/{parent=users/*}/devices"), ("GET", "/v1/{parent=users/*}/devices"),
    ("GET", "/v1/{name=users/*/devices/*}"), ("DELETE", "/v1/{name=users/*/devices/*}"),
    ("POST", "/v1/{name=users/*/devices/*}:uploadData"), ("POST", "/v1/{name=users/*/devices/*}:reportHealth"),
    ("GET", "/v1/{name=users/*/devices/*/health}"), ("POST", "/v1/{name=users/*/devices/*}:sync"),
    ("GET", "/v1/{parent=users/*/devices/*}/syncs"),
    ("POST", "/v1/ingest/healthAutoExport"), ("POST", "/v1/ingest/appleHealthExport"),
    ("GET", "/v1/{parent=users/*}/ingestions"), ("GET", "/v1/{name=users/*/ingestions/*}"),
    ("POST", "/v1/{name=users/*/ingestions/*}:reprocess"),
    ("GET", "/v1/{parent=users/*}/recommendations"), ("GET", "/v1/{parent=users/*}/insights"),
    ("POST", "/v1/{name=users/*/insights/*}:markRead"), ("GET", "/v1/{parent=users/*}/trends"),
    ("GET", "/v1/{parent=users/*}/anomalies"), ("GET", "/v1/{parent=users/*}/correlations"),
    ("GET", "/v1/{parent=users/*}/summary"), ("GET", "/v1/{parent=users/*}/alerts:watch"),
]


def surface() -> list[str]:
    return sorted(f"{m.http_verb} {m.http_path} body={m.http_body or '-'} -> {m.path}"
                  for m in methods() if m.http_verb)


def test_the_rest_surface_is_pinned():
    current = surface()
    pinned = PINNED.read_text().splitlines()
    added, removed = sorted(set(current) - set(pinned)), sorted(set(pinned) - set(current))
    assert not added and not removed, (
        "the REST surface changed; if that is intended, update tests/contract/rest_surface.txt\n"
        + "\n".join([*(f"+ {a}" for a in added), *(f"- {r}" for r in removed)]))


def test_section_3a_is_served():
    served = {(m.http_verb, m.http_path) for m in methods()}
    missing = [row for row in SECTION_3A if row not in served]
    assert not missing, missing


def test_every_public_rpc_has_an_http_rule_except_the_listed_ones():
    without = {m.path for m in methods() if not m.internal and not m.http_verb}
    assert without == NO_HTTP_RULE


def test_internal_rpcs_have_no_http_rule():
    internal = [m for m in methods() if m.internal]
    assert internal, "the internal services are in the descriptor set"
    assert not [m.path for m in internal if m.http_verb]


def test_each_service_has_one_public_service():
    assert set(public_services()) == {"auth", "tracking", "device", "ingest", "insight"}


def test_envoy_routes_every_public_service_and_no_internal_one():
    config = render(DOCKER_TOPOLOGY)
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    routed = [r for r in routes if "route" in r]
    prefixes = {r["match"].get("prefix") for r in routed}
    paths = {r["match"].get("path") for r in routed}
    for full_name in public_services().values():
        assert f"/{full_name}/" in prefixes
    assert not any("Internal" in (p or "") for p in prefixes | paths)
    assert routes[-1] == {"match": {"prefix": "/healthmesh."}, "direct_response": {
        "status": 404, "body": {"inline_string": "not served on the public listener"}}}
    transcoder = next(f for f in hcm["http_filters"] if f["name"].endswith("grpc_json_transcoder"))["typed_config"]
    assert sorted(transcoder["services"]) == sorted(public_services().values())
    for option in ("convert_grpc_status", "case_insensitive_enum_parsing"):
        assert transcoder[option] is True
    assert transcoder["request_validation_options"] == {"reject_unknown_method": True,
                                                        "reject_unknown_query_parameters": True}
    streaming = {m.path for m in methods() if m.streaming and not m.internal}
    assert {r["match"].get("path") for r in routed if r["route"]["timeout"] == "0s"} >= streaming


def test_the_docker_envoy_config_is_current():
    assert DOCKER_CONFIG.read_text() == to_yaml(render(DOCKER_TOPOLOGY)), \
        "run: .venv/bin/python -m services.runner.envoy_config"


def test_envoy_accepts_the_config(tmp_path):
    topology = Topology("127.0.0.1", 18080, "127.0.0.1", 19901, str(DESCRIPTOR_SET),
                        {s: ("127.0.0.1", 50051 + i) for i, s in enumerate(sorted(public_services()))})
    config = tmp_path / "envoy.yaml"
    config.write_text(to_yaml(render(topology)))
    envoy = Path(sys.executable).parent / "envoy"
    result = subprocess.run([str(envoy), "--mode", "validate", "-c", str(config), "--base-id", "7701"],
                            capture_output=True, text=True, timeout=120, env=real_clock_env())
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_docker_compose_matches_the_topology():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    for name, (host, port) in DOCKER_TOPOLOGY.backends.items():
        assert services[name]["command"] == ["python", "-m", f"services.{name}"]
        env = services[name]["environment"]
        for peer, (peer_host, peer_port) in DOCKER_TOPOLOGY.backends.items():
            assert env[f"HEALTHMESH_{peer.upper()}_ADDR"] == f"{peer_host}:{peer_port}"
    volumes = services["envoy"]["volumes"]
    assert "./envoy/envoy.docker.yaml:/etc/envoy/envoy.yaml:ro" in volumes
    assert f"./gen/healthmesh.binpb:{DOCKER_TOPOLOGY.descriptor_path}:ro" in volumes
    assert "8080:8080" in services["envoy"]["ports"]
    assert {"postgres", "redis"} <= set(services)

