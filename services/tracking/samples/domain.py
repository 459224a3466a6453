"""Samples: the canonical measured value, and what aggregates report. No grpc, protobuf or SQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from typing import NamedTuple


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


class Sample(NamedTuple):
    """One stored measurement, in its type's canonical unit. (A tuple, like HourRow: a page of 50
    is made for every list, and a frozen dataclass of 17 fields cost three times as much to make.)"""

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


# Sample ids carry their start time, so a name leads straight to the time partition holding it:
# UUID version 8 (RFC 9562, custom) with 48 bits of milliseconds since 1900-01-01, then random.
# The database makes them as it inserts (repository.UPSERT_CTES).

EPOCH_1900 = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def start_of_sample_id(sample_id: uuid.UUID) -> dt.datetime | None:
    """The start time a sample id carries; None for an id no sample can have (not version 8, or
    48 bits of milliseconds past year 9999: a client's guess)."""
    if sample_id.version != 8:
        return None
    try:
        return EPOCH_1900 + dt.timedelta(milliseconds=sample_id.int >> 80)
    except OverflowError:
        return None


# Source priority for summing types: when several sources counted the same hour (a watch and a
# phone both count steps), the hour's total comes from one source only, the highest ranked.

SOURCE_TIERS = ("watch", "ring", "band", "garmin", "fitbit", "whoop", "oura", "polar", "phone")


def source_rank(source: str) -> tuple[int, str]:
    """Lower ranks first: wearables before phones, known before unknown, then by name."""
    name = source.lower()
    for tier, word in enumerate(SOURCE_TIERS):
        if word in name:
            return (tier, name)
    return (len(SOURCE_TIERS) + (1 if not name else 0), name)


class HourRow(NamedTuple):
    """One hourly rollup row: a source's samples of one type within one local hour (a tuple:
    hundreds are made for every aggregate)."""

    local_hour: dt.datetime  # naive local wall time at the start of the hour
    utc_offset_minutes: int
    source: str
    count: int
    sum: float
    min: float
    max: float

    @property
    def start_time(self) -> dt.datetime:
        return (self.local_hour - dt.timedelta(minutes=self.utc_offset_minutes)).replace(tzinfo=dt.UTC)


class DayTotal(NamedTuple):
    """A local day's hourly rollup rows of one type added up (by the database): what
    merge_buckets() makes of them for a DAY bucket of a type that is not summed."""

    local_date: dt.date
    utc_offset_minutes: int  # of the day's first hour
    count: int
    sum: float
    min: float
    max: float
    sources: list[str]


def day_buckets(days: list[DayTotal]) -> list[Bucket]:
    """DAY buckets from days added up already; the same buckets merge_buckets() makes of the
    days' hourly rows, for types that are not summed (no source priority to apply)."""
    buckets = []
    for day in sorted(days):
        local_start = dt.datetime.combine(day.local_date, dt.time())
        buckets.append(Bucket(
            start_time=(local_start - dt.timedelta(minutes=day.utc_offset_minutes)).replace(tzinfo=dt.UTC),
            local_date=day.local_date, count=day.count, sum=day.sum, min=day.min, max=day.max,
            avg=day.sum / day.count if day.count else 0.0, sources=tuple(sorted(set(day.sources), key=source_rank))))
    return buckets


def bucket_start(local: dt.datetime, interval: Interval) -> dt.datetime:
    """The local wall time an interval starts at: the hour, midnight, Monday, or the 1st."""
    if interval == Interval.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == Interval.DAY:
        return day
    if interval == Interval.WEEK:
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def merge_buckets(rows: list[HourRow], interval: Interval, summing: bool) -> list[Bucket]:
    """Groups hourly rows into buckets. For summing types each local hour keeps only the
    highest-priority source's row, so a watch and a phone never count the same steps twice."""
    if summing:
        best: dict[dt.datetime, HourRow] = {}
        for row in rows:
            held = best.get(row.local_hour)
            if held is None or source_rank(row.source) < source_rank(held.source):
                best[row.local_hour] = row
        rows = list(best.values())
    groups: dict[dt.datetime, list[HourRow]] = {}
    starts: dict[dt.date, dt.datetime] = {}  # the bucket of each local day, worked out once
    for row in rows:
        if interval == Interval.HOUR:
            start = row.local_hour  # (hourly rows start on the hour)
        else:
            day = row.local_hour.date()
            start = starts.get(day)
            if start is None:
                start = starts[day] = bucket_start(row.local_hour, interval)
        groups.setdefault(start, []).append(row)
    buckets = []
    for local_start in sorted(groups):
        members = groups[local_start]
        count = sum(r.count for r in members)
        total = sum(r.sum for r in members)
        offset = min(members, key=lambda r: r.local_hour).utc_offset_minutes
        sources = tuple(sorted({r.source for r in members}, key=source_rank))
        buckets.append(Bucket(
            start_time=(local_start - dt.timedelta(minutes=offset)).replace(tzinfo=dt.UTC),
            local_date=local_start.date(), count=count, sum=total,
            min=min(r.min for r in members), max=max(r.max for r in members),
            avg=total / count if count else 0.0, sources=sources))
    return buckets
