"""Goals against in-memory fakes: validation, CRUD rules, and progress from aggregates (percent,
streaks over days, weeks and months, achievements once, dated goals, sleep_duration)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from services.common.ids import uuid7
from services.tracking.goals import domain
from services.tracking.goals.domain import (
    AchievementKind, Comparison, GoalFields, MetricSpec, Period, PeriodResult, State,
)
from services.tracking.goals.service import GoalService
from services.tracking.ports import Profile
from services.tracking.samples.domain import Bucket, Interval

UTC = dt.UTC
USER = uuid.UUID("0190a5c4-0000-7000-8000-000000000001")
CATALOG = {
    "step_count": MetricSpec("SUM", "{count}", 0, 100_000),
    "water": MetricSpec("SUM", "mL", 0, 10_000),
    "caffeine": MetricSpec("SUM", "mg", 0, 5_000),
    "weight": MetricSpec("SAMPLE", "kg", 1, 700),
}


class FakeRepo:
    def __init__(self) -> None:
        self.goals: dict[uuid.UUID, tuple] = {}  # id -> (goal, request_id)
        self.awarded: list = []

    async def add(self, goal, request_id):
        found = await self.get_by_request_id(goal.user_id, request_id) if request_id else None
        if found:
            return found
        self.goals[goal.id] = (goal, request_id)
        return goal

    async def get(self, user_id, goal_id):
        hit = self.goals.get(goal_id)
        return hit[0] if hit and hit[0].user_id == user_id else None

    async def get_by_request_id(self, user_id, request_id):
        return next((g for g, rid in self.goals.values() if g.user_id == user_id and rid == request_id), None)

    async def count_unarchived(self, user_id):
        return sum(1 for g, _ in self.goals.values() if g.user_id == user_id and g.state != State.ARCHIVED)

    async def list(self, user_id, state, metric, limit, after):
        out = [g for g, _ in self.goals.values() if g.user_id == user_id and (not state or g.state == state)
               and (not metric or g.metric == metric) and (after is None or g.id < after)]
        return sorted(out, key=lambda g: g.id, reverse=True)[:limit]

    async def save(self, goal):
        if goal.id not in self.goals:
            return None
        self.goals[goal.id] = (goal, self.goals[goal.id][1])
        return goal

    async def set_state(self, user_id, goal_id, expected, state, now):
        goal, rid = self.goals[goal_id]
        if goal.state == expected:
            self.goals[goal_id] = (dataclasses.replace(goal, state=state, update_time=now), rid)

    async def delete(self, user_id, goal_id):
        self.awarded = [a for a in self.awarded if a.goal_id != goal_id]
        return self.goals.pop(goal_id, None) is not None

    async def achievements(self, user_id, goal_id):
        mine = [a for a in self.awarded if a.goal_id == goal_id]
        return sorted(mine, key=lambda a: (a.period_start_date, a.id), reverse=True)

    async def award(self, achievements):
        for a in achievements:
            if not any((b.goal_id, b.kind, b.streak_length) == (a.goal_id, a.kind, a.streak_length)
                       for b in self.awarded):
                self.awarded.append(a)


class FakeSamples:
    """A SampleReader that buckets on each sample's own local day, as the real one does."""

    def __init__(self) -> None:
        self.points: list[tuple[str, dt.datetime, int, float]] = []  # (type, start UTC, offset, value)
        self.calls: list[tuple] = []

    def add(self, type: str, local: str, value: float, offset: int = 0) -> None:
        naive = dt.datetime.fromisoformat(local)
        self.points.append((type, (naive - dt.timedelta(minutes=offset)).replace(tzinfo=UTC), offset, value))

    async def aggregate(self, user_id, type, interval, start, end, source=""):
        self.calls.append((type, interval, start, end))
        groups: dict[dt.date, list[float]] = {}
        for t, at, offset, value in self.points:
            if t != type or not start <= at < end:
                continue
            day = (at + dt.timedelta(minutes=offset)).date()
            if interval == Interval.WEEK:
                day -= dt.timedelta(days=day.weekday())
            elif interval == Interval.MONTH:
                day = day.replace(day=1)
            groups.setdefault(day, []).append(value)
        return [Bucket(dt.datetime.combine(d, dt.time(), UTC), d, len(v), sum(v), min(v), max(v),
                       sum(v) / len(v), ("",))
                for d, v in sorted(groups.items())]

    async def samples(self, *args, **kwargs):
        return []


