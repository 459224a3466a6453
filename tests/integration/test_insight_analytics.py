"""Insight's analyses over real in-process Auth, Tracking and Insight: samples written through
Tracking's RPCs, analyses read through Insight's, every figure checked against numpy/scipy on the
values the test wrote."""

from __future__ import annotations

import datetime as dt

import grpc
import numpy as np
import pytest
from healthmesh.auth.v1 import user_pb2
from healthmesh.insight.v1 import insight_service_pb2 as pb, severity_pb2, summary_pb2, trend_pb2
from healthmesh.tracking.v1 import goal_pb2, sleep_session_pb2, tracking_service_pb2
from scipy import stats

from services.insight.notify import Change
from tests.integration.insight_harness import sample, start_insight_mesh, ts
from tests.integration.mesh_harness import bad_request, traceback_free


@pytest.fixture
async def env(migrated_dsn, auth_harness):
    mesh, stop = await start_insight_mesh(migrated_dsn, auth_harness.port)
    yield mesh
    await stop()


def _days(env, n: int) -> list[dt.date]:
    """The last n local dates (UTC) up to Insight's today, oldest first."""
    today = env.now.date()
    return [today - dt.timedelta(days=n - 1 - i) for i in range(n)]


def _at(day: dt.date, hour: int, offset_minutes: int = 0) -> dt.datetime:
    """Local `hour` of `day` at the offset, as an instant."""
    return dt.datetime.combine(day, dt.time(hour), dt.UTC) - dt.timedelta(minutes=offset_minutes)


async def _sleep(env, md, night_end: dt.date, hours: float) -> None:
    session = sleep_session_pb2.SleepSession(start_time=ts(_at(night_end, 6) - dt.timedelta(hours=hours)),
                                             end_time=ts(_at(night_end, 6)))
    session.utc_offset_minutes = 0
    await env.tracking.CreateSleepSession(tracking_service_pb2.CreateSleepSessionRequest(
        parent="users/me", sleep_session=session), metadata=md)


async def test_recommendations_quote_the_daily_means_of_the_days_with_data(env):
    user_id, md = await env.user(birth_date="1990-04-01", sex=user_pb2.MALE)
    days = _days(env, 30)
    rng = np.random.default_rng(4)
    step_days = [d for i, d in enumerate(days) if i % 5 != 0]  # 24 days with steps
    daily_steps = {}
    samples = []
    for d in step_days:
        hours = rng.integers(100, 400, 12)  # steps in 12 hours of the day
        daily_steps[d] = float(hours.sum())
        samples += [sample("step_count", _at(d, 8 + h), float(v), "count", minutes=60) for h, v in enumerate(hours)]
    samples += [sample("water", _at(d, 12), 1500.0, "mL") for d in days[-10:]]
    samples += [sample("resting_heart_rate", _at(d, 7), 62.0, "/min") for d in days[-10:]]
    await env.write(md, samples)
    for d in days[-8:]:
        await _sleep(env, md, d, 6.0)
    reply = await env.insight.GetRecommendations(pb.GetRecommendationsRequest(parent="users/me", days=30), metadata=md)
    assert (reply.start_date, reply.end_date) == (days[0].isoformat(), days[-1].isoformat())
    found = {r.id: r for r in reply.recommendations}
    assert set(found) == {"low_steps", "short_sleep", "low_water"}
    mean_steps = float(np.mean(list(daily_steps.values())))
    steps = found["low_steps"]
    assert steps.evidence[0].value == pytest.approx(mean_steps, rel=1e-12)
    assert steps.evidence[0].days_with_data == 24 and steps.evidence[0].threshold == 5000
    assert f"averaged {mean_steps:,.0f} steps a day on the 24 days with data in the last 30 days" in steps.reason
    assert steps.severity == (severity_pb2.CRITICAL if mean_steps < 2500 else severity_pb2.WARNING)
    sleep = found["short_sleep"]
    assert sleep.evidence[0].value == pytest.approx(6.0) and sleep.evidence[0].days_with_data == 8
    water = found["low_water"]
    assert water.evidence[0].threshold == 2500 and water.evidence[0].value == 1500  # a man: 2,500 ml
    assert [r.id for r in reply.recommendations][0] in ("low_steps", "low_water", "short_sleep")
    assert all(r.action_steps and r.generate_time.seconds for r in reply.recommendations)


