"""Goals, their periods, progress, streaks and achievements. No grpc, protobuf or SQL here."""

from __future__ import annotations

import datetime as dt
import enum
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.common.errors import Violations

SLEEP_DURATION = "sleep_duration"  # hours asleep per night, from sleep sessions, not a sample type
SLEEP_UNIT = "h"
MAX_LIVE_GOALS = 100
MAX_DISPLAY_NAME = 100
DEFAULT_HISTORY = 7
MAX_HISTORY = 366
MAX_EVALUATED_PERIODS = 3_660  # streaks and achievements look back at most this far
STREAK_MILESTONES = (3, 7, 14, 30, 100, 365)
UPDATABLE_FIELDS = frozenset({
    "display_name", "target_value", "comparison", "period", "start_date", "target_date", "state",
})
IMMUTABLE_FIELDS = frozenset({"metric"})
OUTPUT_ONLY_FIELDS = frozenset({"name", "unit", "create_time", "update_time"})


class Period(enum.IntEnum):
    UNSPECIFIED = 0
    DAILY = 1
    WEEKLY = 2
    MONTHLY = 3


class Comparison(enum.IntEnum):
    UNSPECIFIED = 0  # means AT_LEAST
    AT_LEAST = 1
    AT_MOST = 2


class State(enum.IntEnum):
    UNSPECIFIED = 0  # means ACTIVE on create
    ACTIVE = 1
    PAUSED = 2
    ACHIEVED = 3
    EXPIRED = 4
    ARCHIVED = 5


USER_STATES = frozenset({State.ACTIVE, State.PAUSED, State.ARCHIVED})


class AchievementKind(enum.IntEnum):
    UNSPECIFIED = 0
    FIRST_TARGET_MET = 1
    STREAK = 2
    GOAL_ACHIEVED = 3


@dataclass(frozen=True)
class MetricSpec:
    """What goals need to know of a metric: from the sample type catalog, or sleep_duration."""

    aggregation: str  # "SUM": a period's value is its total; "SAMPLE": its average
    unit: str
    min_value: float | None = None
    max_value: float | None = None


SLEEP_SPEC = MetricSpec("SAMPLE", SLEEP_UNIT, 0.0, 24.0)


@dataclass(frozen=True)
class GoalFields:
    """A goal as a client sends it (create, or the new values of an update)."""

    display_name: str = ""
    metric: str = ""
    target_value: float = 0.0
    comparison: int = 0
    period: int = 0
    start_date: str = ""
    target_date: str = ""
    state: int = 0


@dataclass(frozen=True)
class Goal:
    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    metric: str
    target_value: float
    unit: str
    comparison: Comparison
    period: Period
    start_date: dt.date
    target_date: dt.date | None
    state: State
    create_time: dt.datetime
    update_time: dt.datetime


@dataclass(frozen=True)
class Achievement:
    id: uuid.UUID
    user_id: uuid.UUID
    goal_id: uuid.UUID
    kind: AchievementKind
    title: str
    description: str
    period_start_date: dt.date
    value: float
    streak_length: int
    create_time: dt.datetime


@dataclass(frozen=True)
class PeriodResult:
    start: dt.date
    end: dt.date  # inclusive
    value: float | None  # None: no data in the period
    percent: float
    met: bool
    complete: bool  # the period is over, so its outcome is final


@dataclass(frozen=True)
class Progress:
    goal: Goal
    current: PeriodResult
    current_streak: int
    best_streak: int
    history: list[PeriodResult]  # newest first
    achievements: list[Achievement]  # newest first


# Periods.


def period_start(day: dt.date, period: Period) -> dt.date:
    if period == Period.WEEKLY:
        return day - dt.timedelta(days=day.weekday())  # ISO weeks start on Monday
    if period == Period.MONTHLY:
        return day.replace(day=1)
    return day


# Dates a client gives are bounded (checks.calendar_date), but goals stored before that may name
# 9999-12-31: the period arithmetic stops at the calendar's ends instead of overflowing.

def _following(start: dt.date, period: Period) -> dt.date | None:
    """The start of the next period; None when the calendar ends first."""
    try:
        if period == Period.WEEKLY:
            return start + dt.timedelta(days=7)
        if period == Period.MONTHLY:
            return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return start + dt.timedelta(days=1)
    except OverflowError:
        return None


def next_period(start: dt.date, period: Period) -> dt.date:
    """The start of the next period (date.max for the calendar's last one)."""
    return _following(start, period) or dt.date.max


def previous_period(start: dt.date, period: Period) -> dt.date:
    """The start of the period before (the calendar's first period stays where it is)."""
    if start == dt.date.min:
        return start
    return period_start(start - dt.timedelta(days=1), period)


def period_end(start: dt.date, period: Period) -> dt.date:
    following = _following(start, period)
    return dt.date.max if following is None else following - dt.timedelta(days=1)


def period_starts(first: dt.date, last: dt.date, period: Period) -> list[dt.date]:
    """The starts of the periods from the one holding `first` to the one holding `last`."""
    out, start, last_start = [], period_start(first, period), period_start(last, period)
    while start is not None and start <= last_start:
        out.append(start)
        start = _following(start, period)
    return out


def periods_back(start: dt.date, period: Period, count: int) -> dt.date:
    for _ in range(count):
        start = previous_period(start, period)
    return start


# Outcomes.

def is_met(value: float | None, target: float, comparison: Comparison) -> bool:
    if value is None:  # nothing recorded: the data does not show the target met
        return False
    if comparison == Comparison.AT_MOST:
        return value <= target
    return value >= target


