"""Heart-rate zones: the maximum heart rate, the five zones built on it, and time in zone.
No grpc, protobuf or SQL here."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from services.common.errors import Violations

DEFAULT_WINDOW = dt.timedelta(days=7)
MAX_WINDOW = dt.timedelta(days=366)
MEASURED_LOOKBACK = dt.timedelta(days=365)
MIN_GIVEN_MAX, MAX_GIVEN_MAX = 100.0, 250.0
# Each heart_rate sample counts until the next one (from any source), at most this long, and the
# last one at most until the window's end. A gap longer than this is time without data, not time
# at the last heart rate. Two samples at the same instant (two sources) count once.
MAX_SAMPLE_SPAN = dt.timedelta(minutes=10)

# (zone, name, lower %, upper %) of the maximum heart rate.
ZONES = (
    (1, "Recovery", 50.0, 60.0),
    (2, "Endurance", 60.0, 70.0),
    (3, "Tempo", 70.0, 80.0),
    (4, "Threshold", 80.0, 90.0),
    (5, "Maximum", 90.0, 100.0),
)


class Basis(enum.IntEnum):
    UNSPECIFIED = 0
    GIVEN = 1
    AGE = 2
    MEASURED = 3


@dataclass(frozen=True)
class Zone:
    zone: int
    display_name: str
    min_percent: float
    max_percent: float
    min_bpm: float  # inclusive
    max_bpm: float  # exclusive, but zone 5 holds everything from its min_bpm up
    time_in_zone_seconds: int
    percent_of_time: float


@dataclass(frozen=True)
class ZoneReport:
    max_heart_rate: float
    basis: Basis
    age: int  # 0 unless basis is AGE
    resting_heart_rate: float | None
    start_time: dt.datetime
    end_time: dt.datetime
    zones: tuple[Zone, ...]
    below_zones_seconds: int
    total_seconds: int


def window(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime,
           v: Violations) -> tuple[dt.datetime, dt.datetime]:
    end = end or now
    start = start or end - DEFAULT_WINDOW
    if end <= start:
        v.add("end_time", "must be after start_time")
    elif end - start > MAX_WINDOW:
        v.add("end_time", "must be at most 366 days after start_time")
    return start, end


def check_given_max(value: float | None, basis: int, v: Violations) -> None:
    if basis not in Basis._value2member_map_:
        v.add("basis", "is not a known MaxHeartRateBasis")
    if value is not None and not MIN_GIVEN_MAX <= value <= MAX_GIVEN_MAX:
        v.add("max_heart_rate", f"must lie between {MIN_GIVEN_MAX:g} and {MAX_GIVEN_MAX:g}")
    elif value is None and basis == Basis.GIVEN:
        v.add("max_heart_rate", "is required for the basis GIVEN")


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def tanaka(age: int) -> float:
    """Maximum heart rate from age (Tanaka, Monahan and Seals, 2001)."""
    return round(208 - 0.7 * age, 1)


def bounds(max_hr: float) -> list[tuple[int, str, float, float, float, float]]:
    return [(z, name, lo, hi, round(max_hr * lo / 100, 1), round(max_hr * hi / 100, 1))
            for z, name, lo, hi in ZONES]


class TimeInZone:
    """Accumulates time per zone from heart_rate samples fed oldest first."""

    def __init__(self, max_hr: float, end: dt.datetime) -> None:
        self._bounds = bounds(max_hr)
        self._end = end
        self._seconds = [0.0] * (len(ZONES) + 1)  # index 0: below zone 1
        self._pending: tuple[dt.datetime, float] | None = None

    def _zone_index(self, bpm: float) -> int:
        for z, _, _, _, lo, hi in reversed(self._bounds):
            if bpm >= lo and (z == len(ZONES) or bpm < hi):
                return z
        return 0

    def _count(self, until: dt.datetime) -> None:
        if self._pending is None:
            return
        start, bpm = self._pending
        span = min(until, start + MAX_SAMPLE_SPAN, self._end) - start
        self._seconds[self._zone_index(bpm)] += max(span.total_seconds(), 0.0)

    def add(self, time: dt.datetime, bpm: float) -> None:
        self._count(time)
        self._pending = (time, bpm)

    def report(self) -> tuple[list[int], int, int]:
        """(seconds per zone 1-5, seconds below zone 1, total seconds)."""
        self._count(self._end)
        self._pending = None
        rounded = [round(s) for s in self._seconds]
        return rounded[1:], rounded[0], round(sum(self._seconds))

    def zones(self) -> tuple[list[Zone], int, int]:
        per_zone, below, total = self.report()
        zones = [Zone(z, name, lo, hi, lo_bpm, hi_bpm, secs, round(100.0 * secs / total, 1) if total else 0.0)
                 for (z, name, lo, hi, lo_bpm, hi_bpm), secs in zip(self._bounds, per_zone)]
        return zones, below, total
