"""Envoy's configuration, rendered from the contracts for the local run and for docker-compose.

`python -m services.runner.envoy_config` rewrites envoy/envoy.docker.yaml (a test checks it is
current). Routes come from the descriptor set: each public service's gRPC prefix goes to its
cluster; streaming methods get no route timeout; read-only methods (HTTP GET) are retried on
UNAVAILABLE. Internal services have no route, so the public listener answers them 404
(UNIMPLEMENTED for gRPC clients). Health and reflection for the whole mesh go to any healthy
service, which forwards per-service health checks to the service named. Envoy answers
GET /v1/openapi.json (gen/openapi.json) and the Swagger UI page at /docs (envoy/docs/) itself,
from files it reads at start, without credentials.
"""

from __future__ import annotations

import base64
import ipaddress
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.common.contract import Method, methods
from services.runner import unknown_fields

REPO = Path(__file__).resolve().parents[2]
DOCKER_CONFIG = REPO / "envoy" / "envoy.docker.yaml"
OPENAPI = REPO / "gen" / "openapi.json"
DOCS_DIR = REPO / "envoy" / "docs"
# The files Envoy serves itself: URL path -> (file under docs_dir, or the OpenAPI document; content type).
STATIC_FILES = {
    "/v1/openapi.json": ("", "application/json"),
    "/docs": ("index.html", "text/html; charset=utf-8"),
    "/docs/swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "/docs/swagger-ui.css": ("swagger-ui.css", "text/css; charset=utf-8"),
    "/docs/favicon-32x32.png": ("favicon-32x32.png", "image/png"),
}
# Direct responses are capped at 4 KiB by default; Swagger UI's bundle is 1.7 MB.
MAX_STATIC_FILE_BYTES = 4 * 1024 * 1024
TRANSCODER_FILTER = "envoy.filters.http.grpc_json_transcoder"
MAX_REQUEST_BODY_BYTES = 32 * 1024 * 1024
BUFFER_FILTER = "envoy.filters.http.buffer"
STRIPPED_HEADERS = ["x-healthmesh-service-token", "x-healthmesh-user", "x-healthmesh-service"]
# Services take the client's address from x-forwarded-for when the call comes from Envoy. Envoy
# sets it to the downstream peer itself, whatever the client sent: with use_remote_address it
# would append to the client's header, and for a loopback peer append its own host address
# instead of the peer's (services saw 127.0.0.1 as 192.0.2.2, this machine's address).
CLIENT_ADDRESS_HEADER = {"header": {"key": "x-forwarded-for", "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"},
                         "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}


# The cluster Envoy's tracer exports to, and the service name its spans carry.
TRACES_CLUSTER = "otel_collector"
ENVOY_SERVICE_NAME = "envoy"
OTLP_HTTP_TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class TraceExport:
    """Where Envoy sends its spans by OTLP: a collector's gRPC port, or an OTLP/HTTP receiver."""

    host: str
    port: int
    protocol: str = "grpc"  # or "http/protobuf" (POST /v1/traces), as OTEL_EXPORTER_OTLP_PROTOCOL names them


@dataclass(frozen=True)
class Topology:
    listen_address: str
    http_port: int
    admin_address: str
    admin_port: int
    descriptor_path: str
    backends: dict[str, tuple[str, int]]  # service -> (host, port)
    replicas: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # service -> its other processes
    dns: bool = False  # docker: backends are host names
    openapi_path: str = str(OPENAPI)
    docs_dir: str = str(DOCS_DIR)
    traces: TraceExport | None = None  # None: no tracing in Envoy (a client's traceparent passes untouched)


def _cluster(name: str, endpoints: list[tuple[str, int]], health_name: str, dns: bool) -> dict:
    return {
        "name": name,
        "type": "STRICT_DNS" if dns else "STATIC",
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {
                    "connection_keepalive": {"interval": "30s", "timeout": "5s"}}},
            }
        },
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": h, "port_value": p}}}} for h, p in endpoints
        ]}]},
        "health_checks": [{
            "timeout": "1s", "interval": "1s", "no_traffic_interval": "2s",
            "unhealthy_threshold": 2, "healthy_threshold": 1,
            "grpc_health_check": {"service_name": health_name},
        }],
        "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
    }


