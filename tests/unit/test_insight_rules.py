"""Each recommendation rule firing and not firing on data built for it, on each side of its
threshold and of every age or sex boundary; the 7-day minimum; the ranking."""

from __future__ import annotations

import datetime as dt

import pytest

from services.insight.analytics import rules
from services.insight.analytics.ports import Goal
from tests.unit.insight_series import daily, window

W = window(30)


def facts(age=35, sex="", **series) -> rules.Facts:
    extra = {k: series.pop(k) for k in ("resting_baseline", "height_m", "weight_goals") if k in series}
    return rules.Facts(W, age, sex, {t: daily(t, v) for t, v in series.items()}, **extra)


def ids(found):
    return {r.id: r for r in found}


def test_low_steps_fires_under_5000_with_the_mean_over_days_with_data():
    values = [4000.0, None] * 15  # 15 days with data: the empty ones do not pull the mean down
    r = ids(rules.low_steps(facts(step_count=values)))["low_steps"]
    assert r.severity == "WARNING"
    assert "averaged 4,000 steps a day on the 15 days with data in the last 30 days" in r.reason
    e = r.evidence[0]
    assert (e.metric, e.value, e.threshold, e.days_with_data, e.window_days, e.comparison) == (
        "step_count", 4000.0, 5000, 15, 30, "BELOW")
    assert r.action_steps


@pytest.mark.parametrize("mean, expected", [(5000.0, None), (4999.0, "WARNING"), (2499.0, "CRITICAL")])
def test_low_steps_threshold(mean, expected):
    found = rules.low_steps(facts(step_count=[mean] * 10))
    assert (found[0].severity if found else None) == expected


def test_fewer_than_7_days_do_not_warn_but_say_data_is_missing():
    found = rules.low_steps(facts(step_count=[1000.0] * 6 + [None] * 24))
    assert len(found) == 1 and found[0].severity == "INFO" and "Only 6 days" in found[0].reason
    assert rules.low_steps(facts(step_count=[None] * 30)) == []  # no data at all: nothing to say


@pytest.mark.parametrize("age, hours, fires", [
    (12, 8.9, True), (13, 8.9, False),  # 6-12 need 9 h, 13-17 need 8 h
    (13, 7.9, True), (17, 7.9, True), (18, 7.9, False),  # adults need 7 h
    (18, 6.9, True), (64, 6.9, True), (65, 6.9, True), (65, 7.0, False),
    (5, 9.9, True), (6, 9.9, False),  # 3-5 need 10 h
    (None, 6.9, True), (None, 7.0, False),  # unknown age: the adult figure
])
def test_short_sleep_is_age_aware(age, hours, fires):
    found = rules.short_sleep(facts(age=age, sleep_asleep=[hours] * 7))
    assert bool(found) == fires
    if fires:
        assert found[0].evidence[0].threshold == rules.sleep_hours_needed(age)
        assert "night" in found[0].reason


def test_short_sleep_counts_nights_and_is_critical_two_hours_short():
    assert rules.short_sleep(facts(sleep_asleep=[4.9] * 7))[0].severity == "CRITICAL"
    assert rules.short_sleep(facts(sleep_asleep=[5.1] * 7))[0].severity == "WARNING"
    assert rules.short_sleep(facts(sleep_asleep=[5.0] * 6))[0].severity == "INFO"  # 6 nights


@pytest.mark.parametrize("mean, expected", [(85.0, None), (85.5, "WARNING"), (100.5, "CRITICAL")])
def test_elevated_resting_heart_rate_above_85(mean, expected):
    found = rules.elevated_resting_hr(facts(resting_heart_rate=[mean] * 7))
    assert (found[0].severity if found else None) == expected


def test_a_rise_of_7_bpm_against_the_users_own_baseline():
    baseline = daily("resting_heart_rate", [55.0] * 60, W.first - dt.timedelta(days=1))
    rose = rules.elevated_resting_hr(facts(resting_heart_rate=[62.0] * 10, resting_baseline=baseline))
    assert rose and rose[0].severity == "WARNING" and rose[0].evidence[0].threshold == 62.0
    assert "7 bpm above your usual 55 bpm" in rose[0].reason
    assert rules.elevated_resting_hr(facts(resting_heart_rate=[61.9] * 10, resting_baseline=baseline)) == []
    assert rules.elevated_resting_hr(facts(resting_heart_rate=[70.0] * 10)) == []  # no baseline


@pytest.mark.parametrize("kg, fires, severity", [
    (53.9, True, "WARNING"),  # BMI 18.46 at 1.71 m
    (54.2, False, None),  # 18.54
    (73.0, False, None),  # 24.96
    (73.2, True, "WARNING"),  # 25.03
    (102.4, True, "CRITICAL"),  # 35.02
    (46.7, True, "CRITICAL"),  # 15.97
])
def test_bmi_outside_18_5_to_25(kg, fires, severity):
    found = rules.weight_bmi(facts(weight=[kg] * 7, height_m=1.71))
    assert bool(found) == fires
    if fires:
        assert found[0].severity == severity
        assert found[0].evidence[0].value == pytest.approx(kg / 1.71 ** 2)


def test_bmi_uses_the_latest_weight_and_needs_height_and_an_adult():
    values = [80.0] * 6 + [70.0]  # latest 70 kg: BMI 23.9, healthy
    assert rules.weight_bmi(facts(weight=values, height_m=1.71)) == []
    assert rules.weight_bmi(facts(weight=[90.0] * 7)) == []  # no height
    assert rules.weight_bmi(facts(age=17, weight=[90.0] * 7, height_m=1.71)) == []  # BMI-for-age needed
    assert rules.weight_bmi(facts(age=18, weight=[90.0] * 7, height_m=1.71))


