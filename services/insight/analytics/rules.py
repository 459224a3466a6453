"""Recommendation rules: each compares the user's daily means over a window with a published
threshold, age- and sex-aware where the guideline is. Pure: no I/O, no protobuf.

A daily mean is taken over the days with data, never over the empty days of the window. A rule
needs data on at least MIN_DAYS days (nights for sleep); with fewer (but some) it only says, with
INFO, that data is missing. The answer is the top 5, by severity and then by how far the value
lies from its threshold (relative distance |value - threshold| / threshold).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.insight.analytics import trends
from services.insight.analytics.daily import SLEEP_ASLEEP, SLEEP_UNIT, Series, Window
from services.insight.analytics.ports import Goal
from services.insight.analytics.wording import amount, days, number

MIN_DAYS = 7
TOP = 5
INFO, WARNING, CRITICAL = "INFO", "WARNING", "CRITICAL"
SEVERITY_RANK = {INFO: 1, WARNING: 2, CRITICAL: 3}
BELOW, ABOVE = "BELOW", "ABOVE"
FEMALE, MALE = "FEMALE", "MALE"

# Steps: under 5,000 a day is the "sedentary lifestyle index", under 2,500 "basal activity"
# (Tudor-Locke & Bassett, Sports Med 2004;34(1):1-8; Tudor-Locke et al., Appl Physiol Nutr Metab
# 2013;38(2):100-114).
LOW_STEPS = 5_000
VERY_LOW_STEPS = 2_500

# Sleep, the least a night should hold, by age: 7 h for adults (AASM/SRS consensus, Watson et
# al., Sleep 2015;38(6):843-844), and from 65 the lower bound of the NSF's 7-8 h (Hirshkowitz
# et al., Sleep Health 2015;1(1):40-43); children and teens per the AASM pediatric consensus
# (Paruthi et al., J Clin Sleep Med 2016;12(6):785-786): 1-2 y 11 h, 3-5 y 10 h, 6-12 y 9 h,
# 13-17 y 8 h. Under 1 year the rule does not apply. Critical when 2 h short of it.
SLEEP_MIN_HOURS = ((1, 11.0), (3, 10.0), (6, 9.0), (13, 8.0), (18, 7.0), (65, 7.0))  # (from age, hours)
ADULT_SLEEP_HOURS = 7.0
SLEEP_CRITICAL_SHORTFALL = 2.0

# Resting heart rate: a mean over 85 bpm (higher resting rates carry higher cardiovascular
# risk: Jensen et al., Heart 2013;99(12):882-887), over 100 is tachycardia (critical); or a rise
# of 7 bpm or more over the mean of the user's own 90 days before the window.
HIGH_RESTING_HR = 85.0
TACHYCARDIA = 100.0
RESTING_HR_RISE = 7.0
BASELINE_DAYS = 90

# BMI for adults (WHO): under 18.5 underweight, 25 and over overweight, 30 obesity; under 16
# (severe thinness) or 35 and over (obesity class II) critical. Children and teens need the BMI-
# for-age references, which this rule does not implement: it does not apply under 18.
BMI_LOW, BMI_HIGH = 18.5, 25.0
BMI_CRITICAL_LOW, BMI_CRITICAL_HIGH = 16.0, 35.0
ADULT_AGE = 18

# Energy needs of a moderately active person, kcal a day, by age and sex: Dietary Guidelines for
# Americans 2020-2025, Appendix 2 (ranges given there are taken at their middle). Unknown or
# other sex: 2,000 kcal, the reference of nutrition labels. A logged intake under 70 % or over
# 130 % of it is flagged.
ENERGY_KCAL = {  # (from age): (female, male)
    4: (1_500, 1_500), 9: (1_800, 2_000), 14: (2_000, 2_600), 19: (2_100, 2_700), 31: (2_000, 2_500),
    51: (1_800, 2_300)}
DEFAULT_ENERGY_KCAL = 2_000
ENERGY_LOW_SHARE, ENERGY_HIGH_SHARE = 0.7, 1.3
# Protein RDA, g a day (DGA 2020-2025 Appendix 1, from the Dietary Reference Intakes); unknown or
# other sex: 50 g, the Daily Value.
PROTEIN_G = {1: (13, 13), 4: (19, 19), 9: (34, 34), 14: (46, 52), 19: (46, 56)}
DEFAULT_PROTEIN_G = 50
# Fiber, at least, g a day (WHO guideline on carbohydrate intake, 2023): 25 g from 11 years and
# for adults, 21 g at 6-10, 15 g at 2-5.
FIBER_G = {2: 15, 6: 21, 11: 25}
ADULT_FIBER_G = 25
# Sugar: under 10 % of energy (WHO guideline on sugars intake, 2015; DGA 2020-2025 for added
# sugars), at 4 kcal a gram of the age- and sex-specific energy need above: 50 g at 2,000 kcal.
SUGAR_ENERGY_SHARE = 0.10
KCAL_PER_GRAM_SUGAR = 4.0
NUTRITION_MIN_AGE = 4

# Water, ml a day (EFSA, EFSA Journal 2010;8(3):1459, adequate intakes): from 14 years women
# 2,000, men 2,500; 9-13 girls 1,900, boys 2,100; 4-8 1,600; 2-3 1,300. Unknown or other sex: 2,000
# (the lower value for children). Critical under half of it.
WATER_ML = {2: (1_300, 1_300), 4: (1_600, 1_600), 9: (1_900, 2_100), 14: (2_000, 2_500)}
DEFAULT_WATER_ML = 2_000

RULE_TYPES = ("step_count", SLEEP_ASLEEP, "resting_heart_rate", "weight", "dietary_energy", "protein", "fiber",
              "sugar", "water")
HEIGHT = "height"


@dataclass(frozen=True)
class Evidence:
    metric: str
    value: float
    unit: str
    threshold: float
    days_with_data: int
    window_days: int
    comparison: str  # the rule fires when value is BELOW or ABOVE threshold


@dataclass(frozen=True)
class Recommendation:
    id: str
    title: str
    category: str
    severity: str
    reason: str
    action_steps: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    distance: float  # relative distance from the threshold, for the ranking
    sample_type: str


@dataclass(frozen=True)
class Facts:
    """What the rules read: the window's daily series (RULE_TYPES), the resting heart rate of
    the 90 days before the window, the latest height and the user's weight goals."""

    window: Window
    age: int | None
    sex: str
    daily: dict[str, Series]
    resting_baseline: Series | None = None
    height_m: float | None = None
    weight_goals: tuple[Goal, ...] = ()

    def series(self, type: str) -> Series | None:
        s = self.daily.get(type)
        return s if s is not None and len(s) else None


