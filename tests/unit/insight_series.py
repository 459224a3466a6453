"""Synthetic daily series for the Insight analytics tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from services.insight.analytics.daily import SLEEP_TYPE, Day, Series, TypeInfo, Window

TODAY = dt.date(2026, 3, 31)

TYPES = {
    "step_count": TypeInfo("step_count", "{count}", True, "Steps", 0, 200_000),
    "active_energy": TypeInfo("active_energy", "kcal", True, "Active energy", 0, 20_000),
    "heart_rate": TypeInfo("heart_rate", "/min", False, "Heart rate", 20, 300),
    "resting_heart_rate": TypeInfo("resting_heart_rate", "/min", False, "Resting heart rate", 20, 250),
    "hrv": TypeInfo("hrv", "ms", False, "Heart rate variability (SDNN)", 0, 1000),
    "weight": TypeInfo("weight", "kg", False, "Weight", 0.5, 700),
    "height": TypeInfo("height", "m", False, "Height", 0.2, 2.8),
    "dietary_energy": TypeInfo("dietary_energy", "kcal", True, "Dietary energy", 0, 30_000),
    "protein": TypeInfo("protein", "g", True, "Protein", 0, 2000),
    "fiber": TypeInfo("fiber", "g", True, "Fiber", 0, 500),
    "sugar": TypeInfo("sugar", "g", True, "Sugar", 0, 2000),
    "water": TypeInfo("water", "mL", True, "Water", 0, 20_000),
    "sleep_asleep": SLEEP_TYPE,
}


def day(date: dt.date, value: float, count: int = 1) -> Day:
    return Day(date, value, count, value, value, dt.datetime.combine(date, dt.time(), dt.UTC))


def daily(type: str, values: Sequence[float | None], last: dt.date = TODAY) -> Series:
    """values[i] is the value of day last - (len - 1 - i); None leaves the day without data."""
    first = last - dt.timedelta(days=len(values) - 1)
    return Series(TYPES[type], tuple(day(first + dt.timedelta(days=i), v) for i, v in enumerate(values)
                                     if v is not None))


def window(days: int, last: dt.date = TODAY) -> Window:
    return Window.ending(last, days)
