"""Samples: the canonical measured value, and what aggregates report. No grpc, protobuf or SQL."""

from __future__ import annotations

import datetime as dt
import enum
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.tracking.samples.catalog import CATALOG


class MealContext(enum.IntEnum):
    UNSPECIFIED = 0
    GENERAL = 1
    FASTING = 2
    BEFORE_MEAL = 3
    AFTER_MEAL = 4


MEAL_CONTEXTS = tuple(MealContext)  # by value: 0..4


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


# Input checks: one bad item is reported with a reason and never sinks the batch.

MIN_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
ONE_DAY = dt.timedelta(days=1)
MAX_OFFSET_MINUTES = 18 * 60
MAX_BATCH = 10_000


@dataclass(slots=True)  # not frozen: built once per sample on the bulk path, where frozen costs
class SampleInput:
    """A sample as a client sent it, before checks and unit conversion."""

    type: str
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    utc_offset_minutes: int | None
    value: float
    min: float | None
    max: float | None
    value2: float | None
    unit: str
    source: str
    meal_context: int = 0


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    reason: str
    message: str


@dataclass(slots=True)  # not frozen, for the same reason as SampleInput
class Checked:
    """A sample that passed the checks, converted to the canonical unit, not yet stored."""

    type: str
    start_time: dt.datetime
    end_time: dt.datetime
    utc_offset_minutes: int
    value: float
    min: float | None
    max: float | None
    value2: float | None
    unit: str
    original_value: float
    original_unit: str
    source: str
    meal_context: MealContext

    @property
    def key(self) -> tuple[str, dt.datetime, str]:
        return (self.type, self.start_time, self.source)

    def same_values(self, other: "Checked | Sample") -> bool:
        return (self.end_time, self.utc_offset_minutes, self.value, self.min, self.max, self.value2,
                self.meal_context) == (other.end_time, other.utc_offset_minutes, other.value, other.min,
                                       other.max, other.value2, MealContext(other.meal_context))


def check_sample(index: int, item: SampleInput, now: dt.datetime, default_offset: Callable[[dt.datetime], int],
                 default_source: str = "") -> Checked | ItemError:
    """Checks one sample and converts it to its type's canonical unit."""
    def error(field: str, reason: str, message: str) -> ItemError:
        return ItemError(index, field, reason, message)

    spec = CATALOG.get(item.type)
    if not item.type:
        return error("type", "MISSING_FIELD", "type is required")
    if spec is None:
        return error("type", "UNKNOWN_TYPE", f"{item.type!r} is not a sample type; see GET /v1/sampleTypes")
    if not item.unit:
        return error("unit", "MISSING_FIELD", f"unit is required (the canonical unit of {item.type} is {spec.unit})")
    if item.start_time is None:
        return error("start_time", "MISSING_FIELD", "start_time is required")
    latest = now + ONE_DAY
    if not MIN_TIME <= item.start_time <= latest:
        return error("start_time", "TIME_OUT_OF_RANGE", "start_time must lie between 1900-01-01 and a day from now")
    end = item.end_time or item.start_time
    if end < item.start_time:
        return error("end_time", "END_BEFORE_START", "end_time is before start_time")
    if end > latest:
        return error("end_time", "TIME_OUT_OF_RANGE", "end_time lies more than a day in the future")
    offset = item.utc_offset_minutes if item.utc_offset_minutes is not None else default_offset(item.start_time)
    if not -MAX_OFFSET_MINUTES <= offset <= MAX_OFFSET_MINUTES:
        return error("utc_offset_minutes", "OFFSET_OUT_OF_RANGE", "utc_offset_minutes must lie between -1080 and 1080")
    if spec.convert(1.0, item.unit) is None:  # the unit, checked once for all four values
        return error("unit", "UNKNOWN_UNIT", f"{item.unit!r} is not a unit of {item.type}; accepted: "
                     + ", ".join(sorted(u for u in spec.units if u)))
    converted: list[float | None] = []
    for name, raw in (("value", item.value), ("min", item.min), ("max", item.max), ("value2", item.value2)):
        if raw is None:
            converted.append(None)
            continue
        if not math.isfinite(raw):
            return error(name, "INVALID_VALUE", f"{name} must be a finite number")
        value = spec.convert(raw, item.unit)
        if not spec.min_value <= value <= spec.max_value:
            return error(name, "VALUE_OUT_OF_RANGE", f"{name} {value:g} {spec.unit} is outside the valid range "
                         f"{spec.min_value:g} to {spec.max_value:g} {spec.unit} of {item.type}")
        converted.append(value)
    value, low, high, value2 = converted
    if spec.value2_meaning and value2 is None:
        return error("value2", "MISSING_FIELD", f"{item.type} needs value2 ({spec.value2_meaning})")
    if not spec.value2_meaning and value2 is not None:
        return error("value2", "INVALID_VALUE", f"{item.type} has no second value")
    if (low is not None and low > value) or (high is not None and high < value):
        return error("value", "INVALID_VALUE", "value must lie between min and max")
    if not 0 <= item.meal_context < len(MEAL_CONTEXTS):
        return error("meal_context", "INVALID_VALUE", "meal_context is not a known value")
    meal = MEAL_CONTEXTS[item.meal_context]
    return Checked(item.type, item.start_time, end, offset, value, low, high, value2, spec.unit, item.value, item.unit,
                   (item.source or default_source).strip(), meal)


# Sample ids carry their start time, so a name leads straight to the time partition holding it:
# UUID version 8 (RFC 9562, custom) with 48 bits of milliseconds since 1900-01-01, then random.

EPOCH_1900 = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def new_sample_id(start_time: dt.datetime) -> uuid.UUID:
    ms = (start_time - EPOCH_1900) // dt.timedelta(milliseconds=1)
    rand = random.getrandbits(80)  # uniqueness, not secrecy: the id is no credential
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x8 << 76 | (rand >> 64 & 0x0FFF) << 64 | 0b10 << 62
    return uuid.UUID(int=value | rand & 0x3FFF_FFFF_FFFF_FFFF)


def start_of_sample_id(sample_id: uuid.UUID) -> dt.datetime | None:
    if sample_id.version != 8:
        return None
    return EPOCH_1900 + dt.timedelta(milliseconds=sample_id.int >> 80)


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


@dataclass(frozen=True)
class HourRow:
    """One hourly rollup row: a source's samples of one type within one local hour."""

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
    for row in rows:
        groups.setdefault(bucket_start(row.local_hour, interval), []).append(row)
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
