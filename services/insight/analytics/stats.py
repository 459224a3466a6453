"""The numerics behind the analyses, on plain sequences of floats: no I/O, no protobuf.

Every function answers None where its figure is undefined (too few points, a constant series, a
MAD and mean absolute deviation of 0), so no NaN or infinity ever reaches a caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

# The 95 % two-sided interval: the t quantile at 0.975.
CONFIDENCE_QUANTILE = 0.975
# Iglewicz and Hoaglin (1993), "How to Detect and Handle Outliers": the modified z-score
# 0.6745 (x - median) / MAD, an outlier from |z| 3.5. 0.6745 is the 0.75 quantile of the standard
# normal, so MAD / 0.6745 estimates the standard deviation of normal data.
MAD_SCALE = 0.6745
# When MAD is 0 (more than half the values equal): z = (x - median) / (1.253314 MeanAD), where
# 1.253314 = sqrt(pi / 2) makes the mean absolute deviation estimate the standard deviation.
MEAN_AD_SCALE = 1.253314


@dataclass(frozen=True)
class LineFit:
    """An ordinary least-squares line y = intercept + slope x with the slope's 95 % interval."""

    slope: float
    intercept: float
    slope_stderr: float
    slope_low: float
    slope_high: float
    n: int

    @property
    def significant(self) -> bool:
        """Whether the slope's 95 % confidence interval excludes 0."""
        return self.slope_low > 0 or self.slope_high < 0


def fit_line(x: Sequence[float], y: Sequence[float]) -> LineFit | None:
    """Least squares as scipy.stats.linregress computes it (slope, intercept, stderr), with the
    interval slope ± t(0.975, n - 2) stderr. None for fewer than 2 points or a constant x.
    With 2 points the interval is unbounded (no degrees of freedom): it always contains 0."""
    n = len(x)
    if n != len(y) or n < 2:
        return None
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx, dy = xs - xs.mean(), ys - ys.mean()
    sxx = float(dx @ dx)
    if sxx <= 0:
        return None
    slope = float(dx @ dy) / sxx
    intercept = float(ys.mean()) - slope * float(xs.mean())
    if n == 2:
        return LineFit(slope, intercept, math.inf, -math.inf, math.inf, n)
    residuals = dy - slope * dx
    sse = max(float(residuals @ residuals), 0.0)
    stderr = math.sqrt(sse / (n - 2) / sxx)
    if stderr < 1e-12 * max(abs(slope), 1.0) + 1e-300:  # an exact line: rounding is no uncertainty
        stderr = 0.0
    half = float(special.stdtrit(n - 2, CONFIDENCE_QUANTILE)) * stderr
    return LineFit(slope, intercept, stderr, slope - half, slope + half, n)


def _median_of_sorted(v: list[float]) -> float:
    n = len(v)
    mid = n // 2
    return v[mid] if n % 2 else (v[mid - 1] + v[mid]) / 2


def median_and_mad(values: Sequence[float]) -> tuple[float, float, float]:
    """The median, the median absolute deviation and the mean absolute deviation (about the
    median). Plain Python: for the ~90 values of a baseline it is ten times numpy's speed, and
    anomalies score every day of every type."""
    median = _median_of_sorted(sorted(values))
    deviations = sorted(abs(x - median) for x in values)
    return median, _median_of_sorted(deviations), math.fsum(deviations) / len(deviations)


@dataclass(frozen=True)
class RobustScore:
    """How far a value lies from a baseline: the modified z-score and the range of values whose
    |z| would stay below `limit`."""

    z: float
    median: float
    low: float
    high: float
    scale_by_mad: bool  # False when MAD was 0 and the mean absolute deviation stood in


def robust_z(value: float, baseline: Sequence[float], limit: float) -> RobustScore | None:
    """The modified z-score of value against baseline; None when baseline is empty or constant
    (MAD and mean absolute deviation both 0), where no finite score exists."""
    if len(baseline) == 0:
        return None
    median, mad, mean_ad = median_and_mad(baseline)
    if mad > 0:
        spread, by_mad = mad / MAD_SCALE, True
    elif mean_ad > 0:
        spread, by_mad = MEAN_AD_SCALE * mean_ad, False
    else:
        return None
    z = (value - median) / spread
    return RobustScore(z, median, median - limit * spread, median + limit * spread, by_mad)


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n with ties given the mean of their ranks, as scipy.stats.rankdata's default
    ("average"), without its per-call overhead (the correlations rank a few hundred series)."""
    a = np.asarray(values, dtype=float)
    n = len(a)
    order = a.argsort(kind="mergesort")
    ordered = a[order]
    ranks = np.empty(n, dtype=float)
    new_value = np.empty(n, dtype=bool)
    new_value[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new_value[1:])
    if new_value.all():  # no ties
        ranks[order] = np.arange(1, n + 1, dtype=float)
        return ranks
    starts = np.flatnonzero(new_value)  # where each run of equal values starts, then the end
    ends = np.append(starts[1:], n)
    mean_rank = (starts + ends + 1) / 2.0  # the run holds ranks starts+1 .. ends
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


@dataclass(frozen=True)
class RankCorrelation:
    rho: float
    p_value: float
    n: int


def spearman(x: Sequence[float], y: Sequence[float]) -> RankCorrelation | None:
    """Spearman's rho (Pearson's r of the average ranks) with the two-sided p-value exactly as
    scipy.stats.spearmanr computes it: t = rho sqrt((n - 2) / ((1 - rho)(1 + rho))) on n - 2
    degrees of freedom. None for fewer than 3 pairs or a constant series (rho undefined)."""
    n = len(x)
    if n != len(y) or n < 3:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    dx, dy = rx - rx.mean(), ry - ry.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 0 or syy <= 0:
        return None
    rho = max(-1.0, min(1.0, float(dx @ dy) / math.sqrt(sxx * syy)))
    dof = n - 2
    denominator = (1.0 - rho) * (1.0 + rho)
    t = math.inf if denominator <= 0 else rho * math.sqrt(dof / denominator)
    p = 0.0 if math.isinf(t) else float(2 * special.stdtr(dof, -abs(t)))
    return RankCorrelation(rho, min(1.0, max(0.0, p)), n)
