"""Device's tables as typed SQLAlchemy 2.0 models; migrations/device/0001_init.sql creates them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ARRAY, Boolean, Double, Integer, LargeBinary, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import metadata_for

TZ = TIMESTAMP(timezone=True)


class Base(DeclarativeBase):
    metadata = metadata_for("device")


class DeviceRow(Base):
    __tablename__ = "devices"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    manufacturer: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    device_type: Mapped[int] = mapped_column(SmallInteger)
    hardware_id: Mapped[str] = mapped_column(Text)
    firmware_version: Mapped[str] = mapped_column(Text)
    capabilities: Mapped[list[str]] = mapped_column(ARRAY(Text))
    sample_source: Mapped[str] = mapped_column(Text)
    integration: Mapped[str] = mapped_column(Text)
    auto_sync: Mapped[bool] = mapped_column(Boolean)
    sync_interval_seconds: Mapped[int] = mapped_column(Integer)
    sync_sample_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    backfill_days: Mapped[int] = mapped_column(Integer)
    state: Mapped[int] = mapped_column(SmallInteger)
    last_sync_time: Mapped[dt.datetime | None] = mapped_column(TZ)
    last_seen_time: Mapped[dt.datetime | None] = mapped_column(TZ)
    battery_percent: Mapped[int | None] = mapped_column(SmallInteger)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    update_time: Mapped[dt.datetime] = mapped_column(TZ)


class DataKeyRow(Base):
    __tablename__ = "data_keys"
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)


class CredentialsRow(Base):
    __tablename__ = "device_credentials"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    key_id: Mapped[uuid.UUID] = mapped_column(UUID)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    update_time: Mapped[dt.datetime] = mapped_column(TZ)


class HealthReportRow(Base):
    __tablename__ = "health_reports"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    battery_percent: Mapped[int | None] = mapped_column(SmallInteger)
    charging: Mapped[bool | None] = mapped_column(Boolean)
    signal_strength_dbm: Mapped[int | None] = mapped_column(Integer)
    firmware_version: Mapped[str] = mapped_column(Text)
    storage_used_percent: Mapped[float | None] = mapped_column(Double)
    uptime_seconds: Mapped[int | None] = mapped_column(Integer)
    errors: Mapped[list] = mapped_column(JSONB)
    report_time: Mapped[dt.datetime] = mapped_column(TZ)
    update_time: Mapped[dt.datetime] = mapped_column(TZ)


class KeyRevocationRow(Base):
    __tablename__ = "key_revocations"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