def percent(value: float | None, target: float, comparison: Comparison) -> float:
    """AT_LEAST: value over target; AT_MOST: 100 while at or under, else target over value."""
    if value is None:
        return 0.0
    if comparison == Comparison.AT_MOST:
        return 100.0 if value <= target else round(100.0 * target / value, 2)
    return round(100.0 * value / target, 2)


def final_once_met(comparison: Comparison, aggregation: str) -> bool:
    """Whether a period still running can be judged: a total only grows, so reaching an AT_LEAST
    target on a SUM metric holds; an average, or staying under a limit, can still change."""
    return comparison != Comparison.AT_MOST and aggregation == "SUM"


def streaks(results: Sequence[PeriodResult]) -> tuple[int, int]:
    """(current, best) over chronological results whose last item is the current period.

    The current streak ends with the current period when it is met, else with the last complete one.
    """
    best = run = 0
    for r in results:
        run = run + 1 if r.met else 0
        best = max(best, run)
    current = 0
    tail = list(results)
    if tail and not tail[-1].met:
        tail.pop()
    for r in reversed(tail):
        if not r.met:
            break
        current += 1
    return current, best


@dataclass(frozen=True)
class Milestone:
    kind: AchievementKind
    period_start_date: dt.date
    value: float
    streak_length: int = 0

    @property
    def key(self) -> tuple[AchievementKind, int]:
        return self.kind, self.streak_length


def milestones(goal: Goal, results: Sequence[PeriodResult], aggregation: str) -> list[Milestone]:
    """Every milestone the results show, each once: the first met period, each streak length
    the first time a run reaches it, and a dated goal met on or before its target_date.
    Only final outcomes count (see final_once_met)."""
    out: dict[tuple[AchievementKind, int], Milestone] = {}
    run = 0
    judged = [r for r in results if r.complete or (r.met and final_once_met(goal.comparison, aggregation))]
    for r in judged:
        run = run + 1 if r.met else 0
        if not r.met:
            continue
        assert r.value is not None
        first = Milestone(AchievementKind.FIRST_TARGET_MET, r.start, r.value)
        out.setdefault(first.key, first)
        if run in STREAK_MILESTONES:
            streak = Milestone(AchievementKind.STREAK, r.start, r.value, run)
            out.setdefault(streak.key, streak)
        if goal.target_date is not None and r.start <= goal.target_date:
            done = Milestone(AchievementKind.GOAL_ACHIEVED, r.start, r.value)
            out.setdefault(done.key, done)
    return list(out.values())


def unit_word(period: Period) -> str:
    return {Period.DAILY: "day", Period.WEEKLY: "week", Period.MONTHLY: "month"}.get(period, "period")


def describe(goal: Goal, m: Milestone) -> tuple[str, str]:
    """Title and sentence of an achievement, for people."""
    target = f"{goal.metric} {'at most' if goal.comparison == Comparison.AT_MOST else 'at least'} " \
             f"{goal.target_value:g} {goal.unit}"
    if m.kind == AchievementKind.STREAK:
        return (f"{m.streak_length}-{unit_word(goal.period)} streak",
                f"{target} for {m.streak_length} {unit_word(goal.period)}s in a row, up to the "
                f"{unit_word(goal.period)} starting {m.period_start_date.isoformat()}.")
    if m.kind == AchievementKind.GOAL_ACHIEVED:
        return ("Goal achieved", f"{target} reached in the {unit_word(goal.period)} starting "
                f"{m.period_start_date.isoformat()}, by the target date {goal.target_date}.")
    return ("Target met", f"{target} met for the first time in the {unit_word(goal.period)} starting "
            f"{m.period_start_date.isoformat()}.")


def next_state(goal: Goal, reached: bool, today: dt.date) -> State:
    """What Tracking moves an ACTIVE dated goal to: ACHIEVED once reached, EXPIRED once the period
    holding its target_date is over without it."""
    if goal.state != State.ACTIVE or goal.target_date is None:
        return goal.state
    if reached:
        return State.ACHIEVED
    if today > period_end(period_start(goal.target_date, goal.period), goal.period):
        return State.EXPIRED
    return goal.state


# Validation.

def default_display_name(metric: str, target: float, unit: str, comparison: Comparison, period: Period) -> str:
    side = "at most" if comparison == Comparison.AT_MOST else "at least"
    return f"{metric} {side} {target:g} {unit} a {unit_word(period)}"[:MAX_DISPLAY_NAME]




def validate_target(target: float, spec: MetricSpec | None, v: Violations, field: str = "goal.target_value") -> None:
    if not math.isfinite(target) or target <= 0:
        v.add(field, "must be a number above zero")
    elif spec is not None and spec.aggregation == "SAMPLE":
        # A SUM metric's period total may exceed any single sample; an average may not.
        low = spec.min_value if spec.min_value is not None else -math.inf
        high = spec.max_value if spec.max_value is not None else math.inf
        if not low <= target <= high:
            v.add(field, f"must lie in the metric's range {low:g} to {high:g} {spec.unit}")


def validate_display_name(name: str, v: Violations, field: str = "goal.display_name") -> None:
    if len(name) > MAX_DISPLAY_NAME:
        v.add(field, f"must have at most {MAX_DISPLAY_NAME} characters")


def validate_enum(value: int, kind: type[enum.IntEnum], field: str, v: Violations) -> None:
    if value not in kind._value2member_map_:
        v.add(field, "is not a known value")


def validate_dates(start: dt.date | None, target: dt.date | None, v: Violations,
                   field: str = "goal.target_date") -> None:
    if start is not None and target is not None and target < start:
        v.add(field, "must not be before start_date")
