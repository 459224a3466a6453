"""Assembles Auth: repository, use cases, servicers, and the local credential checks."""

from __future__ import annotations

from healthmesh.auth.v1 import auth_internal_service_pb2_grpc, auth_service_pb2_grpc

from services.auth.repository import SqlAuthRepository
from services.auth.secrets import Passwords
from services.auth.servicer import AuthInternalServicer, AuthServicer
from services.auth.service import AuthService
from services.common import readiness
from services.common.app import Built, revocation_watcher
from services.common.audit import AuditLog
from services.common.cache import Counters
from services.common.config import Settings
from services.common.credentials import AccessTokenVerifier, Authenticator
from services.common.db import create_engine
from services.common.pagination import PageTokens
from services.common.peers import Peers
from services.common.revocation import RevocationPublisher
from services.common.server import Runtime, ServiceSpec

_SVC = "/healthmesh.auth.v1.AuthService/"
SPEC = ServiceSpec(
    "auth",
    internal_services=("healthmesh.auth.v1.AuthInternalService",),
    anonymous_methods=frozenset(_SVC + m for m in ("Register", "Login", "RefreshToken", "Logout", "GetJwks")),
    # WriteAuditEvents carries other services' records: auditing it would add one of its own per batch.
    # Services call these all the time, with no user: their records would only be noise.
    unaudited_methods=frozenset({_SVC + "GetJwks", "/healthmesh.auth.v1.AuthInternalService/WriteAuditEvents",
                                 "/healthmesh.auth.v1.AuthInternalService/ListRevocations"}),
)


async def build(settings: Settings) -> Built:
    engine = create_engine(settings, "auth")
    repo = SqlAuthRepository(engine)
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism,
                          settings.password_hash_concurrency)
    counters = Counters(settings.redis_url)
    page_tokens = PageTokens.from_config(settings.page_token_keys, settings.service_token)
    publisher = RevocationPublisher(settings.redis_url)
    service = AuthService(repo, passwords, counters, settings, publisher=publisher)
    await service.load_signing_keys()

    async def local_jwks() -> list[dict]:
        return service.jwks()

    async def local_api_key(secret: str) -> tuple[str, str, str]:
        key = await service.authenticate_api_key(secret)
        return str(key.user_id), f"users/{key.user_id}/apiKeys/{key.id}", key.device

    tokens = AccessTokenVerifier(local_jwks, settings.token_issuer, settings.jwks_cache_seconds)

    async def local_revocations(after, since):
        return await service.list_revocations(after, since, None, 1_000_000)

    authenticator = Authenticator(tokens, local_api_key, settings.service_token, settings.api_key_cache_seconds,
                                  revocation_watcher(settings, local_revocations))
    runtime = Runtime(SPEC, authenticator, AuditLog(service.write_audit, settings.audit_flush_seconds),
                      Peers(settings, "auth"), readiness_check=readiness.database(settings.database_url, SPEC.name),
                      trusted_proxies=settings.trusted_proxies)

    def add_servicers(server) -> None:
        auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(service, page_tokens), server)
        auth_internal_service_pb2_grpc.add_AuthInternalServiceServicer_to_server(AuthInternalServicer(service), server)

    async def close_passwords() -> None:
        passwords.close()

    return Built(runtime, add_servicers, [engine.dispose, counters.close, publisher.close, close_passwords])
