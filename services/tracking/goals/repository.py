"""Goals' storage. SQL stays here; callers get domain objects back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.tracking.goals.domain import (
    Achievement, AchievementKind, Comparison, Goal, Period, State,
)
from services.tracking.goals.tables import AchievementRow, GoalRow

G, A = GoalRow.__table__, AchievementRow.__table__


class GoalRepository(Protocol):
    async def add(self, goal: Goal, request_id: str | None) -> Goal: ...
    async def get(self, user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal | None: ...
    async def get_by_request_id(self, user_id: uuid.UUID, request_id: str) -> Goal | None: ...
    async def count_unarchived(self, user_id: uuid.UUID) -> int: ...
    async def list(self, user_id: uuid.UUID, state: State, metric: str, limit: int,
                   after: uuid.UUID | None) -> list[Goal]: ...
    async def save(self, goal: Goal) -> Goal | None: ...
    async def set_state(self, user_id: uuid.UUID, goal_id: uuid.UUID, expected: State, state: State,
                        now: dt.datetime) -> None: ...
    async def delete(self, user_id: uuid.UUID, goal_id: uuid.UUID) -> bool: ...
    async def achievements(self, user_id: uuid.UUID, goal_id: uuid.UUID) -> list[Achievement]: ...
    async def award(self, achievements: Sequence[Achievement]) -> None: ...


def _goal(row) -> Goal:
    return Goal(row.id, row.user_id, row.display_name, row.metric, row.target_value, row.unit,
                Comparison(row.comparison), Period(row.period), row.start_date, row.target_date, State(row.state),
                row.create_time, row.update_time)


def _achievement(row) -> Achievement:
    return Achievement(row.id, row.user_id, row.goal_id, AchievementKind(row.kind), row.title, row.description,
                       row.period_start_date, row.value, row.streak_length, row.create_time)


def _values(goal: Goal) -> dict:
    values = dataclasses.asdict(goal)
    values.update(comparison=int(goal.comparison), period=int(goal.period), state=int(goal.state))
    return values


class SqlGoalRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, goal: Goal, request_id: str | None) -> Goal:
        """Inserts the goal; with a request_id this user already used, returns that first goal."""
        stmt = insert(G).values(**_values(goal), request_id=request_id)
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                stmt.on_conflict_do_nothing(constraint="uq_goals_user_id_request_id").returning(G))).one_or_none()
            if row is None:  # a concurrent retry won the race
                row = (await conn.execute(
                    select(G).where(G.c.user_id == goal.user_id, G.c.request_id == request_id))).one()
        return _goal(row)

    async def get(self, user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(G).where(G.c.user_id == user_id, G.c.id == goal_id))).one_or_none()
        return _goal(row) if row else None

    async def get_by_request_id(self, user_id: uuid.UUID, request_id: str) -> Goal | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                select(G).where(G.c.user_id == user_id, G.c.request_id == request_id))).one_or_none()
        return _goal(row) if row else None

    async def count_unarchived(self, user_id: uuid.UUID) -> int:
        async with self._engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(G).where(
                G.c.user_id == user_id, G.c.state != int(State.ARCHIVED)))).scalar_one()

    async def list(self, user_id: uuid.UUID, state: State, metric: str, limit: int,
                   after: uuid.UUID | None) -> list[Goal]:
        query = select(G).where(G.c.user_id == user_id)
        if state:
            query = query.where(G.c.state == int(state))
        if metric:
            query = query.where(G.c.metric == metric)
        if after is not None:
            query = query.where(G.c.id < after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(G.c.id.desc()).limit(limit))).all()
        return [_goal(r) for r in rows]

    async def save(self, goal: Goal) -> Goal | None:
        values = _values(goal)
        for key in ("id", "user_id", "metric", "unit", "create_time"):
            values.pop(key)
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                update(G).where(G.c.user_id == goal.user_id, G.c.id == goal.id).values(**values).returning(G)
            )).one_or_none()
        return _goal(row) if row else None

    async def set_state(self, user_id: uuid.UUID, goal_id: uuid.UUID, expected: State, state: State,
                        now: dt.datetime) -> None:
        # Only from the state the caller saw, so a user's concurrent PAUSE or ARCHIVE wins.
        async with self._engine.begin() as conn:
            await conn.execute(update(G).where(
                G.c.user_id == user_id, G.c.id == goal_id, G.c.state == int(expected)
            ).values(state=int(state), update_time=now))

    async def delete(self, user_id: uuid.UUID, goal_id: uuid.UUID) -> bool:
        async with self._engine.begin() as conn:  # achievements go with it (ON DELETE CASCADE)
            row = (await conn.execute(
                delete(G).where(G.c.user_id == user_id, G.c.id == goal_id).returning(G.c.id))).one_or_none()
        return row is not None

    async def achievements(self, user_id: uuid.UUID, goal_id: uuid.UUID) -> list[Achievement]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(A).where(A.c.user_id == user_id, A.c.goal_id == goal_id)
                                       .order_by(A.c.period_start_date.desc(), A.c.id.desc()))).all()
        return [_achievement(r) for r in rows]

    async def award(self, achievements: Sequence[Achievement]) -> None:
        """Stores new achievements; one already awarded for the same milestone is left as it was."""
        if not achievements:
            return
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(A).on_conflict_do_nothing(constraint="uq_achievements_user_id_goal_id_kind_streak_length"),
                    [dict(id=a.id, user_id=a.user_id, goal_id=a.goal_id, kind=int(a.kind), title=a.title,
                          description=a.description, period_start_date=a.period_start_date, value=a.value,
                          streak_length=a.streak_length, create_time=a.create_time) for a in achievements])
        except IntegrityError:
            pass  # the goal was deleted meanwhile: nothing to award it to
