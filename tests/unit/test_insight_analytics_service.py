"""AnalyticsService with fakes at the Tracking and Auth seam: windows in the user's time zone,
request checks, caching and its invalidation per user and type, summaries and their goals, and
recommendations kept as insights."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from services.common.cache import GenerationCache
from services.common.clock import fixed
from services.common.errors import InvalidArgument
from services.insight.analytics import summary as summaries
from services.insight.analytics.daily import Series, Window
from services.insight.analytics.ports import Goal, GoalHistory, GoalPeriod, Latest, Profile
from services.insight.analytics.service import AnalyticsService
from tests.unit.insight_series import TYPES, day

USER = uuid.uuid4()
NOW = dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC)  # already April 1st in Tokyo


class FakeTracking:
    def __init__(self) -> None:
        self.days: dict[str, dict[dt.date, float]] = {}
        self.goal_list: list[Goal] = []
        self.histories: dict[str, tuple[GoalPeriod, ...]] = {}
        self.calls: list[tuple] = []

    def put(self, type: str, values: dict[dt.date, float]) -> None:
        self.days.setdefault(type, {}).update(values)

    async def catalog(self):
        return {k: v for k, v in TYPES.items() if k != "sleep_asleep"}

    async def daily(self, user_id, types, window: Window):
        self.calls.append(("daily", tuple(types), window))
        return {t: Series(TYPES[t], tuple(day(d, v) for d, v in sorted(self.days.get(t, {}).items()) if d in window))
                for t in types}

    async def nights(self, user_id, window, time_zone):
        self.calls.append(("nights", window))
        values = self.days.get("sleep_asleep", {})
        return Series(TYPES["sleep_asleep"], tuple(day(d, v) for d, v in sorted(values.items()) if d in window))

    async def latest(self, user_id, types=()):
        out = {}
        for t, values in self.days.items():
            if t != "sleep_asleep" and values and (not types or t in types):
                last = max(values)
                out[t] = Latest(t, values[last], TYPES[t].unit, dt.datetime.combine(last, dt.time(12), dt.UTC))
        return out

    async def goals(self, user_id):
        return list(self.goal_list)

    async def goal_history(self, user_id, goal, periods):
        self.calls.append(("goal_history", goal.name, periods))
        return GoalHistory(goal, self.histories.get(goal.name, ()))


class FakeProfiles:
    def __init__(self, profile: Profile) -> None:
        self.value = profile

    async def profile(self, user_id):
        return self.value


class FakeInsights:
    def __init__(self) -> None:
        self.recorded: list = []

    async def record(self, user_id, findings, settled):
        self.recorded.append((user_id, list(findings)))
        self.settled = settled


def _service(tracking, profile=Profile(None, "", ""), insights=None, now=NOW):
    return AnalyticsService(tracking, FakeProfiles(profile), GenerationCache(local_ttl_seconds=60), insights,
                            fixed(now))


def _days_back(last: dt.date, values: list[float]) -> dict[dt.date, float]:
    return {last - dt.timedelta(days=len(values) - 1 - i): v for i, v in enumerate(values)}


async def test_the_window_ends_on_the_users_own_today():
    tracking = FakeTracking()
    tokyo = _service(tracking, Profile(None, "", "Asia/Tokyo"))
    found = await tokyo.recommendations(USER, 30)
    assert (found.first, found.last) == (dt.date(2026, 3, 3), dt.date(2026, 4, 1))
    utc = await _service(FakeTracking()).recommendations(USER, 7)
    assert (utc.first, utc.last) == (dt.date(2026, 3, 25), dt.date(2026, 3, 31))


async def test_recommendations_are_cached_until_a_relevant_type_changes():
    tracking = FakeTracking()
    tracking.put("step_count", _days_back(NOW.date(), [3000.0] * 10))
    service = _service(tracking)
    first = await service.recommendations(USER, 30)
    assert [r.id for r in first.items] == ["low_steps"]
    tracking.put("step_count", _days_back(NOW.date(), [9000.0] * 10))
    assert (await service.recommendations(USER, 30)).items == first.items  # cached
    await service.samples_written(USER, frozenset({"heart_rate"}))  # the rules do not read it
    assert (await service.recommendations(USER, 30)).items == first.items
    await service.samples_written(uuid.uuid4(), frozenset({"step_count"}))  # another user
    assert (await service.recommendations(USER, 30)).items == first.items
    await service.samples_written(USER, frozenset({"step_count"}))
    assert (await service.recommendations(USER, 30)).items == ()


async def test_a_change_during_the_computation_is_not_hidden_by_its_answer():
    tracking = FakeTracking()
    tracking.put("step_count", _days_back(NOW.date(), [3000.0] * 10))
    service = _service(tracking)
    started, release = asyncio.Event(), asyncio.Event()
    plain = tracking.daily

    async def slow(user_id, types, window):
        result = await plain(user_id, types, window)
        started.set()
        await release.wait()
        return result

    tracking.daily = slow
    pending = asyncio.ensure_future(service.recommendations(USER, 30))
    await started.wait()
    tracking.put("step_count", _days_back(NOW.date(), [9000.0] * 10))
    await service.samples_written(USER, frozenset({"step_count"}))
    release.set()
    assert [r.id for r in (await pending).items] == ["low_steps"]  # computed from the old data
    tracking.daily = plain
    assert (await service.recommendations(USER, 30)).items == ()  # but not kept


async def test_a_changed_profile_is_a_new_answer():
    tracking = FakeTracking()
    tracking.put("water", _days_back(NOW.date(), [2200.0] * 10))
    profile = FakeProfiles(Profile(None, "FEMALE", ""))
    service = AnalyticsService(tracking, profile, GenerationCache(), None, fixed(NOW))
    assert (await service.recommendations(USER, 30)).items == ()
    profile.value = Profile(None, "MALE", "")
    assert [r.id for r in (await service.recommendations(USER, 30)).items] == ["low_water"]


async def test_warnings_are_kept_as_insights_and_infos_are_not():
    tracking = FakeTracking()
    tracking.put("step_count", _days_back(NOW.date(), [3000.0] * 10))
    tracking.put("water", _days_back(NOW.date(), [500.0] * 3))
    insights = FakeInsights()
    service = _service(tracking, insights=insights)
    found = await service.recommendations(USER, 30)
    assert {r.severity for r in found.items} == {"WARNING", "INFO"}
    await service.close()  # lets the recording finish
    [(user, findings)] = insights.recorded
    assert user == USER and [f.rule for f in findings] == ["low_steps"]
    assert findings[0].start_date == found.first and "3,000 steps" in findings[0].body


@pytest.mark.parametrize("call, field", [
    (lambda s: s.recommendations(USER, 366), "days"),
    (lambda s: s.recommendations(USER, -1), "days"),
    (lambda s: s.trends(USER, "", 6), "days"),
    (lambda s: s.trends(USER, "steps", 30), "type"),
    (lambda s: s.anomalies(USER, "", 0 - 5), "days"),
    (lambda s: s.correlations(USER, "", 13), "days"),
    (lambda s: s.summary(USER, "WEEK", "2026-04-02"), "date"),  # tomorrow for a UTC user
    (lambda s: s.summary(USER, "WEEK", "2026-13-01"), "date"),
])
async def test_bad_requests_name_their_field(call, field):
    with pytest.raises(InvalidArgument) as err:
        await call(_service(FakeTracking()))
    assert [v.field for v in err.value.violations] == [field]


async def test_unknown_types_are_reported_as_such():
    with pytest.raises(InvalidArgument) as err:
        await _service(FakeTracking()).trends(USER, "nope", 30)
    assert err.value.reason == "UNKNOWN_SAMPLE_TYPE"


async def test_trends_of_every_type_with_data_in_catalog_order_sleep_last():
    tracking = FakeTracking()
    tracking.put("weight", _days_back(NOW.date(), [80 - 0.1 * i for i in range(20)]))
    tracking.put("sleep_asleep", _days_back(NOW.date(), [7.0] * 20))
    tracking.put("step_count", {NOW.date() - dt.timedelta(days=200): 5000.0})  # long before the window
    found = await _service(tracking).trends(USER, "", 30)
    assert [(t.type, t.direction) for t in found.items] == [("weight", "DOWN"), ("sleep_asleep", "FLAT")]
    empty = await _service(FakeTracking()).trends(USER, "hrv", 30)
    assert [(t.type, t.direction, t.days_with_data) for t in empty.items] == [("hrv", "UNSPECIFIED", 0)]


async def test_anomalies_read_89_days_before_the_window():
    tracking = FakeTracking()
    tracking.put("water", _days_back(NOW.date(), [2000.0 + (i % 7) * 50 for i in range(100)] + [6000.0]))
    found = await _service(tracking).anomalies(USER, "water", 7)
    assert [a.date for a in found.items] == [NOW.date()]
    [(_, types, window)] = [c for c in tracking.calls if c[0] == "daily"]
    assert window == Window(NOW.date() - dt.timedelta(days=6 + 89), NOW.date())


async def test_a_summary_of_an_iso_week_against_the_one_before_with_goals():
    tracking = FakeTracking()
    monday = dt.date(2026, 3, 30)  # the week of March 31st
    tracking.put("step_count", {monday: 8000.0, monday + dt.timedelta(days=1): 10000.0,
                                monday - dt.timedelta(days=3): 6000.0})
    tracking.put("weight", {monday: 80.0})
    daily_goal = Goal("users/u/goals/steps", "step_count", "{count}", 9000, False, "DAILY", None)
    weekly = Goal("users/u/goals/week", "step_count", "{count}", 50000, False, "WEEKLY", None)
    tracking.goal_list = [daily_goal, weekly]
    tracking.histories = {
        daily_goal.name: (GoalPeriod(monday, monday, 8000, False),
                          GoalPeriod(monday + dt.timedelta(days=1), monday + dt.timedelta(days=1), 10000, True)),
        weekly.name: (GoalPeriod(monday - dt.timedelta(days=7), monday - dt.timedelta(days=1), 6000, False),
                      GoalPeriod(monday, monday + dt.timedelta(days=6), 18000, False))}
    found = (await _service(tracking).summary(USER, "WEEK", "")).summary
    assert (found.first, found.last) == (monday, monday + dt.timedelta(days=6))
    steps, weight = found.metrics
    assert (steps.type, steps.total, steps.average, steps.min, steps.max, steps.days_with_data) == (
        "step_count", 18000.0, 9000.0, 8000.0, 10000.0, 2)
    assert steps.previous_average == 6000.0 and steps.change_percent == pytest.approx(50.0)
    assert (weight.total, weight.average, weight.previous_average, weight.change_percent) == (0.0, 80.0, None, None)
    by_goal = {g.goal: g for g in found.goals}
    assert (by_goal[daily_goal.name].met_days, by_goal[daily_goal.name].met) == (1, False)
    assert by_goal[daily_goal.name].actual == 9000.0
    assert (by_goal[weekly.name].met_days, by_goal[weekly.name].actual) == (0, 18000)
    assert ("goal_history", daily_goal.name, 1) in tracking.calls  # back to the summary's Monday


def test_periods_are_iso_weeks_and_calendar_months():
    assert summaries.period_of("WEEK", dt.date(2027, 1, 1)) == Window(dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    assert summaries.period_of("MONTH", dt.date(2028, 2, 10)) == Window(dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert summaries.previous_period("MONTH", Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31))) == Window(
        dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert summaries.period_of("DAY", dt.date(2026, 3, 1)) == Window(dt.date(2026, 3, 1), dt.date(2026, 3, 1))


async def test_an_empty_user_gets_empty_answers_not_errors():
    service = _service(FakeTracking())
    assert (await service.recommendations(USER, 30)).items == ()
    assert (await service.trends(USER, "", 30)).items == ()
    assert (await service.anomalies(USER, "", 30)).items == ()
    assert (await service.correlations(USER, "", 90)).items == ()
    found = (await service.summary(USER, "MONTH", "2026-03-05")).summary
    assert found.metrics == () and found.goals == ()
