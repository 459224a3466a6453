"""Revocation reaches another service at once: Auth and a real Tracking over gRPC, real PostgreSQL.

Each case revokes through Auth, then polls Tracking (which verifies access tokens locally and
caches API keys) until the credential is refused, and prints the delay it saw; the bound is
checked from outside, so no duration is asserted here. No Redis: PostgreSQL NOTIFY is the path.
"""

from __future__ import annotations

import time
import uuid

import grpc
import pytest
from healthmesh.auth.v1 import (
    api_key_pb2, auth_internal_service_pb2, auth_internal_service_pb2_grpc, auth_service_pb2,
    auth_service_pb2_grpc,
)
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc

from services.common.server import create_server, stop_server
from tests.integration.conftest import SERVICE_TOKEN, make_settings

PASSWORD = "correct horse battery"
POLL_LIMIT_SECONDS = 15  # a bound for the loop, not a target: the delay seen is printed


@pytest.fixture
async def mesh(auth_harness, migrated_dsn):
    from services.tracking.app import build

    settings = make_settings(migrated_dsn, auth_addr=f"127.0.0.1:{auth_harness.port}",
                             revocation_poll_seconds=600)  # so only NOTIFY can explain a fast refusal
    built = await build(settings)
    server, port = await create_server(built.runtime, built.add_servicers)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield (auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel),
           tracking_service_pb2_grpc.TrackingServiceStub(channel), built)
    await channel.close()
    await stop_server(server, built.runtime, 0.1)
    await built.close()


def bearer(credential: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {credential}"),)


async def user(auth):
    email = f"u{uuid.uuid4().hex[:10]}@example.org"
    await auth.Register(auth_service_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="Ada"))
    return email, await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))


async def works(tracking, credential: str) -> bool:
    try:
        await tracking.ListSamples(tracking_service_pb2.ListSamplesRequest(parent="users/me"),
                                   metadata=bearer(credential))
        return True
    except grpc.aio.AioRpcError as err:
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err.details()
        return False


async def refused_after(tracking, credential: str, what: str) -> float:
    """Polls until Tracking refuses the credential; returns (and prints) how long that took."""
    start = time.monotonic()
    while await works(tracking, credential):
        assert time.monotonic() - start < POLL_LIMIT_SECONDS, f"{what}: still accepted"
    delay = time.monotonic() - start
    print(f"{what}: refused by tracking {delay * 1000:.1f} ms after auth answered")
    return delay


async def test_deleting_a_user_ends_their_tokens_and_api_keys_everywhere(mesh):
    auth, tracking, _ = mesh
    _, session = await user(auth)
    key = await auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="watch")), metadata=bearer(session.access_token))
    assert await works(tracking, session.access_token) and await works(tracking, key.secret)  # the key is cached now
    await auth.DeleteUser(auth_service_pb2.DeleteUserRequest(name="users/me"), metadata=bearer(session.access_token))
    await refused_after(tracking, session.access_token, "deleted user's access token")
    await refused_after(tracking, key.secret, "deleted user's API key")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await auth.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=bearer(session.access_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_revoked_api_key_is_refused_at_once_despite_the_cache(mesh):
    auth, tracking, _ = mesh
    _, session = await user(auth)
    md = bearer(session.access_token)
    key = await auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="exporter")), metadata=md)
    other = await auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="other")), metadata=md)
    assert await works(tracking, key.secret)
    await auth.DeleteApiKey(auth_service_pb2.DeleteApiKeyRequest(name=key.api_key.name), metadata=md)
    await refused_after(tracking, key.secret, "revoked API key")
    assert await works(tracking, other.secret) and await works(tracking, session.access_token)


