"""Period summaries: a local day, an ISO week (Monday to Sunday) or a calendar month, per type
against the period before, and the goals met in it (from Tracking's goal progress)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from services.insight.analytics.daily import Series, Window
from services.insight.analytics.ports import GoalHistory

DAY, WEEK, MONTH = "DAY", "WEEK", "MONTH"


@dataclass(frozen=True)
class MetricSummary:
    type: str
    unit: str
    total: float
    average: float
    min: float
    max: float
    sample_count: int
    days_with_data: int
    previous_average: float | None
    change_percent: float | None


@dataclass(frozen=True)
class GoalResult:
    goal: str
    sample_type: str
    target: float
    actual: float
    met_days: int
    met: bool


@dataclass(frozen=True)
class Summary:
    period: str
    first: dt.date
    last: dt.date
    metrics: tuple[MetricSummary, ...]
    goals: tuple[GoalResult, ...]


def period_of(period: str, day: dt.date) -> Window:
    if period == DAY:
        return Window(day, day)
    if period == WEEK:
        monday = day - dt.timedelta(days=day.isoweekday() - 1)  # ISO weeks start on Monday
        return Window(monday, monday + dt.timedelta(days=6))
    first = day.replace(day=1)
    return Window(first, day.replace(day=calendar.monthrange(day.year, day.month)[1]))


def previous_period(period: str, window: Window) -> Window:
    return period_of(period, window.first - dt.timedelta(days=1))


def average(s: Series) -> float | None:
    """The daily average (summed types) or the mean of the samples (sampled types)."""
    if not s.days:
        return None
    if s.info.summing:
        return sum(d.value for d in s.days) / len(s.days)
    count = sum(d.count for d in s.days)
    return sum(d.value * d.count for d in s.days) / count if count else None


def metric_summary(now: Series, before: Series) -> MetricSummary | None:
    """None when neither period has data."""
    mean, previous = average(now), average(before)
    if mean is None and previous is None:
        return None
    change = (mean - previous) / abs(previous) * 100 if mean is not None and previous else None
    days = now.days
    return MetricSummary(
        now.type, now.info.unit, sum(d.value for d in days) if now.info.summing else 0.0, mean or 0.0,
        min((d.low for d in days), default=0.0), max((d.high for d in days), default=0.0),
        sum(d.count for d in days), len(days), previous, change)


def periods_back(goal_period: str, since: dt.date, today: dt.date) -> int:
    """How many periods of a goal lie between `since` and today's, so its history reaches back."""
    days = max(0, (today - since).days)
    if goal_period == "DAILY":
        return days
    if goal_period == "WEEKLY":
        return days // 7 + 1
    return (today.year - since.year) * 12 + today.month - since.month


def goal_result(history: GoalHistory, window: Window) -> GoalResult | None:
    """A daily goal: on how many of the period's days it was met (met when on every day that
    counted); a weekly or monthly goal: its period that holds the summary's last counted day."""
    goal = history.goal
    inside = [p for p in history.periods if p.first <= window.last and p.last >= window.first]
    if not inside:
        return None
    if goal.period == "DAILY":
        met_days = sum(p.met for p in inside)
        actual = sum(p.value for p in inside) / len(inside)
        return GoalResult(goal.name, goal.metric, goal.target, actual, met_days, met_days == len(inside))
    latest = inside[-1]
    return GoalResult(goal.name, goal.metric, goal.target, latest.value, int(latest.met), latest.met)