class FakeProfiles:
    def __init__(self, time_zone: str = "") -> None:
        self.time_zone = time_zone

    async def profile(self, user_id):
        return Profile(None, "", self.time_zone)


class Clock:
    def __init__(self, now: str) -> None:
        self.now = dt.datetime.fromisoformat(now)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def repo():
    return FakeRepo()


@pytest.fixture
def samples():
    return FakeSamples()


@pytest.fixture
def clock():
    return Clock("2026-03-11T15:00:00+00:00")  # a Wednesday


@pytest.fixture
def svc(repo, samples, clock):
    return GoalService(repo, samples, CATALOG.get, FakeProfiles(), clock)


def steps(day: str, value: float = 10_000) -> GoalFields:
    return GoalFields(metric="step_count", target_value=value, period=Period.DAILY, start_date=day)


def fields_of(err: pytest.ExceptionInfo) -> set[str]:
    return {v.field for v in err.value.violations}


# Domain rules.

def test_periods_follow_iso_weeks_and_calendar_months():
    wed = dt.date(2026, 3, 11)
    assert domain.period_start(wed, Period.WEEKLY) == dt.date(2026, 3, 9)
    assert domain.period_end(dt.date(2026, 3, 9), Period.WEEKLY) == dt.date(2026, 3, 15)
    assert domain.period_end(dt.date(2026, 2, 1), Period.MONTHLY) == dt.date(2026, 2, 28)
    assert domain.next_period(dt.date(2026, 12, 1), Period.MONTHLY) == dt.date(2027, 1, 1)
    assert domain.periods_back(dt.date(2026, 3, 1), Period.MONTHLY, 3) == dt.date(2025, 12, 1)
    assert domain.period_starts(dt.date(2026, 3, 4), wed, Period.WEEKLY) == [dt.date(2026, 3, 2), dt.date(2026, 3, 9)]


def test_percent_on_both_sides_of_the_target():
    assert domain.percent(7_500, 10_000, Comparison.AT_LEAST) == 75.0
    assert domain.percent(12_000, 10_000, Comparison.AT_LEAST) == 120.0
    assert domain.percent(300, 400, Comparison.AT_MOST) == 100.0
    assert domain.percent(500, 400, Comparison.AT_MOST) == 80.0
    assert domain.percent(None, 400, Comparison.AT_MOST) == 0.0
    assert not domain.is_met(None, 400, Comparison.AT_MOST)


def _r(met: bool, complete: bool = True) -> PeriodResult:
    return PeriodResult(dt.date(2026, 1, 1), dt.date(2026, 1, 1), 1.0 if met else 0.0, 0, met, complete)


def test_streaks_end_with_the_current_period_or_the_last_complete_one():
    assert domain.streaks([_r(True), _r(True), _r(False), _r(True), _r(True), _r(True, False)]) == (3, 3)
    assert domain.streaks([_r(True), _r(True), _r(True), _r(False, False)]) == (3, 3)
    assert domain.streaks([_r(True), _r(False), _r(False, False)]) == (0, 1)
    assert domain.streaks([]) == (0, 0)


# CRUD.

async def test_create_reports_every_bad_field(svc):
    with pytest.raises(InvalidArgument) as err:
        await svc.create(USER, GoalFields(metric="steps", target_value=0, comparison=7, start_date="2026-13-01",
                                          target_date="tomorrow", state=State.ACHIEVED), "nope")
    assert fields_of(err) == {"goal.metric", "goal.target_value", "goal.comparison", "goal.period",
                              "goal.start_date", "goal.target_date", "goal.state", "request_id"}


