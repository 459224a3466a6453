"""Dates at the ends of the calendar: the domain rules and the period arithmetic never overflow,
whatever a request or a stored row holds (the request checks bound timestamps, but internal calls
and rows stored before the bounds reach the domain unchecked)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.common import checks
from services.common.errors import Violations
from services.tracking.activities import domain as activities
from services.tracking.goals import domain as goals
from services.tracking.goals.domain import Period
from services.tracking.samples.domain import start_of_sample_id

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 3, 1, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("value, ok", [("1900-01-01", True), ("2199-12-31", True), ("2200-01-01", False),
                                       ("9999-12-31", False), ("0001-01-01", False), ("1899-12-31", False)])
def test_calendar_dates_are_bounded_at_both_ends(value, ok):
    v = Violations()
    parsed = checks.calendar_date(value, "goal.target_date", v)
    assert (parsed is not None, [f.field for f in v.items]) == (ok, [] if ok else ["goal.target_date"])


@pytest.mark.parametrize("end", [dt.datetime.max.replace(tzinfo=dt.UTC), START + dt.timedelta(days=7, seconds=1)])
def test_an_activity_longer_than_seven_days_is_a_violation_not_an_overflow(end):
    v = Violations()
    points = (activities.HeartRatePoint(START, 120.0),)
    activities.validate(activities.ActivityFields(type="running", start_time=START, end_time=end,
                                                  heart_rate_series=points), NOW, v)
    assert [f.field for f in v.items] == ["activity.end_time"]


def test_an_activity_starting_at_the_end_of_the_calendar_is_a_violation():
    v = Violations()
    last = dt.datetime.max.replace(tzinfo=dt.UTC)
    activities.validate(activities.ActivityFields(type="running", start_time=last - dt.timedelta(hours=1),
                                                  end_time=last), NOW, v)
    assert [f.field for f in v.items] == ["activity.start_time"]


@pytest.mark.parametrize("period", list(Period)[1:])
def test_periods_stop_at_the_last_day_of_the_calendar(period):
    start = goals.period_start(dt.date.max, period)
    assert goals.period_end(start, period) == dt.date.max
    assert goals.next_period(start, period) == dt.date.max
    starts = goals.period_starts(dt.date(9999, 10, 1), dt.date.max, period)
    assert starts[-1] == start and starts == sorted(set(starts))
    # A day before the last: its period ends where the calendar says, not at a saturated date.
    day = dt.date.max - dt.timedelta(days=1)
    assert goals.period_end(goals.period_start(day, Period.DAILY), Period.DAILY) == day


@pytest.mark.parametrize("period", list(Period)[1:])
def test_periods_back_stop_at_the_first_day_of_the_calendar(period):
    assert goals.periods_back(dt.date(1, 1, 20), period, 366) == dt.date.min
    assert goals.previous_period(dt.date.min, period) == dt.date.min


def test_a_dated_goal_at_the_end_of_the_calendar_is_still_running():
    goal = goals.Goal(id=None, user_id=None, display_name="", metric="step_count", target_value=1, unit="{count}",
                      comparison=goals.Comparison.AT_LEAST, period=Period.MONTHLY, start_date=dt.date(2026, 1, 1),
                      target_date=dt.date.max, state=goals.State.ACTIVE, create_time=NOW, update_time=NOW)
    assert goals.next_state(goal, reached=False, today=NOW.date()) == goals.State.ACTIVE


def test_a_sample_id_whose_time_is_past_the_calendar_names_no_sample():
    assert start_of_sample_id(uuid.UUID("ffffffff-ffff-8fff-bfff-ffffffffffff")) is None
    assert start_of_sample_id(uuid.UUID("00000000-0001-8000-8000-000000000000")) == dt.datetime(
        1900, 1, 1, 0, 0, 0, 1000, tzinfo=dt.UTC)
