"""Process entry points: settings, logging, migrations, runtime, serve until SIGTERM."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import logs, telemetry
from services.common.audit import AuditLog
from services.common.audit_outbox import AuditOutbox, OutboxDrainer
from services.common.config import Settings
from services.common.credentials import AccessTokenVerifier, Authenticator
from services.common.db import migrate
from services.common.erasure import EraseUser, ErasureConsumer
from services.common.peers import Peers
from services.common.revocation import Kind, RevocationSource, RevocationWatcher
from services.common.server import Runtime, ServiceSpec, serve


@dataclass
class Built:
    """A service ready to serve: its runtime, how to add its servicers, and what to close at the end."""

    runtime: Runtime
    add_servicers: Callable[[grpc.aio.Server], None]
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close(self) -> None:
        for closer in reversed(self.closers):
            await closer()


def remote_runtime(spec: ServiceSpec, settings: Settings, engine: AsyncEngine | None = None) -> Runtime:
    """The runtime of a service other than Auth: tokens, API keys and audit go through Auth; audit
    records wait in the service's outbox when it has a database (`engine`)."""
    peers = Peers(settings, spec.name)
    tokens = AccessTokenVerifier(peers.fetch_jwks, settings.token_issuer, settings.jwks_cache_seconds)
    authenticator = Authenticator(tokens, peers.authenticate_api_key, settings.service_token,
                                  settings.api_key_cache_seconds, revocation_watcher(settings, peers.list_revocations))
    return Runtime(spec, authenticator, remote_audit_log(spec, settings, peers, engine), peers,
                   trusted_proxies=settings.trusted_proxies)


def remote_audit_log(spec: ServiceSpec, settings: Settings, peers: Peers, engine: AsyncEngine | None) -> AuditLog:
    """Into <schema>.audit_outbox, then on to Auth, for a service with a database (records survive
    a restart); straight to Auth for one without (they wait in memory while Auth is down)."""
    if engine is None:
        return AuditLog(peers.write_audit, settings.audit_flush_seconds)
    outbox = AuditOutbox(engine, spec.name)
    return AuditLog(outbox.put, settings.audit_flush_seconds, forwarder=OutboxDrainer(outbox, peers.write_audit))


def revocation_watcher(settings: Settings, source: RevocationSource) -> RevocationWatcher:
    return RevocationWatcher(source, settings.revocation_horizon, database_url=settings.database_url,
                             redis_url=settings.redis_url, staleness_seconds=settings.revocation_staleness_seconds,
                             poll_seconds=settings.revocation_poll_seconds)


def consume_erasures(runtime: Runtime, engine: AsyncEngine, erase: EraseUser) -> Callable[[], Awaitable[None]]:
    """Starts erasing deleted users' data in this service's schema (services/common/erasure.py);
    returns what stops it."""
    revocations = runtime.authenticator.revocations
    consumer = ErasureConsumer(engine, runtime.spec.name,
                               lambda after: runtime.peers.list_revocations(after, kind=Kind.USER),
                               erase, runtime.audit, runtime.spec.name)
    if revocations is not None:
        revocations.subscribe(consumer.notify)
    consumer.start()
    return consumer.close


# Imports allocate objects by the million (a dict and a record per point) and hardly ever a
# cycle: collecting every 700 allocations, as Python does by default, cost about a tenth of the
# parse of a re-sent year (measured on its own). Collections come every 50,000 allocations, and
# what start-up made is frozen out of them.
GC_THRESHOLDS = (50_000, 20, 100)


def main(spec: ServiceSpec, build: Callable[[Settings], Awaitable[Built]]) -> None:
    settings = Settings()
    logs.setup(spec.name, settings.log_level, settings.access_log_read_sample_every)
    gc.set_threshold(*GC_THRESHOLDS)
    telemetry.setup(spec.name, settings.traces_dir)  # (before any channel, server or engine is made)

    async def run() -> None:
        await migrate(settings.database_url, spec.name)
        built = await build(settings)
        gc.freeze()
        await serve(built.runtime, built.add_servicers, settings.listen_host, settings.port(spec.name),
                    settings.shutdown_grace_seconds, built.close, settings.metrics_addr(spec.name))

    try:
        asyncio.run(run())
    finally:
        telemetry.shutdown()  # the spans still buffered