def test_a_weight_trend_away_from_a_weight_goal():
    lose = Goal("users/u/goals/g", "weight", "kg", 75.0, True, "DAILY", None)
    rising = [80.0 + 0.1 * i for i in range(30)]
    found = rules.weight_goal_trend(facts(weight=rising, weight_goals=(lose,)))
    assert found and found[0].id == "weight_goal_trend" and "rising" in found[0].reason
    falling = [80.0 - 0.1 * i for i in range(30)]
    assert rules.weight_goal_trend(facts(weight=falling, weight_goals=(lose,))) == []
    gain = Goal("users/u/goals/h", "weight", "kg", 90.0, False, "DAILY", None)
    assert rules.weight_goal_trend(facts(weight=falling, weight_goals=(gain,)))
    assert rules.weight_goal_trend(facts(weight=rising)) == []  # no goal


@pytest.mark.parametrize("age, sex, grams, fires", [
    (35, "", 24.9, True), (35, "", 25.0, False),  # WHO: 25 g for adults
    (10, "", 20.9, True), (10, "", 21.0, False),  # 6-10: 21 g
    (11, "", 24.9, True),
])
def test_low_fiber_by_age(age, sex, grams, fires):
    found = rules.poor_nutrition(facts(age=age, sex=sex, fiber=[grams] * 7))
    assert bool(found) == fires
    if fires:
        assert found[0].evidence[0].metric == "fiber"


@pytest.mark.parametrize("sex, grams, fires", [
    ("FEMALE", 45.0, True), ("FEMALE", 46.0, False),  # RDA 46 g
    ("MALE", 55.0, True), ("MALE", 56.0, False),  # RDA 56 g
    ("", 49.0, True), ("", 50.0, False),  # unknown: the Daily Value, 50 g
])
def test_low_protein_by_sex(sex, grams, fires):
    assert bool(rules.poor_nutrition(facts(sex=sex, protein=[grams] * 7))) == fires


@pytest.mark.parametrize("age, sex, limit", [(35, "FEMALE", 50.0), (35, "MALE", 62.5), (35, "", 50.0),
                                             (60, "FEMALE", 45.0), (16, "MALE", 65.0)])
def test_sugar_over_10_percent_of_the_energy_need(age, sex, limit):
    assert rules.poor_nutrition(facts(age=age, sex=sex, sugar=[limit] * 7)) == []
    found = rules.poor_nutrition(facts(age=age, sex=sex, sugar=[limit + 1] * 7))
    assert found and found[0].evidence[0].threshold == pytest.approx(limit)
    assert found[0].evidence[0].comparison == "ABOVE"


def test_energy_far_from_the_need_and_several_findings_in_one_recommendation():
    found = rules.poor_nutrition(facts(sex="MALE", dietary_energy=[1000.0] * 7, fiber=[10.0] * 7, protein=[80.0] * 7))
    assert len(found) == 1
    r = found[0]
    assert [e.metric for e in r.evidence] == ["dietary_energy", "fiber"]
    assert r.evidence[0].threshold == pytest.approx(2500 * 0.7)
    assert "1,000 kcal" in r.reason and "10 g" in r.reason and len(r.action_steps) == 2
    assert rules.poor_nutrition(facts(sex="MALE", dietary_energy=[2500.0] * 7)) == []
    assert rules.poor_nutrition(facts(sex="MALE", dietary_energy=[3300.0] * 7))  # over 130 %


@pytest.mark.parametrize("age, sex, ml, fires", [
    (35, "FEMALE", 1999.0, True), (35, "FEMALE", 2000.0, False),
    (35, "MALE", 2499.0, True), (35, "MALE", 2500.0, False),
    (35, "", 1999.0, True), (35, "", 2000.0, False), (35, "OTHER", 2000.0, False),
    (13, "MALE", 2099.0, True), (13, "MALE", 2100.0, False), (14, "MALE", 2100.0, True),
    (13, "FEMALE", 1900.0, False),
])
def test_low_water_by_age_and_sex(age, sex, ml, fires):
    assert bool(rules.low_water(facts(age=age, sex=sex, water=[ml] * 7))) == fires


def test_water_half_the_need_is_critical():
    assert rules.low_water(facts(sex="MALE", water=[1200.0] * 7))[0].severity == "CRITICAL"


def test_the_top_5_by_severity_then_distance_from_the_threshold():
    f = facts(sex="MALE", step_count=[4500.0] * 10,  # WARNING, 10 % under
              sleep_asleep=[4.0] * 10,  # CRITICAL, 43 % under
              water=[2000.0] * 10,  # WARNING, 20 % under
              resting_heart_rate=[90.0] * 10,  # WARNING, 6 % over
              fiber=[10.0] * 10,  # WARNING, 60 % under
              weight=[110.0] * 10, height_m=1.75,  # BMI 35.9: CRITICAL, 44 % over
              protein=[50.0] * 3)
    found = rules.recommend(f)
    assert [r.id for r in found] == ["weight_bmi", "short_sleep", "poor_nutrition", "low_water", "low_steps"]
    assert len(found) == 5  # the resting heart rate, the sixth, is left out


def test_a_sparse_user_gets_no_warning():
    f = facts(step_count=[1000.0, None, None, None, None] * 6, sleep_asleep=[3.0] * 2 + [None] * 28)
    found = rules.recommend(f)
    assert {r.severity for r in found} == {"INFO"}
    assert {r.id for r in found} == {"low_steps", "short_sleep"}
