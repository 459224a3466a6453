"""The analyses' results as protobuf messages, and the request enums as the domain's names."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from healthmesh.insight.v1 import (
    anomaly_pb2, category_pb2, correlation_pb2, insight_service_pb2, recommendation_pb2, severity_pb2, summary_pb2,
    trend_pb2,
)

from services.insight.analytics import anomalies, correlations, rules, summary, trends
from services.insight.analytics.service import Recommendations, Summary

SEVERITY_RANK = {"INFO": 1, "WARNING": 2, "CRITICAL": 3}


def _timestamp(t: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(t)
    return ts


def evidence(e: rules.Evidence) -> recommendation_pb2.Evidence:
    return recommendation_pb2.Evidence(
        metric=e.metric, value=e.value, unit=e.unit, threshold=e.threshold, days_with_data=e.days_with_data,
        window_days=e.window_days,
        comparison=recommendation_pb2.Evidence.Comparison.Value(e.comparison) if e.comparison else 0)


def recommendations(r: Recommendations) -> insight_service_pb2.GetRecommendationsResponse:
    generated = _timestamp(r.generated)
    return insight_service_pb2.GetRecommendationsResponse(
        recommendations=[recommendation_pb2.Recommendation(
            id=x.id, title=x.title, category=category_pb2.Category.Value(x.category),
            severity=severity_pb2.Severity.Value(x.severity), reason=x.reason, action_steps=list(x.action_steps),
            evidence=[evidence(e) for e in x.evidence], generate_time=generated) for x in r.items],
        start_date=r.first.isoformat(), end_date=r.last.isoformat())


def trend(t: trends.Trend) -> trend_pb2.Trend:
    message = trend_pb2.Trend(
        type=t.type, unit=t.unit,
        direction=trend_pb2.Trend.Direction.Value(
            "DIRECTION_UNSPECIFIED" if t.direction == trends.UNSPECIFIED else t.direction),
        slope_per_day=t.slope_per_day, change_percent=t.change_percent, average=t.average,
        days_with_data=t.days_with_data, start_date=t.start_date.isoformat(), end_date=t.end_date.isoformat(),
        points=[trend_pb2.TrendPoint(local_date=p.date.isoformat(), value=p.value, sample_count=p.count)
                for p in t.points])
    if t.slope_low is not None and t.slope_high is not None:
        message.slope_low_per_day, message.slope_high_per_day = t.slope_low, t.slope_high
    return message


def anomaly(a: anomalies.Anomaly) -> anomaly_pb2.Anomaly:
    return anomaly_pb2.Anomaly(
        type=a.type, unit=a.unit, local_date=a.date.isoformat(), start_time=_timestamp(a.start),
        end_time=_timestamp(a.end), value=a.value, expected_min=a.expected_min, expected_max=a.expected_max,
        z_score=a.z, severity=severity_pb2.Severity.Value(a.severity), description=a.description,
        baseline_median=a.baseline_median, baseline_days=a.baseline_days)


def correlation(c: correlations.Correlation) -> correlation_pb2.Correlation:
    return correlation_pb2.Correlation(
        first_type=c.first_type, second_type=c.second_type, coefficient=c.rho, lag_days=c.lag_days,
        sample_count=c.n, p_value=c.p_value, description=c.description)


def period_name(period: int) -> str:
    """A request's Summary.Period as the domain's name; UNSPECIFIED means WEEK."""
    return summary_pb2.Summary.Period.Name(period) if period else summary.WEEK


def summary_message(s: Summary) -> summary_pb2.Summary:
    body = s.summary
    message = summary_pb2.Summary(
        period=summary_pb2.Summary.Period.Value(body.period), start_date=body.first.isoformat(),
        end_date=body.last.isoformat(), generate_time=_timestamp(s.generated),
        goals=[summary_pb2.GoalResult(goal=g.goal, sample_type=g.sample_type, target_value=g.target,
                                      actual_value=g.actual, met_days=g.met_days, met=g.met) for g in body.goals])
    for m in body.metrics:
        metric = message.metrics.add(type=m.type, unit=m.unit, total=m.total, average=m.average, min=m.min,
                                     max=m.max, sample_count=m.sample_count, days_with_data=m.days_with_data)
        if m.previous_average is not None:
            metric.previous_average = m.previous_average
        if m.change_percent is not None:
            metric.change_percent = m.change_percent
    return message
