"""Correlations: Spearman's rho between two types' daily values, the first on day d and the
second on day d + lag (0 to 3), over the days on which both have data. A pair is reported when it
has at least 14 such days, |rho| ≥ 0.3 and p < 0.05 (p as scipy.stats.spearmanr computes it). A
constant series has no rank correlation and is never reported. Correlation is not cause.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import combinations

from services.insight.analytics import stats
from services.insight.analytics.daily import SLEEP_ASLEEP, Series

CORRELATED_TYPES = ("step_count", "active_energy", SLEEP_ASLEEP, "resting_heart_rate", "hrv", "weight",
                    "dietary_energy", "water")
MAX_LAG_DAYS = 3
MIN_PAIRS = 14
MIN_ABS_RHO = 0.3
MAX_P_VALUE = 0.05


@dataclass(frozen=True)
class Correlation:
    first_type: str
    second_type: str
    rho: float
    lag_days: int
    n: int
    p_value: float
    description: str


def _pairs(first: dict[dt.date, float], second: dict[dt.date, float], lag: int) -> tuple[list[float], list[float]]:
    shift = dt.timedelta(days=lag)
    xs, ys = [], []
    for day in sorted(first):
        other = second.get(day + shift)
        if other is not None:
            xs.append(first[day])
            ys.append(other)
    return xs, ys


def _describe(first: str, second: str, rho: float, lag: int, n: int, p: float) -> str:
    later = "on the same day" if lag == 0 else f"{lag} day{'s' if lag > 1 else ''} later"
    way = "higher" if rho > 0 else "lower"
    return (f"When your {first} was higher, your {second} {later} tended to be {way} "
            f"(Spearman's rho {rho:+.2f} over {n} days, p = {p:.2g}). This is a pattern, not a cause.")


def correlations(series: dict[str, Series], names: dict[str, str], only_type: str = "") -> list[Correlation]:
    """The reported correlations among CORRELATED_TYPES (those including only_type when given),
    the largest |rho| first. `names` are the types' names for people."""
    values = {t: series[t].by_date() for t in CORRELATED_TYPES if t in series and len(series[t]) >= MIN_PAIRS}
    found: list[Correlation] = []
    for a, b in combinations([t for t in CORRELATED_TYPES if t in values], 2):
        if only_type and only_type not in (a, b):
            continue
        tests = [(a, b, 0)] + [(x, y, lag) for lag in range(1, MAX_LAG_DAYS + 1) for x, y in ((a, b), (b, a))]
        for first, second, lag in tests:
            xs, ys = _pairs(values[first], values[second], lag)
            if len(xs) < MIN_PAIRS:
                continue
            r = stats.spearman(xs, ys)
            if r is None or abs(r.rho) < MIN_ABS_RHO or r.p_value >= MAX_P_VALUE:
                continue
            found.append(Correlation(first, second, r.rho, lag, r.n, r.p_value, _describe(
                names.get(first, first).lower(), names.get(second, second).lower(), r.rho, lag, r.n, r.p_value)))
    found.sort(key=lambda c: (-abs(c.rho), c.p_value, c.first_type, c.second_type, c.lag_days))
    return found
