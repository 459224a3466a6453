"""What the contracts say, read from the committed descriptor set: services, methods, HTTP rules.

Envoy's configuration and the contract tests are both derived from this, so a new RPC is routed
and pinned without editing a list by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from google.api import annotations_pb2, http_pb2  # noqa: F401  (registers the google.api.http extension)
from google.protobuf import descriptor_pb2

DESCRIPTOR_SET = Path(__file__).resolve().parents[2] / "gen" / "healthmesh.binpb"


@dataclass(frozen=True)
class Method:
    package: str  # healthmesh.auth.v1
    service: str  # AuthService
    name: str  # GetUser
    client_streaming: bool
    server_streaming: bool
    http_verb: str  # GET, POST, PATCH, DELETE, or "" without an HTTP rule
    http_path: str
    http_body: str

    @property
    def service_full_name(self) -> str:
        return f"{self.package}.{self.service}"

    @property
    def path(self) -> str:
        return f"/{self.package}.{self.service}/{self.name}"

    @property
    def internal(self) -> bool:
        return self.service.endswith("InternalService")

    @property
    def streaming(self) -> bool:
        return self.client_streaming or self.server_streaming

    @property
    def owner(self) -> str:
        """The service that serves it: healthmesh.<owner>.v1."""
        return self.package.split(".")[1]


def _http_rule(options: descriptor_pb2.MethodOptions) -> tuple[str, str, str]:
    if not options.HasExtension(annotations_pb2.http):
        return "", "", ""
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    kind = rule.WhichOneof("pattern")
    if kind is None or kind == "custom":
        return "", "", ""
    return kind.upper(), getattr(rule, kind), rule.body


@cache
def methods(path: Path = DESCRIPTOR_SET) -> list[Method]:
    files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    found = []
    for f in files.file:
        if not f.package.startswith("healthmesh."):
            continue
        for service in f.service:
            for m in service.method:
                verb, http_path, body = _http_rule(m.options)
                found.append(Method(f.package, service.name, m.name, m.client_streaming, m.server_streaming,
                                    verb, http_path, body))
    return found


@cache
def public_services(path: Path = DESCRIPTOR_SET) -> dict[str, str]:
    """owner -> full name of its public service."""
    return {m.owner: m.service_full_name for m in methods(path) if not m.internal}
