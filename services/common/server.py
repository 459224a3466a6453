"""The aio server every service runs: health, reflection, the call interceptor, graceful stop.

`create_server()` returns `(server, port)` and is what tests use with port 0; `serve()` adds
signal handling for a real process.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection, reflection_pb2

from services.common import metrics, telemetry
from services.common.audit import AuditLog
from services.common.contract import DESCRIPTOR_SET, public_services
from services.common.credentials import Authenticator
from services.common.interceptor import CallInterceptor
from services.common.peers import Peers
from services.common.readiness import Check, Readiness

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class ServiceSpec:
    """What distinguishes one service's server from another's."""

    name: str  # "auth", "tracking", ...
    internal_services: tuple[str, ...] = ()
    anonymous_methods: frozenset[str] = frozenset()  # full paths callable without credentials
    unaudited_methods: frozenset[str] = frozenset()
    # The full paths a device-scoped API key may call (each checks the key's device itself); any
    # other call with such a key is PERMISSION_DENIED, in every service.
    device_key_methods: frozenset[str] = frozenset()

    @property
    def public_service(self) -> str:
        return public_services()[self.name]

    @property
    def own_services(self) -> tuple[str, ...]:
        return (self.public_service, *self.internal_services)


@dataclass
class Runtime:
    """What a running service holds besides its servicers."""

    spec: ServiceSpec
    authenticator: Authenticator
    audit: AuditLog
    peers: Peers
    health: HealthServicer = field(default_factory=HealthServicer)
    shutdown: asyncio.Event = field(default_factory=asyncio.Event)
    # What the service needs before it reports SERVING (services/common/readiness.py); None: nothing.
    readiness_check: Check | None = None
    # The peers whose x-forwarded-for names the client (Envoy's addresses), comma-separated.
    trusted_proxies: str = "127.0.0.1,::1"
    readiness: Readiness | None = None  # made by create_server


class MeshHealth(HealthServicer):
    """Answers for this service's own names and forwards Check for the other services' names to
    them, so one backend behind Envoy gives every service's real status."""

    def __init__(self, own: tuple[str, ...], peers: Peers) -> None:
        super().__init__()
        self._own = set(own) | {""}
        self._peers = peers

    async def Check(self, request, context):
        peer = self._peers.service_for_health_name(request.service)
        if request.service in self._own or peer is None:
            return await super().Check(request, context)
        stub = health_pb2_grpc.HealthStub(self._peers.channel(peer))
        try:
            return await stub.Check(request, timeout=2.0)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                await context.abort(grpc.StatusCode.NOT_FOUND, exc.details() or "unknown service")
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.NOT_SERVING)


class ReflectionPool:
    """The descriptor set plus health and reflection, as reflection serves them. Python's pool does
    not resolve method names (`pkg.Service.Method`), which `grpcurl describe` asks for, so a
    method resolves to its service's file."""

    def __init__(self, path: Path = DESCRIPTOR_SET) -> None:
        self._pool = descriptor_pool.DescriptorPool()
        for proto in descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file:
            self._pool.Add(proto)
        for module in (health_pb2, reflection_pb2):
            proto = descriptor_pb2.FileDescriptorProto()
            module.DESCRIPTOR.CopyToProto(proto)
            self._pool.Add(proto)

    def FindFileContainingSymbol(self, symbol: str):  # noqa: N802 (the pool's own API)
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service, _, method = symbol.rpartition(".")
            found = self._pool.FindServiceByName(service) if service else None
            if found is None or method not in found.methods_by_name:
                raise
            return found.file

    def __getattr__(self, name: str):
        return getattr(self._pool, name)


async def create_server(
    runtime: Runtime,
    add_servicers: Callable[[grpc.aio.Server], None],
    host: str = "127.0.0.1",
    port: int = 0,
) -> tuple[grpc.aio.Server, int]:
    spec = runtime.spec
    server = grpc.aio.server(
        # Tracing's first (when on), so the call's span is current in ours and in the handler.
        interceptors=[*telemetry.server_interceptors(),
                      CallInterceptor(spec, runtime.authenticator, runtime.audit, runtime.trusted_proxies)],
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ],
    )
    add_servicers(server)
    health = MeshHealth(spec.own_services, runtime.peers)
    runtime.health = health
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    # Reflection describes the whole public mesh, so one backend can serve it through Envoy.
    # Internal services are left out: they are not part of what the public listener offers.
    names = [*public_services().values(),
             health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server, pool=ReflectionPool())
    bound = server.add_insecure_port(f"{host}:{port}")
    # Health is readiness: NOT_SERVING until the check passes (a new HealthServicer says SERVING).
    runtime.readiness = Readiness(health, ("", *spec.own_services), runtime.readiness_check)
    await runtime.readiness.refresh()
    await server.start()
    if runtime.authenticator.revocations is not None:
        await runtime.authenticator.revocations.start()
    runtime.readiness.start(runtime.shutdown)
    return server, bound


async def stop_server(server: grpc.aio.Server, runtime: Runtime, grace_seconds: float,
                      audit_drain_seconds: float = 5.0) -> None:
    """NOT_SERVING first, so Envoy stops routing here; then drain calls and streams by a deadline.
    Then every audit record goes to the store (the outbox), and the outbox gets a last try of at most
    `audit_drain_seconds` at reaching Auth; what is left there is sent after the next start."""
    await runtime.health.enter_graceful_shutdown()
    runtime.shutdown.set()  # long streams watch this and end with UNAVAILABLE, which clients resume from
    if runtime.readiness is not None:
        await runtime.readiness.close()
    await server.stop(grace_seconds)
    if runtime.authenticator.revocations is not None:
        await runtime.authenticator.revocations.close()
    await runtime.audit.close(audit_drain_seconds)
    await runtime.peers.close()


async def serve(
    runtime: Runtime,
    add_servicers: Callable[[grpc.aio.Server], None],
    host: str,
    port: int,
    grace_seconds: float,
    on_stop: Callable[[], Awaitable[None]] | None = None,
    metrics_addr: tuple[str, int] | None = None,
) -> None:
    """`metrics_addr`: where this process serves /metrics (Settings.metrics_addr); None: nowhere."""
    server, bound = await create_server(runtime, add_servicers, host, port)
    runtime.audit.start()
    log.info("%s serving on %s:%d", runtime.spec.name, host, bound)
    scrape = metrics.serve(*metrics_addr) if metrics_addr else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("%s stopping", runtime.spec.name)
    await stop_server(server, runtime, grace_seconds)
    if scrape is not None:
        scrape.shutdown()
    metrics.process_stopped()
    if on_stop is not None:
        await on_stop()