def _by_age(table: dict[int, tuple[float, float]] | dict[int, float], age: int | None):
    """The entry of the highest 'from age' at or below age; None below the table."""
    keys = [k for k in sorted(table) if age is not None and k <= age]
    return table[keys[-1]] if keys else None


def _for_sex(pair: tuple[float, float], sex: str) -> float:
    female, male = pair
    return male if sex == MALE else female if sex == FEMALE else min(female, male)


def sleep_hours_needed(age: int | None) -> float | None:
    if age is None:
        return ADULT_SLEEP_HOURS
    needed = None
    for from_age, hours in SLEEP_MIN_HOURS:
        if age >= from_age:
            needed = hours
    return needed


def energy_need(age: int | None, sex: str) -> float | None:
    if age is None or age >= 19:
        pair = _by_age(ENERGY_KCAL, 19 if age is None else age)
        return _for_sex(pair, sex) if sex in (FEMALE, MALE) else DEFAULT_ENERGY_KCAL
    pair = _by_age(ENERGY_KCAL, age)
    return None if pair is None else _for_sex(pair, sex)


def protein_need(age: int | None, sex: str) -> float | None:
    if (age is None or age >= 19) and sex not in (FEMALE, MALE):
        return DEFAULT_PROTEIN_G
    pair = _by_age(PROTEIN_G, 19 if age is None else age)
    return None if pair is None else _for_sex(pair, sex)


def fiber_need(age: int | None) -> float | None:
    return ADULT_FIBER_G if age is None else _by_age(FIBER_G, age)


def water_need(age: int | None, sex: str) -> float | None:
    if (age is None or age >= 14) and sex not in (FEMALE, MALE):
        return DEFAULT_WATER_ML
    pair = _by_age(WATER_ML, 14 if age is None else age)
    return None if pair is None else _for_sex(pair, sex)


