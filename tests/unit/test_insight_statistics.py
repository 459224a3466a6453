"""Honest statistics: every figure of the analyses against numpy or scipy computed here, on
synthetic series with known answers. Tolerances: 1e-9 relative for what should be the same
arithmetic, wider (stated per test) where a sample estimates a known population value."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from services.insight.analytics import stats
from services.insight.analytics.anomalies import anomalies
from services.insight.analytics.correlations import correlations
from services.insight.analytics.daily import Series
from services.insight.analytics.trends import DOWN, FLAT, UNSPECIFIED, UP, trend
from tests.unit.insight_series import TODAY, TYPES, daily, window

NAMES = {t: i.display_name for t, i in TYPES.items()}


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


# Trends


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_trend_of_known_slope_matches_linregress_and_its_interval(seed):
    rng = np.random.default_rng(seed)
    x = np.arange(60.0)
    y = 7000 + 25.0 * x + rng.normal(0, 300, 60)  # +25 steps a day
    s = daily("step_count", list(y))
    t = trend(s, window(60))
    ref = scipy_stats.linregress(x, y)
    half = scipy_stats.t.ppf(0.975, 58) * ref.stderr
    assert t.slope_per_day == pytest.approx(ref.slope, rel=1e-9)
    assert t.slope_low == pytest.approx(ref.slope - half, rel=1e-9)
    assert t.slope_high == pytest.approx(ref.slope + half, rel=1e-9)
    assert t.slope_low < 25.0 < t.slope_high or abs(ref.slope - 25) < 3 * ref.stderr  # covers the truth
    assert t.direction == UP
    first, last = ref.intercept, ref.intercept + ref.slope * 59
    assert t.change_percent == pytest.approx((last - first) / first * 100, rel=1e-9)
    assert t.average == pytest.approx(y.mean(), rel=1e-12)
    assert t.days_with_data == 60 and len(t.points) == 60


def test_a_falling_trend_with_gaps_uses_day_numbers_not_positions():
    values = [80.0 - 0.2 * i if i % 3 else None for i in range(30)]  # every third day missing
    t = trend(daily("weight", values), window(30))
    x = np.array([i for i in range(30) if i % 3], dtype=float)
    ref = scipy_stats.linregress(x, 80.0 - 0.2 * x)
    assert t.slope_per_day == pytest.approx(ref.slope, rel=1e-9) == pytest.approx(-0.2, rel=1e-9)
    assert t.direction == DOWN  # an exact line: a zero-width interval below 0
    assert t.days_with_data == 20


def test_noise_without_slope_is_flat_because_the_interval_holds_zero():
    rng = np.random.default_rng(7)
    y = 60 + rng.normal(0, 2, 30)
    ref = scipy_stats.linregress(np.arange(30.0), y)
    half = scipy_stats.t.ppf(0.975, 28) * ref.stderr
    t = trend(daily("resting_heart_rate", list(y)), window(30))
    assert (ref.slope - half <= 0 <= ref.slope + half) == (t.direction == FLAT)


@pytest.mark.parametrize("values, direction", [
    ([5.0] * 20, FLAT),  # constant: slope 0, interval [0, 0]
    ([5.0], FLAT),  # one day: no line
    ([5.0, 9.0], FLAT),  # two days: no degrees of freedom, no bounded interval
    ([], UNSPECIFIED),  # an empty window
])
def test_degenerate_trends_are_flat_or_unspecified_and_never_nan(values, direction):
    s = daily("weight", values) if values else Series(TYPES["weight"], ())
    t = trend(s, window(30))
    assert t.direction == direction
    assert _finite(t.slope_per_day, t.change_percent, t.average)
    assert (t.slope_low is None) == (len(values) < 3)


# Anomalies


def test_a_spike_of_known_robust_z_is_found_with_its_range():
    rng = np.random.default_rng(11)
    baseline = list(np.round(8000 + rng.normal(0, 800, 89)))
    spike = 16000.0
    s = daily("step_count", baseline + [spike])
    found = anomalies(s, window(1), "Steps")
    med = np.median(baseline)
    mad = np.median(np.abs(np.array(baseline) - med))
    z = 0.6745 * (spike - med) / mad
    assert len(found) == 1
    a = found[0]
    assert a.z == pytest.approx(z, rel=1e-12)
    assert a.date == TODAY and a.value == spike and a.baseline_days == 89
    assert a.expected_min == pytest.approx(med - 3.5 * mad / 0.6745, rel=1e-12)
    assert a.expected_max == pytest.approx(med + 3.5 * mad / 0.6745, rel=1e-12)
    assert a.severity == ("CRITICAL" if abs(z) >= 7 else "WARNING")
    assert "16,000" in a.description and a.end - a.start == dt.timedelta(days=1)


def test_the_cut_off_is_3_5_on_either_side():
    base = [100.0 + (i % 9) for i in range(45)]  # median 104, MAD 2
    med, mad = 104.0, 2.0
    below = med - 3.5 * mad / 0.6745 * 0.99  # just inside
    beyond = med - 3.5 * mad / 0.6745 * 1.01  # just outside, below
    assert np.median(base) == med and np.median(np.abs(np.array(base) - med)) == mad
    assert anomalies(daily("resting_heart_rate", base + [below]), window(1), "x") == []
    found = anomalies(daily("resting_heart_rate", base + [beyond]), window(1), "x")
    assert len(found) == 1 and found[0].z == pytest.approx(-3.5 * 1.01, rel=1e-9)


def test_the_baseline_is_the_90_days_up_to_the_day_not_older_ones():
    old = [1000.0] * 50  # outside the 90-day window of the scored day
    recent = [5000.0 + (i % 7) * 100 for i in range(89)]
    s = daily("step_count", old + recent + [5300.0])
    assert anomalies(s, window(1), "Steps") == []  # usual against the recent days


def test_fewer_than_14_baseline_days_score_nothing():
    s = daily("water", [2000.0 + i for i in range(13)] + [9000.0])
    assert anomalies(s, window(1), "Water") == []
    s = daily("water", [2000.0 + (i % 5) * 10 for i in range(14)] + [9000.0])
    assert len(anomalies(s, window(1), "Water")) == 1


def test_a_mad_of_zero_falls_back_to_the_mean_absolute_deviation():
    base = [70.0] * 20 + [71.0, 72.0, 69.0]  # MAD 0, mean absolute deviation > 0
    x = 80.0
    s = daily("resting_heart_rate", base + [x])
    found = anomalies(s, window(1), "Resting heart rate")
    med = np.median(base)
    assert np.median(np.abs(np.array(base) - med)) == 0
    mean_ad = np.mean(np.abs(np.array(base) - med))
    assert len(found) == 1
    assert found[0].z == pytest.approx((x - med) / (1.253314 * mean_ad), rel=1e-12)


def test_a_constant_baseline_leaves_the_day_out():
    s = daily("resting_heart_rate", [70.0] * 30 + [90.0])
    assert anomalies(s, window(1), "Resting heart rate") == []


def test_anomalies_come_newest_first_and_the_expected_range_stays_valid():
    base = [300.0 + (i % 5) * 50 for i in range(60)]
    s = daily("water", base + [5000.0, 400.0, 6000.0])
    found = anomalies(s, window(3), "Water")
    assert [a.date for a in found] == [TODAY, TODAY - dt.timedelta(days=2)]
    assert all(a.expected_min >= 0 for a in found)  # not below the type's valid minimum


# Correlations


def _correlated(n: int, r: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = r * x + math.sqrt(1 - r * r) * rng.normal(size=n)
    return x, y


def test_a_correlation_of_known_r_matches_spearmanr():
    x, y = _correlated(90, 0.7, 3)
    steps = 8000 + 1500 * x
    sleep = 7 + 0.5 * y
    series = {"step_count": daily("step_count", list(np.round(steps))),
              "sleep_asleep": daily("sleep_asleep", list(np.round(sleep, 2)))}
    found = correlations(series, NAMES)
    same_day = [c for c in found if c.lag_days == 0]
    assert len(same_day) == 1
    c = same_day[0]
    ref = scipy_stats.spearmanr(np.round(steps), np.round(sleep, 2))
    assert c.rho == pytest.approx(ref.statistic, rel=1e-9)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    assert c.n == 90
    # The population value for normal data is (6 / pi) asin(r / 2) = 0.683; 90 days estimate it
    # to about +-0.1.
    assert c.rho == pytest.approx(6 / math.pi * math.asin(0.35), abs=0.12)
    assert (c.first_type, c.second_type) == ("step_count", "sleep_asleep")


def test_a_lagged_correlation_is_reported_at_its_lag_and_direction():
    rng = np.random.default_rng(5)
    steps = rng.normal(8000, 1500, 60)
    hr = np.empty(60)
    hr[:2] = 60
    hr[2:] = 70 - 0.004 * (steps[:-2] - 8000) + rng.normal(0, 1, 58)  # follows steps two days later
    series = {"step_count": daily("step_count", list(steps)),
              "resting_heart_rate": daily("resting_heart_rate", list(hr))}
    found = correlations(series, NAMES)
    best = found[0]
    assert (best.first_type, best.second_type, best.lag_days) == ("step_count", "resting_heart_rate", 2)
    ref = scipy_stats.spearmanr(steps[:-2], hr[2:])
    assert best.rho == pytest.approx(ref.statistic, rel=1e-9) and best.rho < -0.3
    assert best.p_value == pytest.approx(ref.pvalue, rel=1e-6) and best.n == 58
    assert "2 days later" in best.description and "lower" in best.description


def test_pairs_only_on_days_both_have_data_and_14_of_them_at_least():
    x, y = _correlated(40, 0.95, 9)
    steps = [v if i % 3 == 0 else None for i, v in enumerate(8000 + 1000 * x)]  # 14 days
    energy = list(300 + 50 * y)
    found = correlations({"step_count": daily("step_count", steps), "active_energy": daily("active_energy", energy)},
                         NAMES)
    same = [c for c in found if c.lag_days == 0]
    assert len(same) == 1 and same[0].n == 14
    xs = [v for v in steps if v is not None]
    ys = [energy[i] for i, v in enumerate(steps) if v is not None]
    assert same[0].rho == pytest.approx(scipy_stats.spearmanr(xs, ys).statistic, rel=1e-9)
    fewer = [v if i % 3 == 0 and i < 39 else None for i, v in enumerate(8000 + 1000 * x)]  # 13 days
    assert correlations({"step_count": daily("step_count", fewer),
                         "active_energy": daily("active_energy", energy)}, NAMES) == []


def test_weak_or_insignificant_or_constant_pairs_are_left_out():
    rng = np.random.default_rng(2)
    noise = {"step_count": daily("step_count", list(rng.normal(8000, 1000, 60))),
             "water": daily("water", list(rng.normal(2000, 300, 60)))}
    for c in correlations(noise, NAMES):
        assert abs(c.rho) >= 0.3 and c.p_value < 0.05 and c.n >= 14
    constant = {"step_count": daily("step_count", list(rng.normal(8000, 1000, 60))),
                "weight": daily("weight", [70.0] * 60)}
    assert correlations(constant, NAMES) == []


def test_only_type_keeps_pairs_that_include_it():
    x, y = _correlated(60, 0.9, 4)
    z = _correlated(60, 0.9, 5)[0]
    series = {"step_count": daily("step_count", list(8000 + 1000 * x)),
              "active_energy": daily("active_energy", list(400 + 50 * y)),
              "water": daily("water", list(2000 + 200 * z))}
    found = correlations(series, NAMES, "water")
    assert all("water" in (c.first_type, c.second_type) for c in found)


# The pieces on their own


def test_fit_line_and_spearman_and_ranks_agree_with_scipy():
    rng = np.random.default_rng(0)
    for n in (3, 5, 17, 200):
        x = np.round(rng.normal(size=n), 1)  # ties
        y = np.round(rng.normal(size=n) + x, 1)
        ref = scipy_stats.linregress(x, y)
        fit = stats.fit_line(x, y)
        if fit is not None:
            assert fit.slope == pytest.approx(ref.slope, rel=1e-9, abs=1e-12)
            assert fit.slope_stderr == pytest.approx(ref.stderr, rel=1e-9, abs=1e-12)
        assert list(stats.average_ranks(x)) == list(scipy_stats.rankdata(x))
        r = stats.spearman(x, y)
        sp = scipy_stats.spearmanr(x, y)
        if r is None:
            assert np.isnan(sp.statistic)
        else:
            assert r.rho == pytest.approx(sp.statistic, rel=1e-9, abs=1e-12)
            assert r.p_value == pytest.approx(sp.pvalue, rel=1e-6, abs=1e-12)


def test_perfect_and_undefined_rank_correlations():
    r = stats.spearman([1, 2, 3, 4], [10, 20, 30, 40])
    assert r.rho == 1.0 and r.p_value == 0.0
    assert stats.spearman([1, 2, 3], [5, 5, 5]) is None
    assert stats.spearman([1, 2], [3, 4]) is None
    assert stats.fit_line([1.0], [2.0]) is None
    assert stats.robust_z(1.0, [], 3.5) is None
