"""Anomalies: daily values far outside the user's own usual range.

Each day of the window is scored against the user's other days with data in the 90-day window
that ends on it (the 89 days before it): the modified z-score 0.6745 (x - median) / MAD of
Iglewicz and Hoaglin, an anomaly from |z| 3.5. A day needs at least 14 baseline days. When MAD is
0 the mean absolute deviation stands in (z = (x - median) / (1.253314 MeanAD)); when that is 0
too (a constant baseline) no finite score exists and the day is left out.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from dataclasses import dataclass

from services.insight.analytics import stats
from services.insight.analytics.daily import Series, Window
from services.insight.analytics.wording import amount

BASELINE_DAYS = 90  # the window ending on the scored day, that day left out
MIN_BASELINE_DAYS = 14
Z_THRESHOLD = 3.5  # Iglewicz and Hoaglin (1993)
Z_CRITICAL = 7.0  # twice the outlier cut-off
WARNING, CRITICAL = "WARNING", "CRITICAL"


@dataclass(frozen=True)
class Anomaly:
    type: str
    unit: str
    date: dt.date
    start: dt.datetime
    end: dt.datetime
    value: float
    expected_min: float
    expected_max: float
    z: float
    severity: str
    description: str
    baseline_median: float
    baseline_days: int


def severity_of(z: float) -> str:
    return CRITICAL if abs(z) >= Z_CRITICAL else WARNING


def anomalies(s: Series, window: Window, display_name: str) -> list[Anomaly]:
    """The anomalies of the window's days, newest first. `s` must hold the 89 days before the
    window too (Window.extended_back(BASELINE_DAYS - 1))."""
    dates = [d.date for d in s.days]
    found: list[Anomaly] = []
    for i, day in enumerate(s.days):
        if day.date not in window:
            continue
        since = bisect_left(dates, day.date - dt.timedelta(days=BASELINE_DAYS - 1))
        baseline = [d.value for d in s.days[since:i]]
        if len(baseline) < MIN_BASELINE_DAYS:
            continue
        score = stats.robust_z(day.value, baseline, Z_THRESHOLD)
        if score is None or abs(score.z) < Z_THRESHOLD:
            continue
        low = max(score.low, s.info.min_value)
        high = min(score.high, s.info.max_value)
        side = "above" if score.z > 0 else "below"
        description = (f"Your {display_name.lower()} was {amount(day.value, s.info.unit)} on {day.date.isoformat()}, "
                       f"{side} your usual range of {amount(low, s.info.unit)} to {amount(high, s.info.unit)} "
                       f"(median {amount(score.median, s.info.unit)} over {len(baseline)} days; "
                       f"robust z {score.z:+.1f}).")
        found.append(Anomaly(s.type, s.info.unit, day.date, day.start, day.start + dt.timedelta(days=1), day.value,
                             low, high, score.z, severity_of(score.z), description, score.median, len(baseline)))
    found.reverse()
    return found