def _stream_route(match: dict, cluster: str) -> dict:
    """No timeout and no request buffering: the stream flows as long as it needs."""
    return {"match": match, "route": {"cluster": cluster, "timeout": "0s"}, "typed_per_filter_config": {
        BUFFER_FILTER: {"@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute",
                        "disabled": True}}}


def _static_routes(topology: Topology) -> list[dict]:
    """Files Envoy answers with itself; the transcoder (which would refuse a path that is no RPC's) is off."""
    routes = []
    for path, (name, content_type) in STATIC_FILES.items():
        filename = f"{topology.docs_dir}/{name}" if name else topology.openapi_path
        routes.append({
            "match": {"path": path},
            "direct_response": {"status": 200, "body": {"filename": filename}},
            "response_headers_to_add": [
                {"header": {"key": "content-type", "value": content_type},
                 "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
                {"header": {"key": "cache-control", "value": "no-cache"},
                 "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
            "typed_per_filter_config": {TRANSCODER_FILTER: {
                "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": True}},
        })
    return routes


def _routes(all_methods: list[Method], topology: Topology) -> list[dict]:
    public = [m for m in all_methods if not m.internal]
    routes: list[dict] = _static_routes(topology)
    for m in public:
        if m.streaming:
            # Streams live as long as they need; heartbeats keep them under the idle timeout.
            routes.append(_stream_route({"path": m.path}, m.owner))
    for m in public:
        if not m.streaming and m.http_verb == "GET":
            routes.append({"match": {"path": m.path}, "route": {
                "cluster": m.owner, "timeout": "60s",
                "retry_policy": {"retry_on": "unavailable,reset,connect-failure,refused-stream", "num_retries": 2}}})
    for service in sorted({m.service_full_name: m.owner for m in public}.items()):
        routes.append({"match": {"prefix": f"/{service[0]}/"}, "route": {
            "cluster": service[1], "timeout": "60s",
            # Only failures where the request never reached the service are safe to retry here.
            "retry_policy": {"retry_on": "connect-failure,refused-stream", "num_retries": 2}}})
    for prefix in ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
                   "/grpc.reflection.v1.ServerReflection/"):
        routes.append(_stream_route({"prefix": prefix}, "mesh"))
    # Everything else under healthmesh.* (the internal services) is refused here.
    routes.append({"match": {"prefix": "/healthmesh."}, "direct_response": {
        "status": 404, "body": {"inline_string": "not served on the public listener"}}})
    return routes


# Errors Envoy makes itself take the services' shape (google.rpc.Status, with an ErrorInfo in
# `details`, domain GATEWAY_DOMAIN). HTTP status -> (canonical code over REST, reason); over gRPC
# Envoy's own mapping of the status stands (a 404 is UNIMPLEMENTED, 503 UNAVAILABLE), except where
# GRPC_CODES names a truer code.
GATEWAY_DOMAIN = "gateway.healthmesh"
LOCAL_REPLIES = {
    400: ("INVALID_ARGUMENT", "MALFORMED_REQUEST"),  # broken JSON, a bad timestamp or enum, unknown parameter
    401: ("UNAUTHENTICATED", "UNAUTHENTICATED"),
    403: ("PERMISSION_DENIED", "PERMISSION_DENIED"),
    404: ("NOT_FOUND", "NO_SUCH_METHOD"),  # no RPC has this path and HTTP method
    408: ("DEADLINE_EXCEEDED", "REQUEST_TIMEOUT"),
    413: ("RESOURCE_EXHAUSTED", "REQUEST_TOO_LARGE"),
    429: ("RESOURCE_EXHAUSTED", "RATE_LIMITED"),
    431: ("RESOURCE_EXHAUSTED", "HEADERS_TOO_LARGE"),
    500: ("INTERNAL", "GATEWAY_ERROR"),
    501: ("UNIMPLEMENTED", "UNIMPLEMENTED"),
    502: ("UNAVAILABLE", "BAD_GATEWAY"),
    503: ("UNAVAILABLE", "SERVICE_UNAVAILABLE"),
    504: ("DEADLINE_EXCEEDED", "UPSTREAM_TIMEOUT"),
}
OTHER_LOCAL_REPLY = ("UNKNOWN", "GATEWAY_ERROR")
# Envoy's HTTP -> gRPC mapping (Grpc::Utility::httpToGrpcStatus), with 400 and 413 corrected.
GRPC_CODES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "UNIMPLEMENTED",
              413: "RESOURCE_EXHAUSTED", 429: "UNAVAILABLE", 431: "RESOURCE_EXHAUSTED", 502: "UNAVAILABLE",
              503: "UNAVAILABLE", 504: "UNAVAILABLE"}
# A gRPC caller's status message must equal the Status in grpc-status-details-bin (clients check),
# which is a fixed header: these callers get a fixed message per status.
GRPC_MESSAGES = {404: "no such method on the public listener",
                 413: f"the request is larger than {MAX_REQUEST_BODY_BYTES:,} bytes"}
# The caller's own content-type, copied before any filter runs: the transcoder rewrites a REST call's
# to application/grpc before it can fail, so this is how a local reply tells gRPC callers apart.
REQUEST_CONTENT_TYPE = "x-healthmesh-request-content-type"
# Set by the transcoder on the calls it transcodes (the REST path); services name fields in JSON for
# those. Taken from clients first, so it means "came through the transcoder" only.
TRANSCODED_HEADER = "x-envoy-original-path"


def _status_filter(op: str, status: int) -> dict:
    return {"status_code_filter": {"comparison": {
        "op": op, "value": {"default_value": status, "runtime_key": f"healthmesh.local_reply_{op.lower()}_{status}"}}}}


def _grpc_caller() -> dict:
    return {"header_filter": {"header": {"name": REQUEST_CONTENT_TYPE,
                                         "string_match": {"prefix": "application/grpc"}}}}


def _metadata(status: int) -> dict:
    if status == 404:
        return {"method": "%REQ(:method)%"}  # the message names the path
    if status == 413:
        return {"limit_bytes": str(MAX_REQUEST_BODY_BYTES)}
    return {}


def _grpc_details(status: int, code: str, reason: str, message: str) -> str:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=GATEWAY_DOMAIN,
                                          metadata={k: v for k, v in _metadata(status).items() if "%" not in v}))
    return base64.b64encode(status_pb2.Status(code=code_pb2.Code.Value(code), message=message,
                                              details=[info]).SerializeToString()).decode()


