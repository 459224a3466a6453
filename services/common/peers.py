"""Channels to the other services, and the calls every service makes to Auth.

Services meet each other only through generated stubs, on their own addresses, presenting the
service token and naming the end user they act for.
"""

from __future__ import annotations

import datetime as dt

import grpc
from google.protobuf import json_format, timestamp_pb2
from healthmesh.auth.v1 import auth_internal_service_pb2 as auth_internal_pb2
from healthmesh.auth.v1 import auth_internal_service_pb2_grpc as auth_internal_grpc
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

from services.common import telemetry
from services.common.audit import AuditRecord, AuditRejected
from services.common.config import SERVICE_NAMES, Settings
from services.common.credentials import ACTING_USER_HEADER, SERVICE_NAME_HEADER, SERVICE_TOKEN_HEADER
from services.common.errors import Unauthenticated, Unavailable
from services.common.revocation import Kind, Revocation


class Peers:
    def __init__(self, settings: Settings, own_name: str) -> None:
        self._settings = settings
        self._own = own_name
        self._channels: dict[str, grpc.aio.Channel] = {}

    def channel(self, service: str) -> grpc.aio.Channel:
        if service not in self._channels:
            # Reconnect within seconds after a peer restarts (gRPC's default backoff grows to 120 s).
            # With tracing on, every call on it carries the caller's traceparent.
            self._channels[service] = grpc.aio.insecure_channel(self._settings.addr(service), options=[
                ("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 5000)],
                interceptors=telemetry.client_interceptors() or None)
        return self._channels[service]

    def metadata(self, user_id: str = "") -> tuple[tuple[str, str], ...]:
        md = [(SERVICE_TOKEN_HEADER, self._settings.service_token), (SERVICE_NAME_HEADER, self._own)]
        if user_id:
            md.append((ACTING_USER_HEADER, user_id))
        return tuple(md)

    @staticmethod
    def service_for_health_name(name: str) -> str | None:
        """`healthmesh.tracking.v1.TrackingService` -> `tracking`."""
        parts = name.split(".")
        if len(parts) >= 3 and parts[0] == "healthmesh" and parts[1] in SERVICE_NAMES:
            return parts[1]
        return None

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    # Auth, as every other service needs it.

    async def fetch_jwks(self) -> list[dict]:
        stub = auth_service_pb2_grpc.AuthServiceStub(self.channel("auth"))
        jwks = await stub.GetJwks(auth_service_pb2.GetJwksRequest(), timeout=5.0)
        return [json_format.MessageToDict(k, preserving_proto_field_name=True) for k in jwks.keys]

    async def authenticate_api_key(self, secret: str) -> tuple[str, str, str]:
        stub = auth_internal_grpc.AuthInternalServiceStub(self.channel("auth"))
        try:
            reply = await stub.AuthenticateApiKey(
                auth_internal_pb2.AuthenticateApiKeyRequest(secret=secret), metadata=self.metadata(), timeout=5.0)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated("the API key is unknown or revoked", "API_KEY_INVALID") from None
            raise Unavailable("auth is unavailable, try again") from None
        return reply.user.removeprefix("users/"), reply.api_key, reply.device

    async def list_revocations(self, after: int, since: dt.datetime | None = None, kind: Kind | None = None,
                               page_size: int = 10_000) -> list[Revocation]:
        """Every revocation after `after` (and the last 30 s), following pages to the end."""
        stub = auth_internal_grpc.AuthInternalServiceStub(self.channel("auth"))
        out: list[Revocation] = []
        while True:
            request = auth_internal_pb2.ListRevocationsRequest(after_sequence=after, page_size=page_size)
            if since is not None:
                request.since_time.CopyFrom(_timestamp(since))
            if kind is not None:
                request.kind = auth_internal_pb2.Revocation.Kind.Value(kind.name)
            reply = await stub.ListRevocations(request, metadata=self.metadata(), timeout=5.0)
            page = [Revocation(r.sequence, Kind[auth_internal_pb2.Revocation.Kind.Name(r.kind)],
                               r.user.removeprefix("users/"), r.subject, r.revoke_time.ToDatetime(dt.UTC))
                    for r in reply.revocations]
            out += page
            if len(page) < page_size or page[-1].sequence <= after:
                return out
            after = page[-1].sequence

    async def write_audit(self, records: list[AuditRecord], timeout: float = 10.0) -> None:
        """Hands records to Auth's log, each with its id (Auth stores an id once, so sending a batch
        again is safe). AuditRejected when Auth refuses the records themselves; any other failure
        (Auth down, a timeout) raises as it is, to be retried."""
        request = auth_internal_pb2.WriteAuditEventsRequest()
        for r in records:
            message = request.records.add(
                subject=f"users/{r.subject_user_id}" if r.subject_user_id else "", actor=r.actor, action=r.action,
                resource=r.resource, outcome=r.outcome, client_address=r.client_address, request_id=r.request_id,
                service=r.service, id=str(r.id))
            message.create_time.FromDatetime(r.create_time)
        stub = auth_internal_grpc.AuthInternalServiceStub(self.channel("auth"))
        try:
            await stub.WriteAuditEvents(request, metadata=self.metadata(), timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise AuditRejected(exc.details() or "") from None
            raise


def _timestamp(value: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts
