"""Nutrition's table as a typed SQLAlchemy 2.0 model; migrations/tracking/0003_nutrition_goals.sql creates it."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Double, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import TIMESTAMP, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.tracking.tables import Base

TZ = TIMESTAMP(timezone=True)


class NutritionEntryRow(Base):
    __tablename__ = "nutrition_entries"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    meal_type: Mapped[int] = mapped_column(SmallInteger)
    consume_time: Mapped[dt.datetime] = mapped_column(TZ)
    utc_offset_minutes: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[dt.date]
    food_name: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    calories_kcal: Mapped[float | None] = mapped_column(Double)
    protein_grams: Mapped[float | None] = mapped_column(Double)
    carbs_grams: Mapped[float | None] = mapped_column(Double)
    fat_grams: Mapped[float | None] = mapped_column(Double)
    fiber_grams: Mapped[float | None] = mapped_column(Double)
    sugar_grams: Mapped[float | None] = mapped_column(Double)
    water_ml: Mapped[float | None] = mapped_column(Double)
    caffeine_mg: Mapped[float | None] = mapped_column(Double)
    request_id: Mapped[str | None] = mapped_column(Text)
    create_time: Mapped[dt.datetime] = mapped_column(TZ)
    update_time: Mapped[dt.datetime] = mapped_column(TZ)
