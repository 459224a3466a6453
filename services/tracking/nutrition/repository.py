"""Nutrition's storage. SQL stays here; callers get domain objects back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Protocol

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.tracking.nutrition.domain import (
    AMOUNT_FIELDS, DailyNutrition, EntryFilter, MealType, NutritionEntry,
)
from services.tracking.nutrition.tables import NutritionEntryRow

N = NutritionEntryRow.__table__
Cursor = tuple[dt.datetime, uuid.UUID]  # (consume_time, id) of the last entry of a page


class NutritionRepository(Protocol):
    async def add(self, entry: NutritionEntry, request_id: str | None) -> NutritionEntry: ...
    async def get(self, user_id: uuid.UUID, entry_id: uuid.UUID) -> NutritionEntry | None: ...
    async def get_by_request_id(self, user_id: uuid.UUID, request_id: str) -> NutritionEntry | None: ...
    async def list(self, user_id: uuid.UUID, where: EntryFilter, limit: int,
                   after: Cursor | None) -> list[NutritionEntry]: ...
    async def save(self, entry: NutritionEntry) -> NutritionEntry | None: ...
    async def delete(self, user_id: uuid.UUID, entry_id: uuid.UUID) -> NutritionEntry | None: ...
    async def at_key(self, user_id: uuid.UUID, consume_time: dt.datetime, source: str) -> list[NutritionEntry]: ...
    async def daily(self, user_id: uuid.UUID, start: dt.date, end: dt.date) -> list[DailyNutrition]: ...


def _entry(row) -> NutritionEntry:
    return NutritionEntry(
        id=row.id, user_id=row.user_id, meal_type=MealType(row.meal_type), consume_time=row.consume_time,
        utc_offset_minutes=row.utc_offset_minutes, food_name=row.food_name, notes=row.notes, source=row.source,
        **{name: getattr(row, name) for name in AMOUNT_FIELDS},
        create_time=row.create_time, update_time=row.update_time,
    )


def _values(entry: NutritionEntry) -> dict:
    values = dataclasses.asdict(entry)
    values["meal_type"] = int(entry.meal_type)
    values["local_date"] = entry.local_date  # stored so daily totals group on an index
    return values


class SqlNutritionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, entry: NutritionEntry, request_id: str | None) -> NutritionEntry:
        """Inserts the entry; with a request_id this user already used, returns that first entry."""
        stmt = insert(N).values(**_values(entry), request_id=request_id)
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                stmt.on_conflict_do_nothing(constraint="uq_nutrition_entries_user_id_request_id").returning(N)
            )).one_or_none()
            if row is None:  # a concurrent retry won the race
                row = (await conn.execute(
                    select(N).where(N.c.user_id == entry.user_id, N.c.request_id == request_id))).one()
        return _entry(row)

    async def get(self, user_id: uuid.UUID, entry_id: uuid.UUID) -> NutritionEntry | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(N).where(N.c.user_id == user_id, N.c.id == entry_id))).one_or_none()
        return _entry(row) if row else None

    async def get_by_request_id(self, user_id: uuid.UUID, request_id: str) -> NutritionEntry | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                select(N).where(N.c.user_id == user_id, N.c.request_id == request_id))).one_or_none()
        return _entry(row) if row else None

    async def list(self, user_id: uuid.UUID, where: EntryFilter, limit: int,
                   after: Cursor | None) -> list[NutritionEntry]:
        query = select(N).where(N.c.user_id == user_id)
        if where.start_time is not None:
            query = query.where(N.c.consume_time >= where.start_time)
        if where.end_time is not None:
            query = query.where(N.c.consume_time < where.end_time)
        if where.meal_type:
            query = query.where(N.c.meal_type == int(where.meal_type))
        if after is not None:
            time, last_id = after
            query = query.where(or_(N.c.consume_time < time, and_(N.c.consume_time == time, N.c.id < last_id)))
        query = query.order_by(N.c.consume_time.desc(), N.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_entry(r) for r in rows]

    async def save(self, entry: NutritionEntry) -> NutritionEntry | None:
        values = _values(entry)
        for key in ("id", "user_id", "create_time"):
            values.pop(key)
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                update(N).where(N.c.user_id == entry.user_id, N.c.id == entry.id).values(**values).returning(N)
            )).one_or_none()
        return _entry(row) if row else None

    async def delete(self, user_id: uuid.UUID, entry_id: uuid.UUID) -> NutritionEntry | None:
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                delete(N).where(N.c.user_id == user_id, N.c.id == entry_id).returning(N))).one_or_none()
        return _entry(row) if row else None

    async def at_key(self, user_id: uuid.UUID, consume_time: dt.datetime, source: str) -> list[NutritionEntry]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(N).where(
                N.c.user_id == user_id, N.c.consume_time == consume_time, N.c.source == source
            ).order_by(N.c.id))).all()
        return [_entry(r) for r in rows]

    async def daily(self, user_id: uuid.UUID, start: dt.date, end: dt.date) -> list[DailyNutrition]:
        """Per local date with entries: the count and the sum of each amount, oldest first."""
        sums = [func.coalesce(func.sum(N.c[name]), 0.0).label(name) for name in AMOUNT_FIELDS]
        query = (select(N.c.local_date, func.count().label("entry_count"), *sums)
                 .where(N.c.user_id == user_id, N.c.local_date >= start, N.c.local_date <= end)
                 .group_by(N.c.local_date).order_by(N.c.local_date))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [DailyNutrition(r.local_date, r.entry_count, *(float(getattr(r, n)) for n in AMOUNT_FIELDS))
                for r in rows]
