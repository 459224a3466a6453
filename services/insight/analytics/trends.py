"""Trends: the least-squares line through a type's daily values over a window.

The slope is per day; change_percent is the fitted line's change from the window's first day to
its last, in percent of its first value. The direction is FLAT when the slope's 95 % confidence
interval (t distribution, n - 2 degrees of freedom) contains 0, otherwise UP or DOWN by its sign;
a constant series, two days or one (no interval) are FLAT, a window without data UNSPECIFIED.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from services.insight.analytics import stats
from services.insight.analytics.daily import Series, Window

UP, DOWN, FLAT, UNSPECIFIED = "UP", "DOWN", "FLAT", "UNSPECIFIED"


@dataclass(frozen=True)
class TrendPoint:
    date: dt.date
    value: float
    count: int


@dataclass(frozen=True)
class Trend:
    type: str
    unit: str
    direction: str
    slope_per_day: float
    change_percent: float
    average: float
    days_with_data: int
    start_date: dt.date
    end_date: dt.date
    points: tuple[TrendPoint, ...]
    slope_low: float | None = None  # the 95 % interval of the slope; None when it is unbounded
    slope_high: float | None = None


def trend(s: Series, window: Window) -> Trend:
    s = s.within(window)
    points = tuple(TrendPoint(d.date, d.value, d.count) for d in s.days)
    average = s.mean() or 0.0
    fit = stats.fit_line([window.index(d.date) for d in s.days], s.values())
    if fit is None:  # no day, or one
        direction = UNSPECIFIED if not s.days else FLAT
        return Trend(s.type, s.info.unit, direction, 0.0, 0.0, average, len(s), window.first, window.last, points)
    first = fit.intercept
    last = fit.intercept + fit.slope * (window.days - 1)
    change = (last - first) / abs(first) * 100 if first != 0 else 0.0
    if fit.significant:
        direction = UP if fit.slope > 0 else DOWN
    else:
        direction = FLAT
    bounded = math.isfinite(fit.slope_low) and math.isfinite(fit.slope_high)
    return Trend(s.type, s.info.unit, direction, fit.slope, change, average, len(s), window.first, window.last,
                 points, fit.slope_low if bounded else None, fit.slope_high if bounded else None)
