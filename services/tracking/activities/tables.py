"""Activities' tables as typed SQLAlchemy 2.0 models; migrations/tracking/0002_activities_sleep.sql
creates them. Every key starts with user_id, so the tables can be distributed by user (Citus)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, Double, ForeignKeyConstraint, Integer, Text
from sqlalchemy.dialects.postgresql import TIMESTAMP, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.tracking.tables import Base

TZ = TIMESTAMP(timezone=True)


class ActivityRow(Base):
    __tablename__ = "activities"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    request_id: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    start_time: Mapped[dt.datetime] = mapped_column(TZ)
    end_time: Mapped[dt.datetime] = mapped_column(TZ)
    utc_offset_minutes: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[int] = mapped_column(Integer)  # 0: not given, end minus start on read
    distance_meters: Mapped[float | None] = mapped_column(Double)
    active_energy_kcal: Mapped[float | None] = mapped_column(Double)
    total_energy_kcal: Mapped[float | None] = mapped_column(Double)
    steps: Mapped[int | None] = mapped_column(Integer)
    elevation_ascent_meters: Mapped[float | None] = mapped_column(Double)
    elevation_descent_meters: Mapped[float | None] = mapped_column(Double)
    pace_seconds_per_km: Mapped[float | None] = mapped_column(Double)
    speed_meters_per_second: Mapped[float | None] = mapped_column(Double)
    hr_min_bpm: Mapped[float | None] = mapped_column(Double)
    hr_avg_bpm: Mapped[float | None] = mapped_column(Double)
    hr_max_bpm: Mapped[float | None] = mapped_column(Double)
    series_min_bpm: Mapped[float | None] = mapped_column(Double)
    series_avg_bpm: Mapped[float | None] = mapped_column(Double)
    series_max_bpm: Mapped[float | None] = mapped_column(Double)
    indoor: Mapped[bool | None] = mapped_column(Boolean)
    weather_temperature_celsius: Mapped[float | None] = mapped_column(Double)
    weather_humidity_percent: Mapped[float | None] = mapped_column(Double)
    weather_conditions: Mapped[str | None] = mapped_column(Text)  # NULL: no weather at all
    notes: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    update_time: Mapped[dt.datetime] = mapped_column(TZ)


class ActivityHeartRatePointRow(Base):
    __tablename__ = "activity_heart_rate_points"
    __table_args__ = (ForeignKeyConstraint(["user_id", "activity_id"], ["tracking.activities.user_id",
                                                                         "tracking.activities.id"],
                                           ondelete="CASCADE"),)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    activity_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)  # position in the series, oldest first
    time: Mapped[dt.datetime] = mapped_column(TZ)
    bpm: Mapped[float] = mapped_column(Double)
    min_bpm: Mapped[float | None] = mapped_column(Double)
    max_bpm: Mapped[float | None] = mapped_column(Double)


class ActivityRoutePointRow(Base):
    __tablename__ = "activity_route_points"
    __table_args__ = (ForeignKeyConstraint(["user_id", "activity_id"], ["tracking.activities.user_id",
                                                                         "tracking.activities.id"],
                                           ondelete="CASCADE"),)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    activity_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(TZ)
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    altitude_meters: Mapped[float | None] = mapped_column(Double)
    speed_meters_per_second: Mapped[float | None] = mapped_column(Double)
    course_degrees: Mapped[float | None] = mapped_column(Double)
    horizontal_accuracy_meters: Mapped[float | None] = mapped_column(Double)
    vertical_accuracy_meters: Mapped[float | None] = mapped_column(Double)
