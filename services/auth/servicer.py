"""Auth's gRPC surface: parse the request, call the use case, render the response."""

from __future__ import annotations

import uuid

from google.protobuf import empty_pb2
from healthmesh.auth.v1 import (
    auth_internal_service_pb2, auth_internal_service_pb2_grpc, auth_service_pb2, auth_service_pb2_grpc,
)

from services.auth import convert
from services.auth.service import AuthService
from services.common import pagination
from services.common.convert import from_timestamp
from services.common.errors import Violations
from services.common.interceptor import audit_subject, current_client
from services.common.principal import current_principal
from services.common.principal import caller_parent, parse_name


def _page(request, query: dict, tokens: pagination.PageTokens) -> tuple[int, uuid.UUID | None]:
    size = pagination.page_size(request.page_size)
    cursor = tokens.decode_keyset(request.page_token, query, uuid.UUID)
    return size, cursor[0] if cursor else None


def _next_token(items: list, size: int, last_id: uuid.UUID | None, query: dict,
                tokens: pagination.PageTokens) -> str:
    return tokens.encode([str(last_id)], query) if len(items) == size and last_id else ""


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    def __init__(self, service: AuthService, page_tokens: pagination.PageTokens) -> None:
        self._svc = service
        self._page_tokens = page_tokens

    async def GetUser(self, request, context):
        return convert.user(await self._svc.get_user(caller_parent(request.name, "name")))

    async def UpdateUser(self, request, context):
        user_id = caller_parent(request.user.name, "user.name")
        u = request.user
        updated = await self._svc.update_user(user_id, list(request.update_mask.paths), u.display_name,
                                              u.birth_date, u.sex, u.time_zone)
        return convert.user(updated)

    async def DeleteUser(self, request, context):
        await self._svc.delete_user(caller_parent(request.name, "name"))
        return empty_pb2.Empty()

    async def Register(self, request, context):
        user = await self._svc.register(request.email, request.password, request.display_name, request.birth_date,
                                        request.sex, request.time_zone, current_client.get())
        audit_subject.set(str(user.id))
        return convert.user(user)

    async def Login(self, request, context):
        session = await self._svc.login(request.email, request.password, current_client.get())
        audit_subject.set(str(session.user.id))
        return convert.login_response(session)

    async def RefreshToken(self, request, context):
        session = await self._svc.refresh(request.refresh_token)
        audit_subject.set(str(session.user.id))
        return convert.refresh_response(session)

    async def Logout(self, request, context):
        await self._svc.logout(request.refresh_token)
        return empty_pb2.Empty()

    async def ChangePassword(self, request, context):
        session = await self._svc.change_password(caller_parent(request.name, "name"), request.current_password,
                                                  request.new_password, current_client.get())
        return convert.change_password_response(session)

    async def RevokeSessions(self, request, context):
        await self._svc.revoke_sessions(caller_parent(request.name, "name"))
        return empty_pb2.Empty()

    async def GetJwks(self, request, context):
        return auth_service_pb2.Jwks(keys=[auth_service_pb2.Jwk(**k) for k in self._svc.jwks()])

    async def CreateApiKey(self, request, context):
        user_id = caller_parent(request.parent)
        key, secret = await self._svc.create_api_key(user_id, request.api_key.display_name, request.request_id,
                                                     request.api_key.device)
        return auth_service_pb2.CreateApiKeyResponse(api_key=convert.api_key(key), secret=secret)

    async def ListApiKeys(self, request, context):
        user_id = caller_parent(request.parent)
        query = {"parent": str(user_id)}
        size, after = _page(request, query, self._page_tokens)
        keys = await self._svc.list_api_keys(user_id, size, after)
        return auth_service_pb2.ListApiKeysResponse(
            api_keys=[convert.api_key(k) for k in keys],
            next_page_token=_next_token(keys, size, keys[-1].id if keys else None, query, self._page_tokens))

    async def DeleteApiKey(self, request, context):
        ids = parse_name(request.name, "users/{user}/apiKeys/{api_key}", current_principal.get())
        await self._svc.revoke_api_key(uuid.UUID(ids["user"]), uuid.UUID(ids["api_key"]))
        return empty_pb2.Empty()

    async def ListAuditEvents(self, request, context):
        user_id = caller_parent(request.parent)
        query = {"parent": str(user_id), "kind": "audit"}
        size, after = _page(request, query, self._page_tokens)
        events = await self._svc.list_audit(user_id, size, after)
        return auth_service_pb2.ListAuditEventsResponse(
            audit_events=[convert.audit_event(i, r) for i, r in events],
            next_page_token=_next_token(events, size, events[-1][0] if events else None, query,
                                        self._page_tokens))


class AuthInternalServicer(auth_internal_service_pb2_grpc.AuthInternalServiceServicer):
    def __init__(self, service: AuthService) -> None:
        self._svc = service

    async def AuthenticateApiKey(self, request, context):
        key = await self._svc.authenticate_api_key(request.secret)
        audit_subject.set(str(key.user_id))  # the caller is a service; the key's owner is whom it acts for
        return auth_internal_service_pb2.AuthenticateApiKeyResponse(
            user=f"users/{key.user_id}", api_key=f"users/{key.user_id}/apiKeys/{key.id}", device=key.device)

    async def RevokeDeviceApiKeys(self, request, context):
        revoked = await self._svc.revoke_device_api_keys(request.device)
        return auth_internal_service_pb2.RevokeDeviceApiKeysResponse(revoked=revoked)

    async def ListRevocations(self, request, context):
        v = Violations()
        if request.after_sequence < 0:
            v.add("after_sequence", "must not be negative")
        if request.page_size < 0:
            v.add("page_size", "must not be negative")
        v.raise_if_any()
        since = from_timestamp(request.since_time) if request.HasField("since_time") else None
        found = await self._svc.list_revocations(request.after_sequence, since, convert.revocation_kind(request.kind),
                                                 min(request.page_size or 1000, 10_000))
        return auth_internal_service_pb2.ListRevocationsResponse(revocations=[convert.revocation(r) for r in found])

    async def WriteAuditEvents(self, request, context):
        await self._svc.write_audit([convert.audit_record(r) for r in request.records])
        return empty_pb2.Empty()
