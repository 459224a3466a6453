"""Goals' use cases: CRUD, and progress from the sample aggregates with streaks and achievements."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence

from services.common import checks
from services.common.clock import Clock, today_in, utcnow
from services.common.errors import (
    FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted, Violations, shown,
)
from services.common.ids import uuid7
from services.tracking.goals import domain
from services.tracking.goals.domain import (
    Achievement, AchievementKind, Comparison, Goal, GoalFields, MetricSpec, Period, PeriodResult, Progress, State,
)
from services.tracking.goals.repository import GoalRepository
from services.tracking.ports import Profiles, SampleReader
from services.tracking.samples.domain import Interval

# The catalog entry of a sample type (aggregation, canonical unit, valid range); None when unknown.
MetricLookup = Callable[[str], MetricSpec | None]
# Seconds asleep per night, keyed by the local date each night ends on, for dates in [first, last].
SleepByNight = Callable[[uuid.UUID, dt.date, dt.date], Awaitable[dict[dt.date, float]]]

_INTERVALS = {Period.DAILY: Interval.DAY, Period.WEEKLY: Interval.WEEK, Period.MONTHLY: Interval.MONTH}
# Local dates reach at most 18 hours either side of UTC, so this much around a date range holds
# every sample of its local dates.
_OFFSET_REACH = dt.timedelta(hours=18)


def _name(user_id: uuid.UUID, goal_id: uuid.UUID) -> str:
    return f"users/{user_id}/goals/{goal_id}"


class GoalService:
    def __init__(self, repo: GoalRepository, samples: SampleReader, metric_of: MetricLookup, profiles: Profiles,
                 clock: Clock = utcnow, sleep_by_night: SleepByNight | None = None) -> None:
        self._repo = repo
        self._samples = samples
        self._metric_of = metric_of
        self._profiles = profiles
        self._now = clock
        self._sleep = sleep_by_night

    def _spec(self, metric: str) -> MetricSpec | None:
        return domain.SLEEP_SPEC if metric == domain.SLEEP_DURATION else self._metric_of(metric)

    async def _today(self, user_id: uuid.UUID) -> dt.date:
        return today_in((await self._profiles.profile(user_id)).time_zone, self._now())

    # CRUD.

    async def get(self, user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal:
        goal = await self._repo.get(user_id, goal_id)
        if goal is None:
            raise NotFound(f"{_name(user_id, goal_id)} does not exist")
        return goal

    async def list(self, user_id: uuid.UUID, state: State, metric: str, limit: int,
                   after: uuid.UUID | None) -> list[Goal]:
        return await self._repo.list(user_id, state, metric, limit, after)

    async def create(self, user_id: uuid.UUID, f: GoalFields, request_id: str) -> Goal:
        v = Violations()
        spec = None
        if not f.metric:
            v.add("goal.metric", "is required")
        else:
            spec = self._spec(f.metric)
            if spec is None:
                v.add("goal.metric", f"{shown(f.metric)} is neither a sample type of the catalog nor sleep_duration")
        domain.validate_target(f.target_value, spec, v)
        domain.validate_enum(f.comparison, Comparison, "goal.comparison", v)
        if f.period == Period.UNSPECIFIED:
            v.add("goal.period", "is required: DAILY, WEEKLY or MONTHLY")
        else:
            domain.validate_enum(f.period, Period, "goal.period", v)
        if f.state != State.UNSPECIFIED and f.state not in domain.USER_STATES:
            v.add("goal.state", "may only be ACTIVE, PAUSED or ARCHIVED")
        domain.validate_display_name(f.display_name, v)
        start = checks.calendar_date(f.start_date, "goal.start_date", v)
        target_date = checks.calendar_date(f.target_date, "goal.target_date", v)
        checks.request_id(request_id, v)
        v.raise_if_any()
        assert spec is not None
        if request_id:
            existing = await self._repo.get_by_request_id(user_id, request_id)
            if existing is not None:
                return existing
        start = start or await self._today(user_id)
        domain.validate_dates(start, target_date, v)
        v.raise_if_any()
        state = State(f.state) if f.state else State.ACTIVE
        if state != State.ARCHIVED:
            await self._check_room(user_id)
        now = self._now()
        comparison = Comparison(f.comparison) if f.comparison else Comparison.AT_LEAST
        period = Period(f.period)
        goal = Goal(
            id=uuid7(), user_id=user_id,
            display_name=f.display_name.strip() or domain.default_display_name(
                f.metric, f.target_value, spec.unit, comparison, period),
            metric=f.metric, target_value=f.target_value, unit=spec.unit, comparison=comparison, period=period,
            start_date=start, target_date=target_date, state=state, create_time=now, update_time=now,
        )
        return await self._repo.add(goal, request_id or None)

    async def update(self, user_id: uuid.UUID, goal_id: uuid.UUID, paths: Sequence[str], f: GoalFields) -> Goal:
        v = Violations()
        if not paths:
            v.add("update_mask", "must name at least one field")
        for path in paths:
            if path in domain.IMMUTABLE_FIELDS:
                v.add("update_mask", f"{shown(path)} is immutable: create a new goal instead")
            elif path in domain.OUTPUT_ONLY_FIELDS:
                v.add("update_mask", f"{shown(path)} is output-only or the name and cannot be updated")
            elif path not in domain.UPDATABLE_FIELDS:
                v.add("update_mask", f"{shown(path)} is not a field of Goal")
        v.raise_if_any()
        goal = await self.get(user_id, goal_id)
        changes = self._changes(goal, paths, f, v)
        v.raise_if_any()
        new = dataclasses.replace(goal, **changes, update_time=self._now())
        domain.validate_dates(new.start_date, new.target_date, v)
        v.raise_if_any()
        if not new.display_name:
            new = dataclasses.replace(new, display_name=domain.default_display_name(
                new.metric, new.target_value, new.unit, new.comparison, new.period))
        if goal.state == State.ARCHIVED and new.state != State.ARCHIVED:
            await self._check_room(user_id)
        saved = await self._repo.save(new)
        if saved is None:
            raise NotFound(f"{_name(user_id, goal_id)} does not exist")
        return saved

    def _changes(self, goal: Goal, paths: Sequence[str], f: GoalFields, v: Violations) -> dict:
        changes: dict = {}
        for path in paths:
            if path == "display_name":
                domain.validate_display_name(f.display_name, v)
                changes["display_name"] = f.display_name.strip()
            elif path == "target_value":
                domain.validate_target(f.target_value, self._spec(goal.metric), v)
                changes["target_value"] = f.target_value
            elif path == "comparison":
                domain.validate_enum(f.comparison, Comparison, "goal.comparison", v)
                if f.comparison in Comparison._value2member_map_:
                    changes["comparison"] = Comparison(f.comparison) if f.comparison else Comparison.AT_LEAST
            elif path == "period":
                if f.period == Period.UNSPECIFIED or f.period not in Period._value2member_map_:
                    v.add("goal.period", "must be DAILY, WEEKLY or MONTHLY")
                else:
                    changes["period"] = Period(f.period)
            elif path == "start_date":
                start = checks.calendar_date(f.start_date, "goal.start_date", v)
                if start is None and not f.start_date:
                    v.add("goal.start_date", "cannot be cleared; give a date as YYYY-MM-DD")
                elif start is not None:
                    changes["start_date"] = start
            elif path == "target_date":
                # Empty clears it: the goal becomes open-ended.
                changes["target_date"] = checks.calendar_date(f.target_date, "goal.target_date", v)
            elif path == "state":
                if f.state not in domain.USER_STATES:
                    v.add("goal.state", "may only be ACTIVE, PAUSED or ARCHIVED")
                else:
                    changes["state"] = State(f.state)
        return changes

    async def delete(self, user_id: uuid.UUID, goal_id: uuid.UUID) -> None:
        if not await self._repo.delete(user_id, goal_id):
            raise NotFound(f"{_name(user_id, goal_id)} does not exist")

    async def _check_room(self, user_id: uuid.UUID) -> None:
        if await self._repo.count_unarchived(user_id) >= domain.MAX_LIVE_GOALS:
            raise ResourceExhausted(f"at most {domain.MAX_LIVE_GOALS} goals that are not ARCHIVED; archive one first",
                                    "GOAL_LIMIT")

    # Progress.

    async def progress(self, user_id: uuid.UUID, goal_id: uuid.UUID, history_periods: int) -> Progress:
        if not 0 <= history_periods <= domain.MAX_HISTORY:
            raise InvalidArgument.field("history_periods", f"must lie between 0 and {domain.MAX_HISTORY}")
        history_count = history_periods or domain.DEFAULT_HISTORY
        goal = await self.get(user_id, goal_id)
        spec = self._spec(goal.metric)
        if spec is None:
            raise FailedPrecondition(f"the metric {shown(goal.metric)} is no longer in the sample type catalog",
                                     "UNKNOWN_METRIC")
        today = await self._today(user_id)
        current_start = domain.period_start(today, goal.period)
        first_start = domain.period_start(goal.start_date, goal.period)
        earliest = domain.periods_back(current_start, goal.period, domain.MAX_EVALUATED_PERIODS - 1)
        fetch_from = min(max(first_start, earliest), current_start)
        values = await self._period_values(goal, spec, fetch_from, domain.period_end(current_start, goal.period))

        results = []
        for start in domain.period_starts(fetch_from, current_start, goal.period):
            end = domain.period_end(start, goal.period)
            value = values.get(start)
            results.append(PeriodResult(
                start, end, value, domain.percent(value, goal.target_value, goal.comparison),
                domain.is_met(value, goal.target_value, goal.comparison), complete=end < today))
        current = results[-1]
        counted = [r for r in results if r.start >= first_start]  # a goal starting later counts nothing yet
        current_streak, best_streak = domain.streaks(counted)
        history = list(reversed(counted[:-1]))[:history_count] if counted else []
        goal, achievements = await self._award(goal, spec, counted, today)
        return Progress(goal, current, current_streak, best_streak, history, achievements)

    async def _award(self, goal: Goal, spec: MetricSpec, counted: list[PeriodResult],
                     today: dt.date) -> tuple[Goal, list[Achievement]]:
        """Stores the milestones not yet awarded and moves a dated goal on (only ACTIVE goals are
        tracked); returns the goal as it now stands and its achievements, newest first."""
        existing = await self._repo.achievements(goal.user_id, goal.id)
        if goal.state != State.ACTIVE:
            return goal, existing
        have = {(a.kind, a.streak_length) for a in existing}
        due = [m for m in domain.milestones(goal, counted, spec.aggregation) if m.key not in have]
        now = self._now()
        new = []
        for m in due:
            title, description = domain.describe(goal, m)
            new.append(Achievement(uuid7(), goal.user_id, goal.id, m.kind, title, description, m.period_start_date,
                                   m.value, m.streak_length, now))
        await self._repo.award(new)
        reached = any(k == AchievementKind.GOAL_ACHIEVED for k, _ in have) or any(
            m.kind == AchievementKind.GOAL_ACHIEVED for m in due)
        state = domain.next_state(goal, reached, today)
        if state != goal.state:
            await self._repo.set_state(goal.user_id, goal.id, goal.state, state, now)
            goal = dataclasses.replace(goal, state=state, update_time=now)
        return goal, (await self._repo.achievements(goal.user_id, goal.id) if new else existing)

    async def _period_values(self, goal: Goal, spec: MetricSpec, first: dt.date,
                             last: dt.date) -> dict[dt.date, float]:
        """The metric's value per period start, for periods with data from `first` to `last`."""
        if goal.metric == domain.SLEEP_DURATION:
            return await self._sleep_values(goal, first, last)
        window_start = dt.datetime.combine(first, dt.time(), dt.UTC) - _OFFSET_REACH
        window_end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC) + _OFFSET_REACH
        buckets = await self._samples.aggregate(goal.user_id, goal.metric, _INTERVALS[goal.period],
                                                window_start, window_end)
        values = {}
        for b in buckets:
            if b.count > 0:
                # Edge buckets of the wide window start before `first` and are never looked up.
                values[domain.period_start(b.local_date, goal.period)] = b.sum if spec.aggregation == "SUM" else b.avg
        return values

    async def _sleep_values(self, goal: Goal, first: dt.date, last: dt.date) -> dict[dt.date, float]:
        if self._sleep is None:
            raise FailedPrecondition("progress on sleep_duration needs sleep sessions, which this server "
                                     "does not read yet", "SLEEP_DURATION_UNSUPPORTED")
        nights: dict[dt.date, list[float]] = {}
        for day, seconds in (await self._sleep(goal.user_id, first, last)).items():
            if first <= day <= last and seconds > 0:
                nights.setdefault(domain.period_start(day, goal.period), []).append(seconds / 3600)
        # The average hours per night with sleep, as for SAMPLE types.
        return {start: sum(hours) / len(hours) for start, hours in nights.items()}