async def test_target_must_be_in_range_for_averages_only(svc):
    with pytest.raises(InvalidArgument) as err:
        await svc.create(USER, GoalFields(metric="weight", target_value=900, period=Period.DAILY), "")
    assert fields_of(err) == {"goal.target_value"}
    weekly = await svc.create(USER, GoalFields(metric="step_count", target_value=200_000, period=Period.WEEKLY), "")
    assert weekly.target_value == 200_000  # a total may exceed any one sample's range
    with pytest.raises(InvalidArgument) as err:
        await svc.create(USER, GoalFields(metric="water", target_value=-1, period=Period.DAILY), "")
    assert fields_of(err) == {"goal.target_value"}


async def test_create_fills_defaults(svc):
    g = await svc.create(USER, GoalFields(metric="water", target_value=2000, period=Period.DAILY), "")
    assert (g.start_date, g.state, g.comparison, g.unit) == (
        dt.date(2026, 3, 11), State.ACTIVE, Comparison.AT_LEAST, "mL")
    assert g.display_name == "water at least 2000 mL a day" and g.target_date is None
    sleep = await svc.create(USER, GoalFields(metric="sleep_duration", target_value=7, period=Period.DAILY), "")
    assert sleep.unit == "h"


async def test_target_date_not_before_start(svc):
    with pytest.raises(InvalidArgument) as err:
        await svc.create(USER, GoalFields(metric="water", target_value=1, period=Period.DAILY,
                                          start_date="2026-03-11", target_date="2026-03-10"), "")
    assert fields_of(err) == {"goal.target_date"}


async def test_create_is_idempotent_and_limited(svc, repo):
    rid = str(uuid.uuid4())
    first = await svc.create(USER, steps("2026-03-01"), rid)
    assert await svc.create(USER, steps("2026-03-01", 5), rid) == first
    for _ in range(99):
        await svc.create(USER, steps("2026-03-01"), "")
    with pytest.raises(ResourceExhausted):
        await svc.create(USER, steps("2026-03-01"), "")
    assert await svc.create(USER, dataclasses.replace(steps("2026-03-01"), state=State.ARCHIVED), "")
    assert await svc.create(USER, steps("2026-03-01", 5), rid) == first  # a retry still gets its goal
    some = next(iter(repo.goals))
    await svc.update(USER, some, ["state"], GoalFields(state=State.ARCHIVED))
    archived = [g for g, _ in repo.goals.values() if g.state == State.ARCHIVED]
    await svc.update(USER, archived[0].id, ["state"], GoalFields(state=State.ACTIVE))  # back to 100
    with pytest.raises(ResourceExhausted):
        await svc.update(USER, archived[1].id, ["state"], GoalFields(state=State.ACTIVE))


async def test_update_checks_the_mask(svc):
    g = await svc.create(USER, steps("2026-03-01"), "")
    for paths, field in (([], "update_mask"), (["metric"], "update_mask"), (["unit"], "update_mask"),
                         (["colour"], "update_mask"), (["state"], "goal.state"), (["period"], "goal.period"),
                         (["target_value"], "goal.target_value"), (["start_date"], "goal.start_date")):
        with pytest.raises(InvalidArgument) as err:
            await svc.update(USER, g.id, paths, GoalFields())
        assert fields_of(err) == {field}, paths
    with pytest.raises(InvalidArgument) as err:
        await svc.update(USER, g.id, ["target_date"], GoalFields(target_date="2026-02-01"))
    assert fields_of(err) == {"goal.target_date"}
    with pytest.raises(InvalidArgument):
        await svc.update(USER, g.id, ["state"], GoalFields(state=State.EXPIRED))
    with pytest.raises(NotFound):
        await svc.update(USER, uuid7(), ["display_name"], GoalFields(display_name="x"))