async def test_refresh_token_reuse_ends_the_sessions_access_tokens(mesh):
    auth, tracking, _ = mesh
    _, session = await user(auth)
    _, elsewhere = await user(auth)
    rotated = await auth.RefreshToken(auth_service_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    assert await works(tracking, session.access_token) and await works(tracking, rotated.access_token)
    with pytest.raises(grpc.aio.AioRpcError):  # the spent token again: someone holds a copy
        await auth.RefreshToken(auth_service_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    await refused_after(tracking, session.access_token, "reused family's first access token")
    await refused_after(tracking, rotated.access_token, "reused family's rotated access token")
    assert await works(tracking, elsewhere.access_token)  # another user's session is untouched


async def test_logout_ends_the_access_tokens_of_its_session_only(mesh):
    auth, tracking, _ = mesh
    email, session = await user(auth)
    second = await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
    await auth.Logout(auth_service_pb2.LogoutRequest(refresh_token=session.refresh_token))
    await refused_after(tracking, session.access_token, "logged-out session's access token")
    assert await works(tracking, second.access_token)


async def test_changing_the_password_ends_every_session_and_gives_a_new_one(mesh):
    auth, tracking, _ = mesh
    email, first = await user(auth)
    second = await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await auth.ChangePassword(auth_service_pb2.ChangePasswordRequest(
            name="users/me", current_password="wrong password!", new_password="a new horse battery"),
            metadata=bearer(first.access_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    changed = await auth.ChangePassword(auth_service_pb2.ChangePasswordRequest(
        name="users/me", current_password=PASSWORD, new_password="a new horse battery"),
        metadata=bearer(first.access_token))
    for old in (first, second):
        await refused_after(tracking, old.access_token, "access token from before the password change")
        with pytest.raises(grpc.aio.AioRpcError):
            await auth.RefreshToken(auth_service_pb2.RefreshTokenRequest(refresh_token=old.refresh_token))
    assert await works(tracking, changed.access_token)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    await auth.Login(auth_service_pb2.LoginRequest(email=email, password="a new horse battery"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await auth.ChangePassword(auth_service_pb2.ChangePasswordRequest(
            name="users/me", current_password="a new horse battery", new_password="1234567890"),
            metadata=bearer(changed.access_token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_signing_out_everywhere_ends_every_session_but_not_the_api_keys(mesh):
    auth, tracking, _ = mesh
    email, first = await user(auth)
    second = await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
    key = await auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="watch")), metadata=bearer(first.access_token))
    await auth.RevokeSessions(auth_service_pb2.RevokeSessionsRequest(name="users/me"),
                              metadata=bearer(second.access_token))
    await refused_after(tracking, first.access_token, "first session after signing out everywhere")
    await refused_after(tracking, second.access_token, "second session after signing out everywhere")
    assert await works(tracking, key.secret)
    fresh = await auth.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
    assert await works(tracking, fresh.access_token)


async def test_revocations_are_listed_in_order_for_services_only(auth_harness):
    auth = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    internal = auth_internal_service_pb2_grpc.AuthInternalServiceStub(auth_harness.channel)
    service_md = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-service", "test"))
    _, session = await user(auth)
    before = await internal.ListRevocations(auth_internal_service_pb2.ListRevocationsRequest(), metadata=service_md)
    last = max((r.sequence for r in before.revocations), default=0)
    await auth.DeleteUser(auth_service_pb2.DeleteUserRequest(name="users/me"), metadata=bearer(session.access_token))
    after = await internal.ListRevocations(auth_internal_service_pb2.ListRevocationsRequest(
        after_sequence=last, kind=auth_internal_service_pb2.Revocation.USER), metadata=service_md)
    mine = [r for r in after.revocations if r.user == session.user.name]
    assert len(mine) == 1 and mine[0].sequence > last and not mine[0].subject
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await internal.ListRevocations(auth_internal_service_pb2.ListRevocationsRequest(),
                                       metadata=bearer(session.access_token))
    assert err.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await internal.ListRevocations(auth_internal_service_pb2.ListRevocationsRequest(after_sequence=-1),
                                       metadata=service_md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_service_whose_listener_was_cut_still_refuses_revoked_credentials(mesh, migrated_dsn):
    """The database drops Tracking's LISTEN connection (as a PostgreSQL restart would); a key revoked
    meanwhile is refused all the same: by the staleness re-read, or the listener's catch-up."""
    import asyncpg

    auth, tracking, built = mesh
    _, session = await user(auth)
    md = bearer(session.access_token)
    key = await auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="watch")), metadata=md)
    assert await works(tracking, key.secret)
    conn = await asyncpg.connect(migrated_dsn)
    try:
        cut = await conn.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
    finally:
        await conn.close()
    assert cut >= 1
    await auth.DeleteApiKey(auth_service_pb2.DeleteApiKeyRequest(name=key.api_key.name), metadata=md)
    await refused_after(tracking, key.secret, "API key revoked while the listener was cut")
    assert await works(tracking, session.access_token)
