"""Nutrition entries and their rules. No grpc, protobuf or SQL here."""

from __future__ import annotations

import datetime as dt
import enum
import math
import uuid
from dataclasses import dataclass

from services.common import checks
from services.common.errors import Violations
from services.tracking.local_time import local_date


class MealType(enum.IntEnum):
    UNSPECIFIED = 0
    BREAKFAST = 1
    LUNCH = 2
    DINNER = 3
    SNACK = 4
    DRINK = 5


@dataclass(frozen=True)
class Amount:
    """One nutrient an entry may carry, and the dietary sample type it is recorded as."""

    field: str
    sample_type: str
    unit: str  # the sample type's canonical UCUM unit
    max_value: float  # above this one entry is implausible


AMOUNTS: tuple[Amount, ...] = (
    Amount("calories_kcal", "dietary_energy", "kcal", 20_000),
    Amount("protein_grams", "protein", "g", 2_000),
    Amount("carbs_grams", "carbs", "g", 2_000),
    Amount("fat_grams", "fat", "g", 2_000),
    Amount("fiber_grams", "fiber", "g", 1_000),
    Amount("sugar_grams", "sugar", "g", 2_000),
    Amount("water_ml", "water", "mL", 10_000),
    Amount("caffeine_mg", "caffeine", "mg", 5_000),
)
AMOUNT_FIELDS = tuple(a.field for a in AMOUNTS)

MAX_FOOD_NAME = 200
MAX_NOTES = 2_000
MAX_SOURCE = 200
MAX_OFFSET_MINUTES = 1_080
MIN_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
MAX_SUMMARY_DAYS = 366
DEFAULT_SUMMARY_DAYS = 7

# What UpdateNutritionEntry may name; the rest of the message is output-only or the name.
UPDATABLE_FIELDS = frozenset({
    "meal_type", "consume_time", "utc_offset_minutes", "food_name", "notes", "source", *AMOUNT_FIELDS,
})
OUTPUT_ONLY_FIELDS = frozenset({"name", "local_date", "create_time", "update_time"})


@dataclass(frozen=True)
class EntryFields:
    """An entry as a client sends it (create, or the new values of an update)."""

    meal_type: int = 0
    consume_time: dt.datetime | None = None
    utc_offset_minutes: int | None = None
    food_name: str = ""
    notes: str = ""
    source: str = ""
    calories_kcal: float | None = None
    protein_grams: float | None = None
    carbs_grams: float | None = None
    fat_grams: float | None = None
    fiber_grams: float | None = None
    sugar_grams: float | None = None
    water_ml: float | None = None
    caffeine_mg: float | None = None


@dataclass(frozen=True)
class NutritionEntry:
    id: uuid.UUID
    user_id: uuid.UUID
    meal_type: MealType
    consume_time: dt.datetime  # UTC
    utc_offset_minutes: int  # always stored: given, or the user's zone at consume_time
    food_name: str
    notes: str
    source: str
    calories_kcal: float | None
    protein_grams: float | None
    carbs_grams: float | None
    fat_grams: float | None
    fiber_grams: float | None
    sugar_grams: float | None
    water_ml: float | None
    caffeine_mg: float | None
    create_time: dt.datetime
    update_time: dt.datetime

    @property
    def local_date(self) -> dt.date:
        return local_date(self.consume_time, self.utc_offset_minutes)


@dataclass(frozen=True)
class EntryFilter:
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    meal_type: MealType = MealType.UNSPECIFIED


@dataclass
class DailyNutrition:
    local_date: dt.date
    entry_count: int = 0
    calories_kcal: float = 0.0
    protein_grams: float = 0.0
    carbs_grams: float = 0.0
    fat_grams: float = 0.0
    fiber_grams: float = 0.0
    sugar_grams: float = 0.0
    water_ml: float = 0.0
    caffeine_mg: float = 0.0


@dataclass(frozen=True)
class DietarySample:
    """A dietary sample made from the entries at one natural key (type, start_time, source)."""

    type: str
    start_time: dt.datetime
    utc_offset_minutes: int
    value: float
    unit: str
    source: str


def validate_fields(f: EntryFields, now: dt.datetime, v: Violations, prefix: str = "nutrition_entry",
                    only: frozenset[str] | None = None) -> None:
    """Checks the fields of an entry; `only` limits the checks to the paths of an update mask."""

    def checks(name: str) -> bool:
        return only is None or name in only

    if checks("meal_type") and f.meal_type not in MealType._value2member_map_:
        v.add(f"{prefix}.meal_type", "is not a known meal type")
    if checks("consume_time"):
        if f.consume_time is None:
            v.add(f"{prefix}.consume_time", "is required")
        elif not MIN_TIME <= f.consume_time <= now + dt.timedelta(days=1):
            v.add(f"{prefix}.consume_time", "must lie between 1900-01-01 and one day after now")
    if checks("utc_offset_minutes") and f.utc_offset_minutes is not None \
            and abs(f.utc_offset_minutes) > MAX_OFFSET_MINUTES:
        v.add(f"{prefix}.utc_offset_minutes", f"must lie between -{MAX_OFFSET_MINUTES} and {MAX_OFFSET_MINUTES}")
    for name, limit in (("food_name", MAX_FOOD_NAME), ("notes", MAX_NOTES), ("source", MAX_SOURCE)):
        if checks(name) and len(getattr(f, name)) > limit:
            v.add(f"{prefix}.{name}", f"must have at most {limit} characters")
    for a in AMOUNTS:
        value = getattr(f, a.field)
        if not checks(a.field) or value is None:
            continue
        if not math.isfinite(value) or value < 0:
            v.add(f"{prefix}.{a.field}", "must be a number zero or above")
        elif value > a.max_value:
            v.add(f"{prefix}.{a.field}", f"is implausible for one entry (at most {a.max_value:g})")


def has_amount(f: EntryFields | NutritionEntry) -> bool:
    return any(getattr(f, name) is not None for name in AMOUNT_FIELDS)


def summary_range(start: str, end: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The local dates SummarizeNutrition covers, with the request's defaults and limits."""
    v = Violations()
    start_date = checks.calendar_date(start, "start_date", v)
    end_date = checks.calendar_date(end, "end_date", v)
    v.raise_if_any()
    end_date = end_date or today
    start_date = start_date or end_date - dt.timedelta(days=DEFAULT_SUMMARY_DAYS - 1)
    if end_date < start_date:
        v.add("end_date", "must not be before start_date")
    elif (end_date - start_date).days + 1 > MAX_SUMMARY_DAYS:
        v.add("end_date", f"the range must cover at most {MAX_SUMMARY_DAYS} days")
    v.raise_if_any()
    return start_date, end_date


def dietary_samples(entries: list[NutritionEntry], start_time: dt.datetime, source: str) -> list[DietarySample]:
    """The dietary samples at one natural key: the sum of every entry there, per nutrient.

    Entries logged at the same instant from the same source share the samples' natural key, so
    the samples carry their total rather than whichever entry was written last.
    """
    out = []
    for a in AMOUNTS:
        values = [getattr(e, a.field) for e in entries if getattr(e, a.field) is not None]
        if values:
            offset = entries[0].utc_offset_minutes
            out.append(DietarySample(a.sample_type, start_time, offset, float(sum(values)), a.unit, source))
    return out
