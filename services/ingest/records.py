"""What the import parsers produce, whatever the input format: records ready for Tracking, and
the items they read but could not or would not store. Every item read yields exactly one of
these, so the counts per input metric add up to the input.

`metric` is the input's own name for what the item is (the key the Ingestion counts it under:
`heart_rate` for Health Auto Export, `HKQuantityTypeIdentifierHeartRate` for Apple Health);
`path` says where it was (`$.data.metrics[0].data[3]` or `/HealthData/Record[12]`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(slots=True)  # not frozen: one per imported point, and a frozen init costs several times more
class SampleRecord:
    """One Tracking sample (types and units as Tracking's catalog and its input units accept)."""

    metric: str
    path: str
    type: str
    start_time: dt.datetime
    end_time: dt.datetime | None
    utc_offset_minutes: int | None
    value: float
    unit: str
    source: str = ""
    min: float | None = None
    max: float | None = None
    value2: float | None = None
    meal_context: int = 0  # tracking.v1.MealContext


@dataclass(frozen=True)
class RoutePoint:
    time: dt.datetime
    latitude: float
    longitude: float
    altitude_m: float | None = None
    speed_mps: float | None = None
    course_deg: float | None = None
    horizontal_accuracy_m: float | None = None


@dataclass(frozen=True)
class HeartRatePoint:
    time: dt.datetime
    bpm: float
    min_bpm: float | None = None
    max_bpm: float | None = None


@dataclass(frozen=True)
class WorkoutRecord:
    """One activity (Tracking's Activity); amounts in canonical units, None when not given."""

    metric: str
    path: str
    type: str  # Tracking's workout type key
    name: str  # the input's own name for it, for example "Outdoor Walk"
    start_time: dt.datetime
    end_time: dt.datetime
    utc_offset_minutes: int | None
    source: str = ""
    distance_m: float | None = None
    active_energy_kcal: float | None = None
    steps: float | None = None
    elevation_ascent_m: float | None = None
    elevation_descent_m: float | None = None
    heart_rate_min: float | None = None
    heart_rate_avg: float | None = None
    heart_rate_max: float | None = None
    heart_rate_series: tuple[HeartRatePoint, ...] = ()
    route: tuple[RoutePoint, ...] = ()
    temperature_c: float | None = None
    humidity_percent: float | None = None
    notes: str = ""
    extra: dict[str, float] = field(default_factory=dict)  # other per-workout figures, by name


@dataclass(frozen=True)
class SleepStage:
    stage: str  # AWAKE, CORE, DEEP, REM, IN_BED, ASLEEP (tracking.v1.SleepStage names)
    start_time: dt.datetime
    end_time: dt.datetime


@dataclass(frozen=True)
class SleepRecord:
    """One night (Tracking's SleepSession), or one stage segment to be joined into a night."""

    metric: str
    path: str
    start_time: dt.datetime
    end_time: dt.datetime
    utc_offset_minutes: int | None
    source: str = ""
    stages: tuple[SleepStage, ...] = ()
    asleep_seconds: int | None = None
    in_bed_seconds: int | None = None


@dataclass(frozen=True)
class ProfileRecord:
    """What an export says about its owner (Apple Health's Me element)."""

    metric: str
    path: str
    birth_date: dt.date | None = None
    sex: str = ""  # FEMALE, MALE, OTHER or ""


@dataclass(frozen=True)
class Skipped:
    """An item read and understood but not stored (no mapping yet); a reprocess may store it."""

    metric: str
    path: str
    reason: str  # UPPER_SNAKE, for example UNSUPPORTED_METRIC


@dataclass(frozen=True)
class Rejected:
    """An item that is malformed (bad date, missing value); the rest of the input goes on."""

    metric: str
    path: str
    reason: str  # UPPER_SNAKE, for example INVALID_DATE
    message: str


Record = SampleRecord | WorkoutRecord | SleepRecord | ProfileRecord | Skipped | Rejected


class PayloadError(Exception):
    """The input as a whole cannot be read: invalid JSON, a truncated body, a wrong top-level
    shape, a zip without export.xml. Says where."""

    def __init__(self, path: str, reason: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = reason
        self.message = message