def _distance(value: float, threshold: float) -> float:
    return abs(value - threshold) / abs(threshold) if threshold else 0.0


def _mean_over(s: Series, window: Window) -> str:
    return f"on the {days(len(s), 'day')} with data in the last {days(window.days, 'day')}"


def _missing(rule: str, title: str, category: str, s: Series, window: Window, what: str) -> Recommendation:
    unit = "night" if s.type == SLEEP_ASLEEP else "day"
    return Recommendation(
        rule, title, category, INFO,
        f"Only {days(len(s), unit)} of the last {days(window.days, 'day')} had {what} data; at least "
        f"{MIN_DAYS} are needed to compare it with the guideline.",
        (f"Record your {what} every day, or connect a device that does.",),
        (Evidence(s.type, s.mean() or 0.0, s.info.unit, 0.0, len(s), window.days, ""),), 0.0, s.type)


def _enough(f: Facts, type: str) -> tuple[Series | None, bool]:
    s = f.series(type)
    return s, s is not None and len(s) >= MIN_DAYS


def low_steps(f: Facts) -> list[Recommendation]:
    s, enough = _enough(f, "step_count")
    if s is None:
        return []
    if not enough:
        return [_missing("low_steps", "Walk more", "ACTIVITY", s, f.window, "step")]
    mean = s.mean() or 0.0
    if mean >= LOW_STEPS:
        return []
    severity = CRITICAL if mean < VERY_LOW_STEPS else WARNING
    return [Recommendation(
        "low_steps", "Walk more", "ACTIVITY", severity,
        f"You averaged {number(mean)} steps a day {_mean_over(s, f.window)}; under {number(LOW_STEPS)} a day "
        "counts as a sedentary level.",
        ("Take a 10-minute walk after each meal.", "Use the stairs and walk during phone calls.",
         "Raise your daily target by 1,000 steps each week until you pass 7,500."),
        (Evidence("step_count", mean, s.info.unit, LOW_STEPS, len(s), f.window.days, BELOW),),
        _distance(mean, LOW_STEPS), "step_count")]


def short_sleep(f: Facts) -> list[Recommendation]:
    needed = sleep_hours_needed(f.age)
    s, enough = _enough(f, SLEEP_ASLEEP)
    if s is None or needed is None:
        return []
    if not enough:
        return [_missing("short_sleep", "Sleep longer", "SLEEP", s, f.window, "sleep")]
    mean = s.mean() or 0.0
    if mean >= needed:
        return []
    severity = CRITICAL if mean < needed - SLEEP_CRITICAL_SHORTFALL else WARNING
    age = "" if f.age is None else f" at {f.age}"
    return [Recommendation(
        "short_sleep", "Sleep longer", "SLEEP", severity,
        f"You slept {number(mean)} h a night on average over the {days(len(s), 'night')} with sleep data in the "
        f"last {days(f.window.days, 'day')}; at least {number(needed)} h is recommended{age}.",
        ("Keep the same bedtime and wake time every day, weekends included.",
         "Stop screens and caffeine in the hours before bed.",
         f"Move your bedtime earlier by 15 minutes each week until you sleep {number(needed)} h."),
        (Evidence(SLEEP_ASLEEP, mean, SLEEP_UNIT, needed, len(s), f.window.days, BELOW),),
        _distance(mean, needed), SLEEP_ASLEEP)]