def _grpc_mapper(status_filter: dict, status: int, reason: str) -> dict:
    code = GRPC_CODES.get(status, "UNKNOWN")
    message = GRPC_MESSAGES.get(status, f"the gateway answered HTTP {status}" if status else
                                "the gateway could not complete the call")
    headers = {"grpc-status": str(code_pb2.Code.Value(code)),
               "grpc-status-details-bin": _grpc_details(status, code, reason, message)}
    return {"filter": {"and_filter": {"filters": [status_filter, _grpc_caller()]}},
            "headers_to_add": [{"header": {"key": k, "value": v}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
                               for k, v in headers.items()],
            "body": {"inline_string": message}}


def _rest_mapper(status_filter: dict, status: int, code: str, reason: str) -> dict:
    return {"filter": status_filter, "body_format_override": {"json_format": {
        "code": code_pb2.Code.Value(code), "message": "%LOCAL_REPLY_BODY%", "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": GATEWAY_DOMAIN,
            "metadata": _metadata(status)}]}}}


def _local_reply() -> dict:
    mappers = [unknown_fields.local_reply_mapper()]  # its answer is already a Status: passed as it is
    for status, (code, reason) in LOCAL_REPLIES.items():
        mappers.append(_grpc_mapper(_status_filter("EQ", status), status, reason))
        mappers.append(_rest_mapper(_status_filter("EQ", status), status, code, reason))
    other = _status_filter("GE", 400)
    mappers.append(_grpc_mapper(other, 0, OTHER_LOCAL_REPLY[1]))
    mappers.append(_rest_mapper(other, 0, *OTHER_LOCAL_REPLY))
    return {"mappers": mappers}


