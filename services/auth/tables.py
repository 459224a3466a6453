"""Auth's tables as typed SQLAlchemy 2.0 models; migrations/auth/*.sql creates them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, LargeBinary, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import metadata_for

TZ = TIMESTAMP(timezone=True)


class Base(DeclarativeBase):
    metadata = metadata_for("auth")


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    birth_date: Mapped[dt.date | None]
    sex: Mapped[int] = mapped_column(SmallInteger)
    time_zone: Mapped[str] = mapped_column(Text)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    update_time: Mapped[dt.datetime] = mapped_column(TZ)
    delete_time: Mapped[dt.datetime | None] = mapped_column(TZ)


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    expire_time: Mapped[dt.datetime] = mapped_column(TZ)
    used_time: Mapped[dt.datetime | None] = mapped_column(TZ)
    revoked_time: Mapped[dt.datetime | None] = mapped_column(TZ)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID)
    display_name: Mapped[str] = mapped_column(Text)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    secret_prefix: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    last_use_time: Mapped[dt.datetime | None] = mapped_column(TZ)
    revoke_time: Mapped[dt.datetime | None] = mapped_column(TZ)
    device: Mapped[str] = mapped_column(Text)  # '' unless the key is bound to a device


class SigningKeyRow(Base):
    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(Text, primary_key=True)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict] = mapped_column(JSONB)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    retire_time: Mapped[dt.datetime | None] = mapped_column(TZ)


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    resource: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    client_address: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(Text)
    service: Mapped[str] = mapped_column(Text)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)


class RevocationRow(Base):
    __tablename__ = "revocations"
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID)
    subject: Mapped[uuid.UUID | None] = mapped_column(UUID)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
