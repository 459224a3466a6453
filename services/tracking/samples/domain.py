"""Samples: the canonical measured value, and what aggregates report. No grpc, protobuf or SQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass


class MealContext(enum.IntEnum):
    UNSPECIFIED = 0
    GENERAL = 1
    FASTING = 2
    BEFORE_MEAL = 3
    AFTER_MEAL = 4


class Interval(enum.IntEnum):
    UNSPECIFIED = 0
    HOUR = 1
    DAY = 2
    WEEK = 3
    MONTH = 4


@dataclass(frozen=True)
class Sample:
    """One stored measurement, in its type's canonical unit."""

    id: uuid.UUID
    user_id: uuid.UUID
    type: str
    start_time: dt.datetime  # UTC
    end_time: dt.datetime  # UTC; equal to start_time for a point in time
    utc_offset_minutes: int  # of the place it was taken; its local day is the date at this offset
    value: float
    min: float | None
    max: float | None
    value2: float | None
    unit: str  # canonical
    original_value: float | None
    original_unit: str
    source: str  # '' when unknown; part of the natural key
    meal_context: MealContext
    create_time: dt.datetime
    update_time: dt.datetime

    @property
    def local_date(self) -> dt.date:
        return (self.start_time + dt.timedelta(minutes=self.utc_offset_minutes)).date()


@dataclass(frozen=True)
class Bucket:
    """What an interval of samples of one type adds up to (after source priority for SUM types)."""

    start_time: dt.datetime  # UTC instant of the interval's local start
    local_date: dt.date  # the local calendar day the interval starts on
    count: int
    sum: float
    min: float
    max: float
    avg: float
    sources: tuple[str, ...]
