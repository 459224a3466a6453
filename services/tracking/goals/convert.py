"""Goals: protobuf <-> domain, nothing else."""

from __future__ import annotations

from healthmesh.tracking.v1 import achievement_pb2, goal_pb2, tracking_service_pb2

from services.common.convert import timestamp
from services.common.errors import InvalidArgument
from services.tracking.goals.domain import Achievement, Goal, GoalFields, PeriodResult, Progress, State


def goal_fields(g: goal_pb2.Goal) -> GoalFields:
    return GoalFields(display_name=g.display_name, metric=g.metric, target_value=g.target_value,
                      comparison=g.comparison, period=g.period, start_date=g.start_date,
                      target_date=g.target_date, state=g.state)


def state_filter(value: int) -> State:
    if value not in State._value2member_map_:
        raise InvalidArgument.field("state", "is not a known goal state")
    return State(value)


def goal(g: Goal) -> goal_pb2.Goal:
    return goal_pb2.Goal(
        name=f"users/{g.user_id}/goals/{g.id}", display_name=g.display_name, metric=g.metric,
        target_value=g.target_value, unit=g.unit, comparison=int(g.comparison), period=int(g.period),
        start_date=g.start_date.isoformat(), target_date=g.target_date.isoformat() if g.target_date else "",
        state=int(g.state), create_time=timestamp(g.create_time), update_time=timestamp(g.update_time),
    )


def achievement(a: Achievement) -> achievement_pb2.Achievement:
    return achievement_pb2.Achievement(
        name=f"users/{a.user_id}/goals/{a.goal_id}/achievements/{a.id}", kind=int(a.kind), title=a.title,
        description=a.description, period_start_date=a.period_start_date.isoformat(), value=a.value,
        streak_length=a.streak_length, create_time=timestamp(a.create_time),
    )


def period(r: PeriodResult) -> tracking_service_pb2.GoalPeriodProgress:
    return tracking_service_pb2.GoalPeriodProgress(
        start_date=r.start.isoformat(), end_date=r.end.isoformat(), value=r.value or 0.0, percent=r.percent,
        met=r.met)


def progress(p: Progress) -> tracking_service_pb2.GoalProgress:
    g, c = p.goal, p.current
    return tracking_service_pb2.GoalProgress(
        goal=f"users/{g.user_id}/goals/{g.id}", metric=g.metric, unit=g.unit,
        period_start_date=c.start.isoformat(), period_end_date=c.end.isoformat(), current_value=c.value or 0.0,
        target_value=g.target_value, percent=c.percent, met=c.met, current_streak=p.current_streak,
        best_streak=p.best_streak, history=[period(r) for r in p.history],
        achievements=[achievement(a) for a in p.achievements],
    )