async def test_update_changes_only_the_named_fields(svc):
    g = await svc.create(USER, dataclasses.replace(steps("2026-03-01"), target_date="2026-06-01"), "")
    u = await svc.update(USER, g.id, ["target_value", "period", "target_date", "display_name"],
                         GoalFields(target_value=70_000, period=Period.WEEKLY, display_name=""))
    assert (u.target_value, u.period, u.target_date, u.metric) == (70_000, Period.WEEKLY, None, "step_count")
    assert u.display_name == "step_count at least 70000 {count} a week"
    assert u.start_date == g.start_date and u.create_time == g.create_time


async def test_list_filters_and_pages_newest_first(svc):
    made = [await svc.create(USER, steps("2026-03-01"), "") for _ in range(3)]
    water = await svc.create(USER, GoalFields(metric="water", target_value=1, period=Period.DAILY), "")
    assert [g.id for g in await svc.list(USER, State.UNSPECIFIED, "step_count", 2, None)] == [made[2].id, made[1].id]
    assert [g.id for g in await svc.list(USER, State.UNSPECIFIED, "step_count", 2, made[1].id)] == [made[0].id]
    assert [g.id for g in await svc.list(USER, State.ACTIVE, "water", 10, None)] == [water.id]


async def test_delete(svc):
    g = await svc.create(USER, steps("2026-03-01"), "")
    await svc.delete(USER, g.id)
    with pytest.raises(NotFound):
        await svc.get(USER, g.id)
    with pytest.raises(NotFound):
        await svc.delete(USER, g.id)


# Progress.

async def test_daily_progress_percent_streak_and_achievements(svc, samples, repo):
    g = await svc.create(USER, steps("2026-03-05"), "")
    for day, value in (("04", 20_000), ("05", 12_000), ("06", 3_000), ("07", 10_000), ("08", 11_000),
                       ("09", 10_500), ("10", 10_001), ("11", 4_000)):
        samples.add("step_count", f"2026-03-{day}T09:00:00", value / 2)
        samples.add("step_count", f"2026-03-{day}T18:00:00", value / 2)
    p = await svc.progress(USER, g.id, 0)
    assert (p.current.start, p.current.end, p.current.value) == (dt.date(2026, 3, 11),) * 2 + (4_000,)
    assert (p.current.percent, p.current.met) == (40.0, False)
    # Today is not met yet, so the streak ends yesterday: the 7th to the 10th. The 4th is before start.
    assert (p.current_streak, p.best_streak) == (4, 4)
    assert [r.start.day for r in p.history] == [10, 9, 8, 7, 6, 5]
    assert [r.met for r in p.history] == [True, True, True, True, False, True]
    kinds = [(a.kind, a.streak_length, a.period_start_date.day) for a in p.achievements]
    assert kinds == [(AchievementKind.STREAK, 3, 9), (AchievementKind.FIRST_TARGET_MET, 0, 5)]
    assert p.achievements[0].title == "3-day streak" and p.achievements[0].value == 10_500
    # Reading again awards nothing twice.
    again = await svc.progress(USER, g.id, 2)
    assert len(repo.awarded) == 2 and len(again.history) == 2
    # Once today reaches the target, it counts in the streak at once (a total only grows).
    samples.add("step_count", "2026-03-11T20:00:00", 7_000)
    p = await svc.progress(USER, g.id, 0)
    assert (p.current.met, p.current.percent, p.current_streak, p.best_streak) == (True, 110.0, 5, 5)


async def test_samples_count_on_their_own_local_day(svc, samples):
    g = await svc.create(USER, steps("2026-03-09", 1_000), "")
    # 23:00 local at UTC-10 is 09:00 UTC the next day: it counts for the 9th, and is in the window.
    samples.add("step_count", "2026-03-09T23:00:00", 1_000, offset=-600)
    samples.add("step_count", "2026-03-10T00:30:00", 1_000, offset=+840)  # 10:30 UTC on the 9th
    p = await svc.progress(USER, g.id, 0)
    assert [(r.start.day, r.value) for r in p.history] == [(10, 1_000), (9, 1_000)]
    first, *_ = samples.calls
    assert first[1] == Interval.DAY and first[2] <= dt.datetime(2026, 3, 8, 14, tzinfo=UTC)