def _early_headers() -> list[dict]:
    """Before any filter: a client's own copies of our marker headers go, the content-type is noted."""
    return [{"name": "envoy.http.early_header_mutation.header_mutation", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
        "mutations": [{"remove": REQUEST_CONTENT_TYPE}, {"remove": TRANSCODED_HEADER},
                      {"append": {"header": {"key": REQUEST_CONTENT_TYPE, "value": "%REQ(content-type)%"},
                                  "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}}]}}]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _traces_cluster(traces: TraceExport) -> dict:
    cluster = {
        "name": TRACES_CLUSTER, "type": "STATIC" if _is_address(traces.host) else "STRICT_DNS",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": TRACES_CLUSTER, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": traces.host, "port_value": traces.port}}}}]}]},
    }
    if traces.protocol == "grpc":
        cluster["typed_extension_protocol_options"] = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http2_protocol_options": {}}}}
    return cluster


def _tracing(traces: TraceExport) -> dict:
    """The HTTP connection manager's tracing: every request sampled (a client's traceparent is
    continued, with its sampled flag), and an upstream span per call, whose id the service sees as
    its parent."""
    exporter = {"service_name": ENVOY_SERVICE_NAME}
    if traces.protocol == "grpc":
        exporter["grpc_service"] = {"envoy_grpc": {"cluster_name": TRACES_CLUSTER}, "timeout": "1s"}
    else:
        exporter["http_service"] = {"http_uri": {
            "uri": f"http://{traces.host}:{traces.port}{OTLP_HTTP_TRACES_PATH}", "cluster": TRACES_CLUSTER,
            "timeout": "1s"}}
    return {
        "random_sampling": {"value": 100.0},
        "spawn_upstream_span": True,
        "provider": {"name": "envoy.tracers.opentelemetry", "typed_config": {
            "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig", **exporter}},
    }


# Envoy's OpenTelemetry tracer exports once 5 spans are buffered (or every 5 s): with the runner's
# receiver, a request to a Python process (a benchmark's own, with tracing on) every 2 or 3 calls.
# Every 5 s, or 256 spans, costs a tenth of that and delays no span longer than before.
TRACING_RUNTIME = {"layers": [
    {"name": "static", "static_layer": {"tracing.opentelemetry.min_flush_spans": 256}},
    {"name": "admin", "admin_layer": {}},
]}


# x-request-id stays as the client sent it (or as Envoy made it): by default Envoy's tracing
# rewrites a digit of it to carry the sampling decision, and samples by it instead of at random.
REQUEST_ID_EXTENSION = {"typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig",
    "pack_trace_reason": False, "use_request_id_for_trace_sampling": False}}


