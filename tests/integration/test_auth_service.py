"""Auth over real gRPC and a real PostgreSQL: sessions, profile, API keys, audit, errors."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2
from healthmesh.auth.v1 import (
    api_key_pb2, auth_internal_service_pb2, auth_internal_service_pb2_grpc, auth_service_pb2,
    auth_service_pb2_grpc, user_pb2,
)

from tests.integration.conftest import SERVICE_TOKEN

PASSWORD = "correct horse battery"


def details(err: grpc.aio.AioRpcError) -> status_pb2.Status:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError("no google.rpc.Status in the trailers")


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def register_and_login(stub, email: str | None = None):
    email = email or f"u{uuid.uuid4().hex[:10]}@example.org"
    user = await stub.Register(auth_service_pb2.RegisterRequest(
        email=email, password=PASSWORD, display_name="Ada", birth_date="1990-04-01", sex=user_pb2.FEMALE))
    session = await stub.Login(auth_service_pb2.LoginRequest(email=email.upper(), password=PASSWORD))
    return user, session


@pytest.fixture
def stub(auth_harness):
    return auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)


async def test_register_login_and_get_me(stub):
    user, session = await register_and_login(stub)
    assert user.name.startswith("users/") and user.birth_date == "1990-04-01"
    me = await stub.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=bearer(session.access_token))
    assert me.name == user.name and me.email == user.email and me.sex == user_pb2.FEMALE
    assert session.expires_in_seconds == 900


async def test_email_is_unique_regardless_of_case(stub):
    user, _ = await register_and_login(stub)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Register(auth_service_pb2.RegisterRequest(
            email=user.email.upper(), password=PASSWORD, display_name="Other"))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_registration_reports_every_bad_field(stub):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Register(auth_service_pb2.RegisterRequest(
            email="not-an-email", password="123", display_name="", birth_date="1990-13-40"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = details(err.value)
    bad = error_details_pb2.BadRequest()
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info) and info.domain == "auth.healthmesh"
    assert status.details[1].Unpack(bad)
    assert {v.field for v in bad.field_violations} == {"email", "password", "display_name", "birth_date"}


async def test_wrong_password_is_unauthenticated(stub):
    user, _ = await register_and_login(stub)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Login(auth_service_pb2.LoginRequest(email=user.email, password="wrong password!"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_refresh_rotates_and_reuse_revokes_the_session(stub):
    _, session = await register_and_login(stub)
    rotated = await stub.RefreshToken(auth_service_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    assert rotated.refresh_token != session.refresh_token
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RefreshToken(auth_service_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    info = error_details_pb2.ErrorInfo()
    details(err.value).details[0].Unpack(info)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED and info.reason == "REFRESH_TOKEN_REUSED"
    # The reuse revoked the whole family, including the token issued by the good rotation.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RefreshToken(auth_service_pb2.RefreshTokenRequest(refresh_token=rotated.refresh_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_ends_the_session(stub):
    _, session = await register_and_login(stub)
    await stub.Logout(auth_service_pb2.LogoutRequest(refresh_token=session.refresh_token))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RefreshToken(auth_service_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_update_user_with_field_mask(stub):
    _, session = await register_and_login(stub)
    updated = await stub.UpdateUser(auth_service_pb2.UpdateUserRequest(
        user=user_pb2.User(name="users/me", display_name="Grace", time_zone="Europe/Paris", birth_date="2000-01-01"),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name", "time_zone"])),
        metadata=bearer(session.access_token))
    assert (updated.display_name, updated.time_zone, updated.birth_date) == ("Grace", "Europe/Paris", "1990-04-01")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateUser(auth_service_pb2.UpdateUserRequest(
            user=user_pb2.User(name="users/me", email="x@y.z"), update_mask=field_mask_pb2.FieldMask(paths=["email"])),
            metadata=bearer(session.access_token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_another_users_resources_are_forbidden(stub):
    user_a, _ = await register_and_login(stub)
    _, session_b = await register_and_login(stub)
    for call, request in [
        (stub.GetUser, auth_service_pb2.GetUserRequest(name=user_a.name)),
        (stub.ListApiKeys, auth_service_pb2.ListApiKeysRequest(parent=user_a.name)),
        (stub.DeleteApiKey, auth_service_pb2.DeleteApiKeyRequest(name=f"{user_a.name}/apiKeys/{uuid.uuid4()}")),
        (stub.ListAuditEvents, auth_service_pb2.ListAuditEventsRequest(parent=user_a.name)),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request, metadata=bearer(session_b.access_token))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, call


async def test_api_key_lifecycle(stub, auth_harness):
    _, session = await register_and_login(stub)
    md = bearer(session.access_token)
    created = await stub.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="Health Auto Export")), metadata=md)
    assert created.secret.startswith("hm_") and created.api_key.secret_prefix == created.secret[:10]
    # The key authenticates calls like an access token does.
    me = await stub.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=bearer(created.secret))
    assert created.api_key.name.startswith(me.name + "/apiKeys/")
    internal = auth_internal_service_pb2_grpc.AuthInternalServiceStub(auth_harness.channel)
    resolved = await internal.AuthenticateApiKey(
        auth_internal_service_pb2.AuthenticateApiKeyRequest(secret=created.secret),
        metadata=(("x-healthmesh-service-token", SERVICE_TOKEN),))
    assert resolved.user == me.name and resolved.api_key == created.api_key.name
    listed = await stub.ListApiKeys(auth_service_pb2.ListApiKeysRequest(parent="users/me"), metadata=md)
    assert [k.name for k in listed.api_keys] == [created.api_key.name]
    assert listed.api_keys[0].HasField("last_use_time")
    await stub.DeleteApiKey(auth_service_pb2.DeleteApiKeyRequest(name=created.api_key.name), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await internal.AuthenticateApiKey(auth_internal_service_pb2.AuthenticateApiKeyRequest(secret=created.secret),
                                          metadata=(("x-healthmesh-service-token", SERVICE_TOKEN),))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_create_api_key_is_idempotent_by_request_id(stub):
    _, session = await register_and_login(stub)
    md = bearer(session.access_token)
    request = auth_service_pb2.CreateApiKeyRequest(
        parent="users/me", api_key=api_key_pb2.ApiKey(display_name="watch"), request_id=str(uuid.uuid4()))
    first = await stub.CreateApiKey(request, metadata=md)
    again = await stub.CreateApiKey(request, metadata=md)
    assert again.api_key.name == first.api_key.name and again.secret == "" and first.secret


async def test_internal_methods_need_the_service_credential(stub, auth_harness):
    _, session = await register_and_login(stub)
    internal = auth_internal_service_pb2_grpc.AuthInternalServiceStub(auth_harness.channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await internal.AuthenticateApiKey(auth_internal_service_pb2.AuthenticateApiKeyRequest(secret="hm_x"),
                                          metadata=bearer(session.access_token))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_calls_are_audited_under_the_subject(stub, auth_harness):
    user, session = await register_and_login(stub)
    md = bearer(session.access_token)
    await stub.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=md)
    await auth_harness.built.runtime.audit.flush()
    events = await stub.ListAuditEvents(auth_service_pb2.ListAuditEventsRequest(parent="users/me"), metadata=md)
    actions = [e.action.rsplit("/", 1)[1] for e in events.audit_events]
    assert actions[:3] == ["GetUser", "Login", "Register"]
    get_user = events.audit_events[0]
    assert get_user.resource == user.name and get_user.actor == user.name and get_user.outcome == "OK"


async def test_delete_user_frees_the_email_and_stops_refresh(stub):
    user, session = await register_and_login(stub)
    md = bearer(session.access_token)
    await stub.DeleteUser(auth_service_pb2.DeleteUserRequest(name="users/me"), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RefreshToken(auth_service_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    again = await stub.Register(auth_service_pb2.RegisterRequest(
        email=user.email, password=PASSWORD, display_name="New"))
    assert again.name != user.name


async def test_page_tokens_are_bound_to_their_query(stub):
    _, session = await register_and_login(stub)
    md = bearer(session.access_token)
    for i in range(3):
        await stub.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
            parent="users/me", api_key=api_key_pb2.ApiKey(display_name=f"k{i}")), metadata=md)
    page = await stub.ListApiKeys(auth_service_pb2.ListApiKeysRequest(parent="users/me", page_size=2), metadata=md)
    assert len(page.api_keys) == 2 and page.next_page_token
    rest = await stub.ListApiKeys(auth_service_pb2.ListApiKeysRequest(
        parent="users/me", page_size=2, page_token=page.next_page_token), metadata=md)
    assert len(rest.api_keys) == 1 and not rest.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListAuditEvents(auth_service_pb2.ListAuditEventsRequest(
            parent="users/me", page_token=page.next_page_token), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListApiKeys(auth_service_pb2.ListApiKeysRequest(parent="users/me", page_size=-1), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