async def test_weekly_streaks(svc, samples, clock):
    g = await svc.create(USER, GoalFields(metric="step_count", target_value=50_000, period=Period.WEEKLY,
                                          start_date="2026-02-11"), "")
    for monday, value in (("2026-02-09", 60_000), ("2026-02-16", 55_000), ("2026-02-23", 50_000),
                          ("2026-03-02", 49_999), ("2026-03-09", 10_000)):
        samples.add("step_count", f"{monday}T10:00:00", value)
    p = await svc.progress(USER, g.id, 0)
    assert (p.current.start, p.current.end) == (dt.date(2026, 3, 9), dt.date(2026, 3, 15))
    assert [r.start.isoformat() for r in p.history] == ["2026-03-02", "2026-02-23", "2026-02-16", "2026-02-09"]
    assert (p.current_streak, p.best_streak) == (0, 3)
    assert {(a.kind, a.streak_length) for a in p.achievements} == {
        (AchievementKind.FIRST_TARGET_MET, 0), (AchievementKind.STREAK, 3)}
    assert next(a for a in p.achievements if a.kind == AchievementKind.STREAK).title == "3-week streak"
    assert samples.calls[-1][1] == Interval.WEEK


async def test_monthly_average_at_most(svc, samples, clock):
    g = await svc.create(USER, GoalFields(metric="weight", target_value=75, comparison=Comparison.AT_MOST,
                                          period=Period.MONTHLY, start_date="2026-01-15"), "")
    for day, kg in (("2026-01-03", 78), ("2026-01-20", 76), ("2026-02-02", 75.5), ("2026-02-20", 74.0),
                    ("2026-03-01", 74.0), ("2026-03-10", 73.0)):
        samples.add("weight", f"{day}T07:00:00", kg)
    p = await svc.progress(USER, g.id, 0)
    assert (p.current.start, p.current.end, p.current.value) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31), 73.5)
    assert (p.current.percent, p.current.met) == (100.0, True)
    assert [(r.start.month, r.value, r.met) for r in p.history] == [(2, 74.75, True), (1, 77.0, False)]
    assert round(p.history[1].percent, 2) == 97.4
    assert (p.current_streak, p.best_streak) == (2, 2)
    # An average can still change: only February, which is over, is judged for achievements.
    assert [(a.kind, a.period_start_date.month) for a in p.achievements] == [(AchievementKind.FIRST_TARGET_MET, 2)]


async def test_at_most_on_a_total_waits_for_the_period_to_end(svc, samples):
    g = await svc.create(USER, GoalFields(metric="caffeine", target_value=400, comparison=Comparison.AT_MOST,
                                          period=Period.DAILY, start_date="2026-03-11"), "")
    samples.add("caffeine", "2026-03-11T08:00:00", 90)
    p = await svc.progress(USER, g.id, 0)
    assert p.current.met and p.current_streak == 1 and p.achievements == []


async def test_a_dated_goal_is_achieved_once(svc, samples, repo):
    g = await svc.create(USER, dataclasses.replace(steps("2026-03-01"), target_date="2026-03-20"), "")
    samples.add("step_count", "2026-03-03T10:00:00", 12_000)
    p = await svc.progress(USER, g.id, 0)
    assert p.goal.state == State.ACHIEVED and (await svc.get(USER, g.id)).state == State.ACHIEVED
    assert {a.kind for a in p.achievements} == {AchievementKind.FIRST_TARGET_MET, AchievementKind.GOAL_ACHIEVED}
    # No longer ACTIVE: later data awards nothing more.
    for d in (4, 5, 6):
        samples.add("step_count", f"2026-03-0{d}T10:00:00", 12_000)
    p = await svc.progress(USER, g.id, 0)
    assert len(p.achievements) == 2 and p.best_streak == 4