def elevated_resting_hr(f: Facts) -> list[Recommendation]:
    s, enough = _enough(f, "resting_heart_rate")
    if s is None:
        return []
    if not enough:
        return [_missing("elevated_resting_heart_rate", "Check your resting heart rate", "HEART", s, f.window,
                         "resting heart rate")]
    mean = s.mean() or 0.0
    steps = ("Add 150 minutes of moderate exercise a week, such as brisk walking.",
             "Cut back on caffeine and alcohol, and sleep enough.",
             "If it stays high or you feel unwell, talk to a doctor.")
    if mean > HIGH_RESTING_HR:
        severity = CRITICAL if mean > TACHYCARDIA else WARNING
        return [Recommendation(
            "elevated_resting_heart_rate", "Bring your resting heart rate down", "HEART", severity,
            f"Your resting heart rate averaged {number(mean)} bpm {_mean_over(s, f.window)}; above "
            f"{number(HIGH_RESTING_HR)} bpm is high.",
            steps, (Evidence("resting_heart_rate", mean, s.info.unit, HIGH_RESTING_HR, len(s), f.window.days, ABOVE),),
            _distance(mean, HIGH_RESTING_HR), "resting_heart_rate")]
    base = f.resting_baseline
    if base is None or len(base) < MIN_DAYS:
        return []
    usual = base.mean() or 0.0
    if mean - usual < RESTING_HR_RISE:
        return []
    threshold = usual + RESTING_HR_RISE
    return [Recommendation(
        "elevated_resting_heart_rate", "Your resting heart rate has risen", "HEART", WARNING,
        f"Your resting heart rate averaged {number(mean)} bpm {_mean_over(s, f.window)}, {number(mean - usual)} "
        f"bpm above your usual {number(usual)} bpm over the {days(len(base), 'day')} with data in the "
        f"{BASELINE_DAYS} days before; a rise of {number(RESTING_HR_RISE)} bpm or more is worth attention.",
        ("Rest more and ease off hard training for a few days.", "Watch for signs of illness such as fever.",
         "If it does not come back down within a week, talk to a doctor."),
        (Evidence("resting_heart_rate", mean, s.info.unit, threshold, len(s), f.window.days, ABOVE),),
        _distance(mean, threshold), "resting_heart_rate")]


def weight_bmi(f: Facts) -> list[Recommendation]:
    s, enough = _enough(f, "weight")
    if s is None or not f.height_m or (f.age is not None and f.age < ADULT_AGE):
        return []
    if not enough:
        return [_missing("weight_bmi", "Work toward a healthy weight", "WEIGHT", s, f.window, "weight")]
    latest = s.days[-1].value
    bmi = latest / (f.height_m ** 2)
    if BMI_LOW <= bmi < BMI_HIGH:
        return []
    low = bmi < BMI_LOW
    threshold = BMI_LOW if low else BMI_HIGH
    severity = CRITICAL if bmi < BMI_CRITICAL_LOW or bmi >= BMI_CRITICAL_HIGH else WARNING
    band = "underweight" if low else "obesity" if bmi >= 30 else "overweight"
    steps = (("Eat regular meals with enough energy and protein.", "Add strength training twice a week.",
              "Talk to a doctor or dietitian about gaining weight safely.") if low else
             ("Aim to lose about 0.5 kg a week through smaller portions and fewer sugary drinks.",
              "Add 150 minutes of moderate exercise a week.",
              "Talk to a doctor or dietitian for a plan that suits you."))
    return [Recommendation(
        "weight_bmi", "Work toward a healthy weight", "WEIGHT", severity,
        f"Your latest weight, {amount(latest, 'kg')}, at a height of {number(f.height_m)} m gives a BMI of "
        f"{bmi:.1f}, in the {band} range; 18.5 to 25 is the healthy range for adults.",
        steps, (Evidence("bmi", bmi, "kg/m2", threshold, len(s), f.window.days, BELOW if low else ABOVE),),
        _distance(bmi, threshold), "weight")]


def weight_goal_trend(f: Facts) -> list[Recommendation]:
    s, enough = _enough(f, "weight")
    if s is None or not enough or not f.weight_goals:
        return []
    t = trends.trend(s, f.window)
    latest = s.days[-1].value
    for goal in f.weight_goals:
        away = ((goal.at_most and latest > goal.target and t.direction == trends.UP)
                or (not goal.at_most and latest < goal.target and t.direction == trends.DOWN))
        if not away:
            continue
        way = "rising" if t.direction == trends.UP else "falling"
        return [Recommendation(
            "weight_goal_trend", "Your weight is moving away from your goal", "WEIGHT", WARNING,
            f"Your weight has been {way} by {number(abs(t.slope_per_day) * 7)} kg a week over the "
            f"{days(len(s), 'day')} with data in the last {days(f.window.days, 'day')}; it is "
            f"{amount(latest, 'kg')} against your goal of {'at most' if goal.at_most else 'at least'} "
            f"{amount(goal.target, 'kg')}.",
            ("Weigh yourself at the same time each morning to follow the trend.",
             "Log your meals for a week to see where the energy comes from.",
             "Adjust portions by a little and check the trend again in two weeks."),
            (Evidence("weight", latest, s.info.unit, goal.target, len(s), f.window.days,
                      ABOVE if goal.at_most else BELOW),),
            _distance(latest, goal.target), "weight")]
    return []


