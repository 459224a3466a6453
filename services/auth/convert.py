"""Auth: protobuf <-> domain, nothing else."""

from __future__ import annotations

import datetime as dt
import uuid

from healthmesh.auth.v1 import api_key_pb2, audit_event_pb2, auth_internal_service_pb2, auth_service_pb2, user_pb2

from services.auth.domain import ApiKey, Session, User
from services.common.audit import AuditRecord
from services.common.convert import from_timestamp, timestamp
from services.common.errors import InvalidArgument
from services.common.ids import uuid7
from services.common.revocation import Kind, Revocation


def user(u: User) -> user_pb2.User:
    return user_pb2.User(
        name=f"users/{u.id}", email=u.email, display_name=u.display_name,
        birth_date=u.birth_date.isoformat() if u.birth_date else "", sex=int(u.sex), time_zone=u.time_zone,
        create_time=timestamp(u.create_time), update_time=timestamp(u.update_time),
    )


def login_response(s: Session) -> auth_service_pb2.LoginResponse:
    return auth_service_pb2.LoginResponse(access_token=s.access_token, refresh_token=s.refresh_token,
                                          expires_in_seconds=s.expires_in_seconds, user=user(s.user))


def change_password_response(s: Session) -> auth_service_pb2.ChangePasswordResponse:
    return auth_service_pb2.ChangePasswordResponse(access_token=s.access_token, refresh_token=s.refresh_token,
                                                   expires_in_seconds=s.expires_in_seconds, user=user(s.user))


def revocation(r: Revocation) -> auth_internal_service_pb2.Revocation:
    return auth_internal_service_pb2.Revocation(
        sequence=r.sequence, kind=auth_internal_service_pb2.Revocation.Kind.Value(r.kind.name),
        user=f"users/{r.user_id}", subject=r.subject, revoke_time=timestamp(r.time))


def revocation_kind(kind: int) -> Kind | None:
    """A Revocation.Kind number as the domain's Kind; None for KIND_UNSPECIFIED (all kinds)."""
    if not kind:
        return None
    try:
        return Kind[auth_internal_service_pb2.Revocation.Kind.Name(kind)]
    except ValueError:
        raise InvalidArgument.field("kind", f"{kind} is not a Revocation.Kind") from None


def refresh_response(s: Session) -> auth_service_pb2.RefreshTokenResponse:
    return auth_service_pb2.RefreshTokenResponse(access_token=s.access_token, refresh_token=s.refresh_token,
                                                 expires_in_seconds=s.expires_in_seconds, user=user(s.user))


def api_key(k: ApiKey) -> api_key_pb2.ApiKey:
    return api_key_pb2.ApiKey(
        name=f"users/{k.user_id}/apiKeys/{k.id}", display_name=k.display_name, secret_prefix=k.secret_prefix,
        create_time=timestamp(k.create_time), last_use_time=timestamp(k.last_use_time), device=k.device,
    )


def audit_event(event_id: uuid.UUID, r: AuditRecord) -> audit_event_pb2.AuditEvent:
    return audit_event_pb2.AuditEvent(
        name=f"users/{r.subject_user_id}/auditEvents/{event_id}", actor=r.actor, action=r.action,
        resource=r.resource, outcome=r.outcome, client_address=r.client_address, request_id=r.request_id,
        service=r.service, create_time=timestamp(r.create_time),
    )


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def audit_record(r: auth_internal_service_pb2.AuditRecord) -> AuditRecord:
    """A record as another service sent it; a sender that gave no id (or no readable time) gets one."""
    try:
        when = from_timestamp(r.create_time) if r.HasField("create_time") else None
    except (OverflowError, ValueError):
        when = None  # beyond the calendar's ends
    return AuditRecord(
        subject_user_id=r.subject.removeprefix("users/"), actor=r.actor, action=r.action, resource=r.resource,
        outcome=r.outcome, client_address=r.client_address, request_id=r.request_id, service=r.service,
        create_time=when or dt.datetime.now(dt.UTC), id=_uuid_or_none(r.id) or uuid7(),
    )
