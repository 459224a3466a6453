"""Sleep's tables as typed SQLAlchemy 2.0 models; migrations/tracking/0002_activities_sleep.sql
creates them. Every key starts with user_id, so the tables can be distributed by user (Citus)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Date, ForeignKeyConstraint, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import TIMESTAMP, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.tracking.tables import Base

TZ = TIMESTAMP(timezone=True)


class SleepSessionRow(Base):
    __tablename__ = "sleep_sessions"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    request_id: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[dt.datetime] = mapped_column(TZ)
    end_time: Mapped[dt.datetime] = mapped_column(TZ)
    utc_offset_minutes: Mapped[int] = mapped_column(Integer)
    # Derived from end_time and the offset; stored so nights can be found by local date.
    local_date: Mapped[dt.date] = mapped_column(Date)
    # Derived from the stages when written, so nights can be summed without reading stages.
    time_in_bed_seconds: Mapped[int] = mapped_column(Integer)
    asleep_seconds: Mapped[int] = mapped_column(Integer)
    score: Mapped[int | None] = mapped_column(SmallInteger)  # the source's own; NULL: computed on read
    # The source's own totals (SleepFields); NULL: none reported, the figures above are derived.
    reported_time_in_bed_seconds: Mapped[int | None] = mapped_column(Integer)
    reported_asleep_seconds: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    update_time: Mapped[dt.datetime] = mapped_column(TZ)


class SleepStageRow(Base):
    __tablename__ = "sleep_stages"
    __table_args__ = (ForeignKeyConstraint(["user_id", "sleep_session_id"], ["tracking.sleep_sessions.user_id",
                                                                              "tracking.sleep_sessions.id"],
                                           ondelete="CASCADE"),)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    sleep_session_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)  # position in the session, oldest first
    stage: Mapped[int] = mapped_column(SmallInteger)
    start_time: Mapped[dt.datetime] = mapped_column(TZ)
    end_time: Mapped[dt.datetime] = mapped_column(TZ)