def poor_nutrition(f: Facts) -> list[Recommendation]:
    if f.age is not None and f.age < NUTRITION_MIN_AGE:
        return []
    energy = energy_need(f.age, f.sex)
    checks: list[tuple[str, float | None, str, str]] = [  # type, threshold, comparison, action
        ("dietary_energy", None if energy is None else energy * ENERGY_LOW_SHARE, BELOW,
         "Eat regular meals; logged energy far under your need often means skipped meals or unlogged food."),
        ("dietary_energy", None if energy is None else energy * ENERGY_HIGH_SHARE, ABOVE,
         "Choose smaller portions and water instead of sugary drinks."),
        ("protein", protein_need(f.age, f.sex), BELOW,
         "Add a protein source to each meal: eggs, fish, beans, yogurt or lean meat."),
        ("fiber", fiber_need(f.age), BELOW,
         "Eat whole grains, beans, vegetables and fruit every day."),
        ("sugar", None if energy is None else energy * SUGAR_ENERGY_SHARE / KCAL_PER_GRAM_SUGAR, ABOVE,
         "Swap sweets and sugary drinks for fruit, nuts or water."),
    ]
    found: list[tuple[Evidence, str, str]] = []
    missing: list[Series] = []
    for type, threshold, comparison, action in checks:
        s = f.series(type)
        if s is None or threshold is None:
            continue
        if len(s) < MIN_DAYS:
            if s not in missing:
                missing.append(s)
            continue
        mean = s.mean() or 0.0
        if (mean < threshold) if comparison == BELOW else (mean > threshold):
            word = "under" if comparison == BELOW else "over"
            text = (f"{amount(mean, s.info.unit)} of {s.info.display_name.lower()} a day {_mean_over(s, f.window)}"
                    f" ({word} {amount(threshold, s.info.unit)})")
            found.append((Evidence(type, mean, s.info.unit, threshold, len(s), f.window.days, comparison), text, action))
    if not found:
        return [_missing("poor_nutrition", "Eat better", "NUTRITION", missing[0], f.window, "nutrition")
                ] if missing else []
    return [Recommendation(
        "poor_nutrition", "Eat better", "NUTRITION", WARNING,
        "You averaged " + "; ".join(text for _, text, _ in found) + ".",
        tuple(dict.fromkeys(action for _, _, action in found)), tuple(e for e, _, _ in found),
        max(_distance(e.value, e.threshold) for e, _, _ in found), found[0][0].metric)]


def low_water(f: Facts) -> list[Recommendation]:
    needed = water_need(f.age, f.sex)
    s, enough = _enough(f, "water")
    if s is None or needed is None:
        return []
    if not enough:
        return [_missing("low_water", "Drink more water", "HYDRATION", s, f.window, "water")]
    mean = s.mean() or 0.0
    if mean >= needed:
        return []
    severity = CRITICAL if mean < needed / 2 else WARNING
    return [Recommendation(
        "low_water", "Drink more water", "HYDRATION", severity,
        f"You drank {number(mean)} ml of water a day on average {_mean_over(s, f.window)}; about "
        f"{number(needed)} ml a day is recommended for you.",
        ("Keep a bottle of water in sight and refill it through the day.", "Drink a glass with every meal.",
         "Drink more on hot days and when you exercise."),
        (Evidence("water", mean, s.info.unit, needed, len(s), f.window.days, BELOW),),
        _distance(mean, needed), "water")]


RULES: tuple[Callable[[Facts], list[Recommendation]], ...] = (
    low_steps, short_sleep, elevated_resting_hr, weight_bmi, weight_goal_trend, poor_nutrition, low_water)


def rank(found: list[Recommendation]) -> list[Recommendation]:
    return sorted(found, key=lambda r: (-SEVERITY_RANK[r.severity], -r.distance, r.id))


def recommend(f: Facts) -> list[Recommendation]:
    """The top 5 recommendations, most severe first, then farthest from their thresholds."""
    return rank([r for rule in RULES for r in rule(f)])[:TOP]
