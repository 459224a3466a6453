"""docker-compose's OpenTelemetry Collector, Jaeger and Prometheus point at the right services and
ports. The expected ports come from the code: the services' ports in the docker topology
(DOCKER_TOPOLOGY), the metrics offset of Settings, Envoy's admin port and where its tracer exports.
No Docker engine is needed: the files are parsed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from services.common.config import Settings
from services.common.contract import DESCRIPTOR_SET, public_services
from services.runner.envoy_config import DOCKER_TOPOLOGY, TRACES_CLUSTER, TraceExport, Topology, render, to_yaml
from services.runner.mesh import otlp_endpoint, real_clock_env

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
COLLECTOR = yaml.safe_load((REPO / "deploy" / "otel-collector.yaml").read_text())
PROMETHEUS = yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())
METRICS_OFFSET = Settings.model_fields["metrics_port_offset"].default
JAEGER_OTLP_GRPC_PORT = 4317  # Jaeger v2's own default OTLP receiver, not ours to configure


def mounted(service: str, path_in_repo: str) -> str:
    """Where `service` sees the repo's file (its read-only volume), failing if it is not mounted."""
    for volume in SERVICES[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source == f"./{path_in_repo}":
            assert (REPO / path_in_repo).is_file()
            return target
    raise AssertionError(f"{service} does not mount {path_in_repo}")


def receiver_port(protocol: str) -> int:
    endpoint = COLLECTOR["receivers"]["otlp"]["protocols"][protocol]["endpoint"]
    return int(endpoint.rsplit(":", 1)[1])


def test_the_stack_is_in_compose_with_its_configs_mounted_where_its_command_reads_them():
    collector, prometheus = SERVICES["otel-collector"], SERVICES["prometheus"]
    assert f"--config={mounted('otel-collector', 'deploy/otel-collector.yaml')}" in collector["command"]
    assert f"--config.file={mounted('prometheus', 'deploy/prometheus.yml')}" in prometheus["command"]
    assert "jaeger" in SERVICES and "16686:16686" in SERVICES["jaeger"]["ports"]  # its UI
    assert "9090:9090" in prometheus["ports"]


def test_services_export_to_the_collectors_receiver_for_their_protocol():
    for name in DOCKER_TOPOLOGY.backends:
        env = SERVICES[name]["environment"]
        target = otlp_endpoint(env)  # read as the runner and the SDK read these variables
        assert target is not None, f"{name} has no OTEL_EXPORTER_OTLP_ENDPOINT"
        assert target.host == "otel-collector"
        assert target.port == receiver_port("grpc" if target.protocol == "grpc" else "http")


def test_envoys_tracer_exports_to_the_collectors_grpc_receiver():
    traces = DOCKER_TOPOLOGY.traces
    assert traces is not None and traces.host in SERVICES and traces.host == "otel-collector"
    assert traces.port == receiver_port(traces.protocol)
    config = render(DOCKER_TOPOLOGY)
    cluster = next(c for c in config["static_resources"]["clusters"] if c["name"] == TRACES_CLUSTER)
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert (address["address"], address["port_value"]) == (traces.host, traces.port)
    assert "otel-collector" in SERVICES["envoy"]["depends_on"]


def test_the_collector_passes_traces_to_jaeger():
    pipeline = COLLECTOR["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    [exporter] = pipeline["exporters"]
    endpoint = COLLECTOR["exporters"][exporter]["endpoint"]
    host, port = urlsplit(f"//{endpoint}").hostname, urlsplit(f"//{endpoint}").port
    assert (host, port) == ("jaeger", JAEGER_OTLP_GRPC_PORT)
    assert set(pipeline.get("processors", [])) <= set(COLLECTOR.get("processors", {}))


def test_prometheus_scrapes_every_services_metrics_port_and_envoys_admin():
    jobs = {job["job_name"]: job for job in PROMETHEUS["scrape_configs"]}
    targets = {t for c in jobs["healthmesh"]["static_configs"] for t in c["targets"]}
    expected = {f"{host}:{port + METRICS_OFFSET}" for host, port in DOCKER_TOPOLOGY.backends.values()}
    assert targets == expected
    assert jobs["healthmesh"].get("metrics_path", "/metrics") == "/metrics"
    for name in DOCKER_TOPOLOGY.backends:  # each a compose service, listening beyond loopback
        assert SERVICES[name]["environment"]["HEALTHMESH_LISTEN_HOST"] == "0.0.0.0"
    envoy = jobs["envoy"]
    assert envoy["metrics_path"] == "/stats/prometheus"
    assert [t for c in envoy["static_configs"] for t in c["targets"]] == [f"envoy:{DOCKER_TOPOLOGY.admin_port}"]
    assert DOCKER_TOPOLOGY.admin_address == "0.0.0.0"  # reachable from Prometheus' container


def test_envoy_accepts_its_tracing_config(tmp_path):
    topology = Topology("127.0.0.1", 18080, "127.0.0.1", 19901, str(DESCRIPTOR_SET),
                        {s: ("127.0.0.1", 50051 + i) for i, s in enumerate(sorted(public_services()))},
                        traces=TraceExport("127.0.0.1", 4318, "http/protobuf"))
    config = tmp_path / "envoy.yaml"
    config.write_text(to_yaml(render(topology)))
    envoy = Path(sys.executable).parent / "envoy"
    result = subprocess.run([str(envoy), "--mode", "validate", "-c", str(config), "--base-id", "7702"],
                            capture_output=True, text=True, timeout=120, env=real_clock_env())
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
