"""Daily values, as the analyses read them: one value per local day and type.

A day's value is Tracking's DAY aggregate (the sum for SUM types, the mean for SAMPLE types) on
each sample's own local day, so a traveller's days follow their offsets. Nightly sleep is the
time asleep of each night, keyed by the local date the night ends on, as type `sleep_asleep`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

SLEEP_ASLEEP = "sleep_asleep"
SLEEP_UNIT = "h"

# Local days exist from UTC-12 to UTC+14: a window of local dates is fetched from the earliest
# instant one of its days can start to the latest one can end, and cut to its dates.
EARLIEST_OFFSET = dt.timedelta(hours=14)
LATEST_OFFSET = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Window:
    """Local dates first..last, inclusive."""

    first: dt.date
    last: dt.date

    @classmethod
    def ending(cls, last: dt.date, days: int) -> Window:
        return cls(last - dt.timedelta(days=days - 1), last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def __contains__(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Instants that hold every local day of the window at any offset."""
        start = dt.datetime.combine(self.first, dt.time(), dt.UTC) - EARLIEST_OFFSET
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), dt.UTC) + LATEST_OFFSET
        return start, end

    def extended_back(self, days: int) -> Window:
        return Window(self.first - dt.timedelta(days=days), self.last)

    def previous(self) -> Window:
        """The window of the same length just before."""
        return Window.ending(self.first - dt.timedelta(days=1), self.days)

    def index(self, day: dt.date) -> int:
        """Days since the window's first day."""
        return (day - self.first).days


@dataclass(frozen=True)
class Day:
    """One local day of one type: its value and what made it."""

    date: dt.date
    value: float  # the sum (SUM types), the mean (SAMPLE types), the hours asleep (sleep)
    count: int  # samples (or sleep sessions' nights: 1)
    low: float  # the smallest sample (SAMPLE types) or the value itself
    high: float
    start: dt.datetime  # local midnight of the day, as an instant (at the day's own offset)


@dataclass(frozen=True)
class TypeInfo:
    """What the analyses need from Tracking's catalog entry of a type."""

    type: str
    unit: str
    summing: bool
    display_name: str
    min_value: float = float("-inf")
    max_value: float = float("inf")
    units: tuple[tuple[str, float, float], ...] = ()  # (unit, factor, offset): canonical = v * factor + offset
    has_value2: bool = False

    def to_canonical(self, value: float, unit: str) -> float | None:
        """The value in the canonical unit; None when Tracking does not convert from `unit`."""
        if unit in ("", self.unit):
            return value
        for name, factor, offset in self.units:
            if name == unit:
                return value * factor + offset
        return None


SLEEP_TYPE = TypeInfo(SLEEP_ASLEEP, SLEEP_UNIT, False, "Sleep", 0.0, 24.0)


@dataclass(frozen=True)
class Series:
    """A type's days with data, oldest first."""

    info: TypeInfo
    days: tuple[Day, ...]

    @property
    def type(self) -> str:
        return self.info.type

    def within(self, window: Window) -> Series:
        return Series(self.info, tuple(d for d in self.days if d.date in window))

    def by_date(self) -> dict[dt.date, float]:
        return {d.date: d.value for d in self.days}

    def values(self) -> list[float]:
        return [d.value for d in self.days]

    def mean(self) -> float | None:
        """The mean of the daily values: over the days with data, never the empty ones."""
        return sum(d.value for d in self.days) / len(self.days) if self.days else None

    def __len__(self) -> int:
        return len(self.days)


def series(info: TypeInfo, days: Iterable[Day], window: Window) -> Series:
    """The days of `window`, one per date (the first seen wins), oldest first."""
    kept: dict[dt.date, Day] = {}
    for d in days:
        if d.date in window and d.date not in kept:
            kept[d.date] = d
    return Series(info, tuple(kept[k] for k in sorted(kept)))
