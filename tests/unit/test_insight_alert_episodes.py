"""When an alert rule fires: each comparison at and around its threshold, value2, durations, gaps,
activities, the 24-hour `since`, one alert per episode and its re-arming, input order."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from services.insight.alerts.episodes import (
    ABOVE,
    AT_OR_ABOVE,
    AT_OR_BELOW,
    BELOW,
    Condition,
    Evaluation,
    Firing,
    Reading,
    Span,
    evaluate,
)

T0 = dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC)
LONG_AGO = T0 - dt.timedelta(days=1)  # `since` before every reading
HIGH_HR = Condition(ABOVE, 120.0, duration_seconds=600)


def at(minute: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minute)


def hr(minutes, value: float = 125.0) -> list[Reading]:
    return [Reading(at(m), value) for m in minutes]


def fired(condition: Condition, readings, since: dt.datetime = LONG_AGO, **kw) -> list[Firing]:
    return evaluate(condition, readings, since=since, **kw).fired


def triggers(condition: Condition, readings, **kw) -> list[dt.datetime]:
    return [f.trigger.time for f in fired(condition, readings, **kw)]


@pytest.mark.parametrize("comparison, value, meets", [
    (ABOVE, 100.5, True), (ABOVE, 100.0, False), (ABOVE, 99.5, False),
    (BELOW, 99.5, True), (BELOW, 100.0, False), (BELOW, 100.5, False),
    (AT_OR_ABOVE, 100.5, True), (AT_OR_ABOVE, 100.0, True), (AT_OR_ABOVE, 99.5, False),
    (AT_OR_BELOW, 99.5, True), (AT_OR_BELOW, 100.0, True), (AT_OR_BELOW, 100.5, False),
])
def test_each_comparison_on_both_sides_of_and_at_its_threshold(comparison, value, meets):
    c = Condition(comparison, 100.0)
    r = Reading(T0, value)
    assert c.meets(r) is meets
    assert fired(c, [r]) == ([Firing(T0, r, T0)] if meets else [])


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("comparison", [ABOVE, BELOW, AT_OR_ABOVE, AT_OR_BELOW])
def test_a_non_finite_value_never_meets(comparison, value):
    assert not Condition(comparison, 100.0).meets(Reading(T0, value))
    assert not Condition(comparison, 100.0, on_value2=True).meets(Reading(T0, 100.0, value))


def test_value2_is_compared_instead_of_value():
    diastolic = Condition(AT_OR_ABOVE, 120.0, on_value2=True)
    bp = Reading(T0, 130.0, 121.0)
    assert fired(diastolic, [bp]) == [Firing(T0, bp, T0)]
    assert fired(diastolic, [Reading(T0, 130.0, 119.0)]) == []  # the systolic 130 does not count
    assert not diastolic.meets(Reading(T0, 130.0))
    assert fired(diastolic, [Reading(at(m), 130.0) for m in range(3)]) == []  # no value2 never fires
    assert Condition(AT_OR_ABOVE, 120.0).meets(Reading(T0, 130.0))  # value itself would


def test_heart_rate_above_120_for_10_minutes_fires_at_the_reading_10_minutes_in():
    readings = hr(range(16))
    assert fired(HIGH_HR, readings) == [Firing(at(0), readings[10], at(15))]
    assert triggers(HIGH_HR, hr(range(11))) == [at(10)]
    assert triggers(HIGH_HR, hr(range(10))) == []  # 9 minutes: not yet
    assert triggers(HIGH_HR, hr(range(0, 11, 2))) == [at(10)]  # readings every 2 minutes: same moment
    assert triggers(HIGH_HR, hr([0, 3, 6, 9, 12])) == [at(12)]  # the first reading at or past 10 minutes


def test_a_dip_below_the_threshold_restarts_the_clock():
    readings = hr(range(6)) + hr([6], 110.0) + hr(range(7, 21))
    (f,) = fired(HIGH_HR, readings)
    assert (f.start, f.trigger.time, f.last) == (at(7), at(17), at(20))
    assert triggers(HIGH_HR, hr(range(6)) + hr([6], 120.0) + hr(range(7, 17))) == []  # 120 is not above 120


def test_a_gap_of_more_than_15_minutes_breaks_the_run():
    assert triggers(HIGH_HR, hr([0, 1, 2, 18, 19, 20])) == []  # 16 minutes without readings
    assert triggers(HIGH_HR, hr([0, 1, 2, 17, 18])) == [at(17)]  # exactly 15 minutes: still one run
    assert triggers(Condition(ABOVE, 120.0), hr([0, 16])) == [at(0), at(16)]  # two episodes


def test_a_duration_longer_than_15_minutes_allows_gaps_as_long_as_itself():
    half_hour = Condition(ABOVE, 120.0, duration_seconds=1800)
    assert triggers(half_hour, hr([0, 20, 40])) == [at(40)]
    assert triggers(half_hour, hr([0, 30])) == [at(30)]
    assert triggers(half_hour, hr([0, 31, 62])) == []


WORKOUT = Span(at(-5), at(40))


def test_a_run_inside_a_workout_does_not_fire_unless_active():
    at_rest = Condition(ABOVE, 120.0, duration_seconds=600, unless_active=True)
    readings = hr(range(30))
    assert triggers(at_rest, readings, activities=[WORKOUT]) == []
    assert triggers(at_rest, readings) == [at(10)]
    assert triggers(HIGH_HR, readings, activities=[WORKOUT]) == [at(10)]  # the rule does not ask


def test_a_run_partly_inside_a_workout_fires_only_if_the_part_outside_lasts():
    at_rest = Condition(ABOVE, 120.0, duration_seconds=600, unless_active=True)
    readings = hr(range(31))
    (f,) = fired(at_rest, readings, activities=[Span(at(-5), at(15))])  # the end is inside: 16 starts
    assert (f.start, f.trigger.time, f.last) == (at(16), at(26), at(30))
    assert triggers(at_rest, readings, activities=[Span(at(-5), at(21))]) == []  # 22..30: 8 minutes
    assert triggers(at_rest, readings, activities=[Span(at(5), at(6))]) == [at(17)]  # a break in the middle
    # Nested and unsorted activities: together -5..21.
    spans = [Span(at(5), at(10)), Span(at(-5), at(21))]
    assert triggers(at_rest, readings, activities=spans) == []


def test_a_run_entirely_before_since_does_not_fire():
    assert triggers(HIGH_HR, hr(range(16)), since=at(16)) == []
    assert triggers(Condition(ABOVE, 120.0), hr([0]), since=at(0) + dt.timedelta(microseconds=1)) == []


def test_a_run_that_started_before_since_fires_when_it_triggers_after_it():
    readings = hr(range(16))
    assert fired(HIGH_HR, readings, since=at(5)) == [Firing(at(0), readings[10], at(15))]
    assert triggers(HIGH_HR, readings, since=at(10)) == [at(10)]  # the trigger exactly at since
    # The trigger is what counts: a run that reached its duration before since stays silent.
    assert triggers(HIGH_HR, hr(range(30)), since=at(11)) == []


def test_the_same_readings_evaluated_again_as_alerted_give_nothing_new():
    readings = hr(range(16))
    (f,) = fired(HIGH_HR, readings)
    assert f.span == Span(at(0), at(15))
    assert evaluate(HIGH_HR, readings, since=LONG_AGO, alerted=[f.span]) == Evaluation([], [])


def test_more_breaching_readings_extend_the_alerted_episode():
    (f,) = fired(HIGH_HR, hr(range(11)))
    more = hr(range(25))
    assert evaluate(HIGH_HR, more, since=LONG_AGO, alerted=[f.span]) == Evaluation([], [(f.span, at(24))])
    assert evaluate(HIGH_HR, more, since=LONG_AGO, alerted=[Span(at(0), at(24))]) == Evaluation([], [])
    # The episode continues after since: still the same alert, only extended.
    assert evaluate(HIGH_HR, more, since=at(20), alerted=[f.span]) == Evaluation([], [(f.span, at(24))])


def test_a_run_touching_an_alerted_span_is_the_same_episode():
    instant = Condition(ABOVE, 120.0)
    assert evaluate(instant, hr([5, 6]), since=LONG_AGO, alerted=[Span(at(0), at(5))]) == Evaluation(
        [], [(Span(at(0), at(5)), at(6))])
    # Readings filled in late merge two alerted episodes into one run: the later one grows.
    first, second = Span(at(0), at(3)), Span(at(8), at(10))
    assert evaluate(instant, hr(range(13)), since=LONG_AGO, alerted=[second, first]) == Evaluation(
        [], [(second, at(12))])


def test_two_breaches_separated_by_a_normal_reading_give_two_alerts_oldest_first():
    readings = hr(range(12)) + hr([12], 90.0) + hr(range(13, 25), 130.0)
    first, second = fired(HIGH_HR, readings)
    assert (first.start, first.trigger, first.last) == (at(0), readings[10], at(11))
    assert (second.start, second.trigger, second.last) == (at(13), readings[23], at(24))
    # The first already alerted: the rule re-armed and the second is new.
    assert fired(HIGH_HR, readings, alerted=[first.span]) == [second]


def test_input_order_does_not_matter():
    readings = hr(range(6)) + hr([6], 110.0) + hr(range(7, 30), 130.0) + hr([40, 41, 42])
    readings += [Reading(at(20), 118.0), Reading(at(20), 140.0), Reading(at(35), 125.0, math.nan)]
    expected = evaluate(HIGH_HR, readings, since=LONG_AGO)
    # 118 at minute 20 ends the run 7..19 (fired at 17) and 140 and 130 there start the next.
    assert [(f.start, f.trigger.time, f.last) for f in expected.fired] == [(at(7), at(17), at(19)),
                                                                         (at(20), at(35), at(42))]
    for seed in range(20):
        shuffled = readings[:]
        random.Random(seed).shuffle(shuffled)
        assert evaluate(HIGH_HR, shuffled, since=LONG_AGO) == expected


def test_readings_at_equal_times_are_fine():
    instant = Condition(ABOVE, 120.0)
    a, b = Reading(T0, 125.0), Reading(T0, 130.0)
    assert fired(instant, [b, a]) == fired(instant, [a, b]) == [Firing(T0, a, T0)]


@pytest.mark.parametrize("kw", [{"comparison": "EQUAL"}, {"comparison": ABOVE, "duration_seconds": -1}])
def test_an_invalid_condition_is_refused(kw):
    with pytest.raises(ValueError):
        Condition(threshold=1.0, **kw)
