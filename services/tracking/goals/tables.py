"""Goals' tables as typed SQLAlchemy 2.0 models; migrations/tracking/0003_nutrition_goals.sql creates them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Double, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import TIMESTAMP, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.tracking.tables import Base

TZ = TIMESTAMP(timezone=True)


class GoalRow(Base):
    __tablename__ = "goals"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text)
    target_value: Mapped[float] = mapped_column(Double)
    unit: Mapped[str] = mapped_column(Text)
    comparison: Mapped[int] = mapped_column(SmallInteger)
    period: Mapped[int] = mapped_column(SmallInteger)
    start_date: Mapped[dt.date]
    target_date: Mapped[dt.date | None]
    state: Mapped[int] = mapped_column(SmallInteger)
    request_id: Mapped[str | None] = mapped_column(Text)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    update_time: Mapped[dt.datetime] = mapped_column(TZ)


class AchievementRow(Base):
    __tablename__ = "achievements"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    goal_id: Mapped[uuid.UUID] = mapped_column(UUID)
    kind: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    period_start_date: Mapped[dt.date]
    value: Mapped[float] = mapped_column(Double)
    streak_length: Mapped[int] = mapped_column(Integer)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