async def test_a_trend_of_known_slope_through_tracking(env):
    _, md = await env.user()
    days = _days(env, 30)
    rng = np.random.default_rng(8)
    weights = [round(82.0 - 0.05 * i + rng.normal(0, 0.2), 2) for i in range(30)]
    await env.write(md, [sample("weight", _at(d, 7), w, "kg") for d, w in zip(days, weights)])
    reply = await env.insight.GetTrends(pb.GetTrendsRequest(parent="users/me", type="weight", days=30), metadata=md)
    [t] = reply.trends
    ref = stats.linregress(np.arange(30.0), weights)
    half = stats.t.ppf(0.975, 28) * ref.stderr
    assert t.slope_per_day == pytest.approx(ref.slope, rel=1e-9)
    assert t.slope_low_per_day == pytest.approx(ref.slope - half, rel=1e-9)
    assert t.slope_high_per_day == pytest.approx(ref.slope + half, rel=1e-9)
    assert t.direction == (trend_pb2.Trend.DOWN if ref.slope + half < 0 else trend_pb2.Trend.FLAT)
    assert t.change_percent == pytest.approx(ref.slope * 29 / ref.intercept * 100, rel=1e-9)
    assert [p.value for p in t.points] == pytest.approx(weights) and t.unit == "kg"
    every = await env.insight.GetTrends(pb.GetTrendsRequest(parent="users/me"), metadata=md)
    assert [x.type for x in every.trends] == ["weight"]


async def test_a_spike_of_known_robust_z_through_tracking(env):
    _, md = await env.user()
    days = _days(env, 90)
    rng = np.random.default_rng(12)
    usual = [float(round(58 + rng.normal(0, 2))) for _ in days[:-1]]
    await env.write(md, [sample("resting_heart_rate", _at(d, 7), v, "/min") for d, v in zip(days, usual + [75.0])])
    reply = await env.insight.ListAnomalies(pb.ListAnomaliesRequest(parent="users/me", days=7), metadata=md)
    [a] = reply.anomalies
    med = np.median(usual)
    mad = np.median(np.abs(np.array(usual) - med))
    assert a.local_date == days[-1].isoformat() and a.value == 75.0
    assert a.z_score == pytest.approx(0.6745 * (75 - med) / mad, rel=1e-12)
    assert a.expected_max == pytest.approx(med + 3.5 * mad / 0.6745, rel=1e-12)
    assert a.baseline_days == 89 and a.type == "resting_heart_rate"
    assert a.start_time.ToDatetime(dt.UTC) == _at(days[-1], 0)


async def test_a_correlation_of_known_r_through_tracking(env):
    _, md = await env.user()
    days = _days(env, 60)
    rng = np.random.default_rng(21)
    x = rng.normal(size=60)
    y = 0.8 * x + 0.6 * rng.normal(size=60)
    steps = [float(round(8000 + 2000 * v)) for v in x]
    energy = [float(round(400 + 80 * v)) for v in y]
    await env.write(md, [sample("step_count", _at(d, 10), s, "count", minutes=60) for d, s in zip(days, steps)]
                    + [sample("active_energy", _at(d, 10), e, "kcal", minutes=60) for d, e in zip(days, energy)])
    reply = await env.insight.ListCorrelations(pb.ListCorrelationsRequest(parent="users/me", days=60), metadata=md)
    same = [c for c in reply.correlations if c.lag_days == 0]
    assert len(same) == 1
    ref = stats.spearmanr(steps, energy)
    c = same[0]
    assert (c.first_type, c.second_type, c.sample_count) == ("step_count", "active_energy", 60)
    assert c.coefficient == pytest.approx(ref.statistic, rel=1e-9)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    assert abs(reply.correlations[0].coefficient) >= abs(reply.correlations[-1].coefficient)


async def test_a_travellers_days_follow_their_own_offsets(env):
    _, md = await env.user()
    day = _days(env, 3)[0]
    instant = dt.datetime.combine(day, dt.time(20), dt.UTC)  # 20:00 UTC
    await env.write(md, [
        sample("step_count", instant, 1000, "count", offset=9 * 60),  # Tokyo: 05:00 the next day
        sample("step_count", instant + dt.timedelta(hours=1), 500, "count", offset=-7 * 60),  # 14:00 that day
        sample("step_count", instant - dt.timedelta(days=1), 700, "count", offset=0),
    ])
    reply = await env.insight.GetTrends(pb.GetTrendsRequest(parent="users/me", type="step_count", days=7), metadata=md)
    points = {p.local_date: p.value for p in reply.trends[0].points}
    assert points == {(day - dt.timedelta(days=1)).isoformat(): 700, day.isoformat(): 500,
                      (day + dt.timedelta(days=1)).isoformat(): 1000}


