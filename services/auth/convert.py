"""Auth: protobuf <-> domain, nothing else."""

from __future__ import annotations

import datetime as dt
import uuid

from healthmesh.auth.v1 import api_key_pb2, audit_event_pb2, auth_internal_service_pb2, auth_service_pb2, user_pb2

from services.auth.domain import ApiKey, Session, User
from services.common import audit_wire
from services.common.audit import AuditRecord
from services.common.convert import from_timestamp, timestamp
from services.common.ids import uuid7


def user(u: User) -> user_pb2.User:
    return user_pb2.User(
        name=f"users/{u.id}", email=u.email, display_name=u.display_name,
        birth_date=u.birth_date.isoformat() if u.birth_date else "", sex=int(u.sex), time_zone=u.time_zone,
        create_time=timestamp(u.create_time), update_time=timestamp(u.update_time),
    )


def login_response(s: Session) -> auth_service_pb2.LoginResponse:
    return auth_service_pb2.LoginResponse(access_token=s.access_token, refresh_token=s.refresh_token,
                                          expires_in_seconds=s.expires_in_seconds, user=user(s.user))


def refresh_response(s: Session) -> auth_service_pb2.RefreshTokenResponse:
    return auth_service_pb2.RefreshTokenResponse(access_token=s.access_token, refresh_token=s.refresh_token,
                                                 expires_in_seconds=s.expires_in_seconds, user=user(s.user))


def api_key(k: ApiKey) -> api_key_pb2.ApiKey:
    return api_key_pb2.ApiKey(
        name=f"users/{k.user_id}/apiKeys/{k.id}", display_name=k.display_name, secret_prefix=k.secret_prefix,
        create_time=timestamp(k.create_time), last_use_time=timestamp(k.last_use_time),
    )


def audit_event(event_id: uuid.UUID, r: AuditRecord) -> audit_event_pb2.AuditEvent:
    return audit_event_pb2.AuditEvent(
        name=f"users/{r.subject_user_id}/auditEvents/{event_id}", actor=r.actor, action=r.action,
        resource=r.resource, outcome=r.outcome, client_address=r.client_address, request_id=r.request_id,
        service=r.service, create_time=timestamp(r.create_time),
    )


def audit_record(r: auth_internal_service_pb2.AuditRecord) -> AuditRecord:
    """A record as another service sent it; a sender that gave no id (or no readable time) gets one."""
    try:
        when = from_timestamp(r.create_time) if r.HasField("create_time") else None
    except (OverflowError, ValueError):
        when = None  # beyond the calendar's ends
    return AuditRecord(
        subject_user_id=r.subject.removeprefix("users/"), actor=r.actor, action=r.action, resource=r.resource,
        outcome=r.outcome, client_address=r.client_address, request_id=r.request_id, service=r.service,
        create_time=when or dt.datetime.now(dt.UTC), id=audit_wire.id_of(r) or uuid7(),
    )