def render(topology: Topology, all_methods: list[Method] | None = None) -> dict:
    all_methods = methods() if all_methods is None else all_methods
    services = sorted({m.service_full_name for m in all_methods if not m.internal})
    owners = {m.owner: m.service_full_name for m in all_methods if not m.internal}
    clusters = [_cluster(owner, [topology.backends[owner], *topology.replicas.get(owner, [])], owners[owner],
                         topology.dns) for owner in sorted(owners)]
    clusters.append(_cluster("mesh", [topology.backends[o] for o in sorted(owners)], "", topology.dns))
    if topology.traces is not None:
        clusters.append(_traces_cluster(topology.traces))
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "public",
        "codec_type": "AUTO",
        "use_remote_address": True,
        "xff_num_trusted_hops": 0,  # no proxy in front of Envoy: the peer is the client
        "stream_idle_timeout": "300s",
        "request_timeout": "0s",
        "generate_request_id": True,
        "request_id_extension": REQUEST_ID_EXTENSION,
        "http2_protocol_options": {"max_concurrent_streams": 1000},
        "local_reply_config": _local_reply(),
        "early_header_mutation_extensions": _early_headers(),
        "route_config": {
            "name": "public",
            "request_headers_to_remove": STRIPPED_HEADERS,
            "request_headers_to_add": [CLIENT_ADDRESS_HEADER],
            "max_direct_response_body_size_bytes": MAX_STATIC_FILE_BYTES,
            "virtual_hosts": [{"name": "healthmesh", "domains": ["*"], "routes": _routes(all_methods, topology)}],
        },
        "http_filters": [
            {"name": "envoy.filters.http.health_check", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck",
                "pass_through_mode": False,
                "headers": [{"name": ":path", "string_match": {"exact": "/healthz"}}],
                "cluster_min_healthy_percentages": {o: {"value": 100.0} for o in sorted(owners)},
            }},
            # Before the transcoder, which drops what its messages lack: refuses unknown body fields.
            *unknown_fields.http_filters(MAX_REQUEST_BODY_BYTES),
            {"name": TRANSCODER_FILTER, "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
                "proto_descriptor": topology.descriptor_path,
                "services": services,
                "convert_grpc_status": True,
                "case_insensitive_enum_parsing": True,
                "query_param_unescape_plus": True,  # `?source=Apple+Watch` means "Apple Watch"
                "max_request_body_size": MAX_REQUEST_BODY_BYTES,
                "max_response_body_size": MAX_REQUEST_BODY_BYTES,
                "request_validation_options": {"reject_unknown_method": True,
                                               "reject_unknown_query_parameters": True},
                "print_options": {"add_whitespace": False, "always_print_primitive_fields": True,
                                  "always_print_enums_as_ints": False, "preserve_proto_field_names": False},
            }},
            # After the transcoder, so routes (and per-route exceptions for streams) are known: caps
            # unary bodies, JSON or gRPC, and answers 413 above the cap. Streams pass unbuffered.
            {"name": BUFFER_FILTER, "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
                "max_request_bytes": MAX_REQUEST_BODY_BYTES,
            }},
            {"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
        ],
    }
    bootstrap = {
        "admin": {"address": {"socket_address": {"address": topology.admin_address,
                                                 "port_value": topology.admin_port}}},
    }
    if topology.traces is not None:
        hcm["tracing"] = _tracing(topology.traces)
        bootstrap["layered_runtime"] = TRACING_RUNTIME
    return {
        **bootstrap,
        "static_resources": {
            "listeners": [{
                "name": "public",
                "address": {"socket_address": {"address": topology.listen_address, "port_value": topology.http_port}},
                "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                "typed_config": hcm}]}],
            }],
            "clusters": clusters,
        },
    }


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True


def _literal_blocks(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """Multi-line strings (the Lua filter's code) as literal blocks, so the docker config reads as code."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_NoAliases.add_representer(str, _literal_blocks)


def to_yaml(config: dict) -> str:
    header = "# Generated by `python -m services.runner.envoy_config` from the contracts; do not edit.\n"
    return header + yaml.dump(config, Dumper=_NoAliases, sort_keys=False, width=120)


DOCKER_TOPOLOGY = Topology(
    listen_address="0.0.0.0", http_port=8080, admin_address="0.0.0.0", admin_port=9901,
    descriptor_path="/etc/envoy/healthmesh.binpb",
    backends={s: (s, 50051) for s in ("auth", "tracking", "device", "ingest", "insight")}, dns=True,
    openapi_path="/etc/envoy/openapi.json", docs_dir="/etc/envoy/docs",
    # docker-compose's collector (deploy/otel-collector.yaml), by OTLP/gRPC.
    traces=TraceExport("otel-collector", 4317, "grpc"),
)


if __name__ == "__main__":
    DOCKER_CONFIG.write_text(to_yaml(render(DOCKER_TOPOLOGY)))
    sys.stdout.write(f"wrote {DOCKER_CONFIG.relative_to(REPO)}\n")