async def test_a_week_summary_against_the_week_before_with_goals(env):
    _, md = await env.user()
    today = env.now.date()
    monday = today - dt.timedelta(days=today.isoweekday() - 1)
    this_week = [monday + dt.timedelta(days=i) for i in range(today.isoweekday())]
    last_week = [monday - dt.timedelta(days=7 - i) for i in range(7)]
    samples = [sample("step_count", _at(d, 12), 11000.0, "count") for d in this_week]
    samples += [sample("step_count", _at(d, 12), 8000.0, "count") for d in last_week]
    samples += [sample("weight", _at(d, 7), w, "kg") for d, w in zip(this_week, [80.0, 79.0] * 4)]
    await env.write(md, samples)
    goal = await env.tracking.CreateGoal(tracking_service_pb2.CreateGoalRequest(parent="users/me", goal=goal_pb2.Goal(
        metric="step_count", target_value=10_000, period=goal_pb2.Goal.DAILY,
        start_date=(monday - dt.timedelta(days=7)).isoformat())), metadata=md)
    s = await env.insight.GetSummary(pb.GetSummaryRequest(parent="users/me", period=summary_pb2.Summary.WEEK),
                                     metadata=md)
    assert (s.start_date, s.end_date) == (monday.isoformat(), (monday + dt.timedelta(days=6)).isoformat())
    metrics = {m.type: m for m in s.metrics}
    steps = metrics["step_count"]
    assert steps.total == 11000 * len(this_week) and steps.average == 11000
    assert steps.previous_average == 8000 and steps.change_percent == pytest.approx(37.5)
    assert steps.days_with_data == len(this_week)
    weights = [80.0, 79.0] * 4
    assert metrics["weight"].average == pytest.approx(np.mean(weights[:len(this_week)]))
    assert metrics["weight"].total == 0 and not metrics["weight"].HasField("previous_average")
    [g] = s.goals
    assert g.goal == goal.name and g.met_days == len(this_week) and g.met and g.actual_value == 11000
    month = await env.insight.GetSummary(pb.GetSummaryRequest(
        parent="users/me", period=summary_pb2.Summary.MONTH, date=last_week[0].isoformat()), metadata=md)
    assert month.start_date == last_week[0].replace(day=1).isoformat()


async def test_a_sparse_user_and_an_empty_one_get_answers_never_errors(env):
    _, md = await env.user()
    await env.write(md, [sample("step_count", _at(d, 9), 1000, "count") for d in _days(env, 3)]
                    + [sample("weight", _at(_days(env, 1)[0], 7), 70, "kg")])
    recs = await env.insight.GetRecommendations(pb.GetRecommendationsRequest(parent="users/me"), metadata=md)
    assert [(r.id, r.severity) for r in recs.recommendations] == [("low_steps", severity_pb2.INFO)]
    trends = await env.insight.GetTrends(pb.GetTrendsRequest(parent="users/me"), metadata=md)
    assert {t.type: t.direction for t in trends.trends} == {"step_count": trend_pb2.Trend.FLAT,
                                                            "weight": trend_pb2.Trend.FLAT}
    assert all(np.isfinite([t.slope_per_day, t.change_percent, t.average]).all() for t in trends.trends)
    for call in (env.insight.ListAnomalies(pb.ListAnomaliesRequest(parent="users/me"), metadata=md),
                 env.insight.ListCorrelations(pb.ListCorrelationsRequest(parent="users/me"), metadata=md)):
        reply = await call
        assert not reply.next_page_token and len(reply.ListFields()) == 0


@pytest.mark.parametrize("rpc, request_, field", [
    (lambda s: s.GetRecommendations, pb.GetRecommendationsRequest(parent="users/me", days=400), "days"),
    (lambda s: s.GetTrends, pb.GetTrendsRequest(parent="users/me", days=3), "days"),
    (lambda s: s.ListAnomalies, pb.ListAnomaliesRequest(parent="users/me", page_size=-1), "page_size"),
    (lambda s: s.ListCorrelations, pb.ListCorrelationsRequest(parent="users/me", page_token="nope"), "page_token"),
    (lambda s: s.GetSummary, pb.GetSummaryRequest(parent="users/me", date="2199-01-01"), "date"),
])
async def test_bad_requests_are_invalid_argument_with_the_field(env, caplog, rpc, request_, field):
    _, md = await env.user()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rpc(env.insight)(request_, metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert field in bad_request(err.value)
    traceback_free(caplog)


async def test_an_unknown_type_and_another_users_data(env, caplog):
    other_id, _ = await env.user()
    _, md = await env.user()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.insight.GetTrends(pb.GetTrendsRequest(parent="users/me", type="steps"), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "type" in bad_request(err.value)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.insight.GetRecommendations(pb.GetRecommendationsRequest(parent=f"users/{other_id}"), metadata=md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    traceback_free(caplog)


async def test_answers_are_cached_until_the_users_data_changes(env):
    user_id, md = await env.user()
    days = _days(env, 10)
    await env.write(md, [sample("step_count", _at(d, 9), 3000, "count") for d in days])
    request = pb.GetRecommendationsRequest(parent="users/me", days=30)
    first = await env.insight.GetRecommendations(request, metadata=md)
    assert [r.id for r in first.recommendations] == ["low_steps"]
    await env.write(md, [sample("step_count", _at(d, 15), 6000, "count") for d in days])
    assert await env.insight.GetRecommendations(request, metadata=md) == first  # cached
    await env.analytics.on_samples_written(Change("e1", user_id, frozenset({"step_count"}), None, None))  # the outbox
    assert [r.id for r in (await env.insight.GetRecommendations(request, metadata=md)).recommendations] == []