async def test_a_dated_goal_expires_after_its_period(svc, samples, clock):
    g = await svc.create(USER, GoalFields(metric="step_count", target_value=50_000, period=Period.WEEKLY,
                                          start_date="2026-02-02", target_date="2026-03-04"), "")
    clock.now = dt.datetime(2026, 3, 6, 12, tzinfo=UTC)
    samples.add("step_count", "2026-03-05T10:00:00", 40_000)  # short, in the week of the target date
    assert (await svc.progress(USER, g.id, 0)).goal.state == State.ACTIVE  # that week is not over
    clock.now = dt.datetime(2026, 3, 8, 12, tzinfo=UTC)
    samples.add("step_count", "2026-03-07T10:00:00", 10_000)  # a total that reaches the target holds
    assert (await svc.progress(USER, g.id, 0)).goal.state == State.ACHIEVED
    late = await svc.create(USER, GoalFields(metric="step_count", target_value=50_000, period=Period.WEEKLY,
                                             start_date="2026-02-02", target_date="2026-02-10"), "")
    assert (await svc.progress(USER, late.id, 0)).goal.state == State.EXPIRED


async def test_paused_goals_report_progress_but_award_nothing(svc, samples, repo):
    g = await svc.create(USER, dataclasses.replace(steps("2026-03-01"), state=State.PAUSED), "")
    samples.add("step_count", "2026-03-03T10:00:00", 12_000)
    p = await svc.progress(USER, g.id, 0)
    assert p.best_streak == 1 and p.achievements == [] and repo.awarded == []


async def test_a_goal_starting_later_counts_nothing_yet(svc, samples):
    g = await svc.create(USER, steps("2026-04-01"), "")
    samples.add("step_count", "2026-03-11T10:00:00", 12_000)
    p = await svc.progress(USER, g.id, 0)
    assert p.current.value == 12_000 and (p.current_streak, p.best_streak, p.history, p.achievements) == (0, 0, [], [])


async def test_history_periods_bounds(svc):
    g = await svc.create(USER, steps("2026-03-01"), "")
    for bad in (-1, 367):
        with pytest.raises(InvalidArgument) as err:
            await svc.progress(USER, g.id, bad)
        assert fields_of(err) == {"history_periods"}
    with pytest.raises(NotFound):
        await svc.progress(USER, uuid7(), 0)


async def test_today_is_the_users_local_date(repo, samples):
    clock = Clock("2026-03-11T23:30:00+00:00")  # already the 12th in Tokyo
    svc = GoalService(repo, samples, CATALOG.get, FakeProfiles("Asia/Tokyo"), clock)
    g = await svc.create(USER, GoalFields(metric="water", target_value=2000, period=Period.DAILY), "")
    assert g.start_date == dt.date(2026, 3, 12)
    assert (await svc.progress(USER, g.id, 0)).current.start == dt.date(2026, 3, 12)


async def test_sleep_duration_needs_sleep_nights(repo, samples, clock):
    plain = GoalService(repo, samples, CATALOG.get, FakeProfiles(), clock)
    g = await plain.create(USER, GoalFields(metric="sleep_duration", target_value=7, period=Period.WEEKLY,
                                            start_date="2026-03-02"), "")
    with pytest.raises(FailedPrecondition):
        await plain.progress(USER, g.id, 0)

    async def nights(user_id, first, last):
        return {dt.date(2026, 3, 3): 8 * 3600, dt.date(2026, 3, 4): 6 * 3600, dt.date(2026, 3, 10): 7.5 * 3600}

    svc = GoalService(repo, samples, CATALOG.get, FakeProfiles(), clock, sleep_by_night=nights)
    p = await svc.progress(USER, g.id, 0)
    assert (p.current.value, p.current.met) == (7.5, True)
    assert [(r.value, r.met) for r in p.history] == [(7.0, True)]
