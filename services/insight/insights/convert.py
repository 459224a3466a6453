"""Insights from the domain to their messages."""

from __future__ import annotations

from healthmesh.insight.v1 import category_pb2, insight_pb2, severity_pb2

from services.common.convert import set_timestamp
from services.insight.insights.repository import Insight


def insight(i: Insight) -> insight_pb2.Insight:
    out = insight_pb2.Insight(
        name=i.name, kind=insight_pb2.Insight.Kind.Value(i.kind), rule=i.rule,
        category=category_pb2.Category.Value(i.category), severity=severity_pb2.Severity.Value(i.severity),
        title=i.title, body=i.body, sample_type=i.sample_type, start_date=i.start_date.isoformat(),
        end_date=i.end_date.isoformat(), read=i.read_time is not None)
    if i.read_time is not None:
        set_timestamp(out.read_time, i.read_time)
    set_timestamp(out.create_time, i.create_time)
    set_timestamp(out.update_time, i.update_time)
    return out
