"""Insights in PostgreSQL (insight.insights); it is the analyses' InsightsStore
(services/insight/analytics/ports.py). SQL stays here."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.clock import Clock, utcnow
from services.common.db import one_statement_reads
from services.common.erasure import delete_by_user
from services.common.ids import uuid7
from services.insight.analytics.ports import Finding

RECOMMENDATION = "RECOMMENDATION"
_COLUMNS = ("user_id, id, kind, rule, category, severity, title, body, sample_type, start_date, end_date, "
            "read_time, create_time, update_time")


@dataclass(frozen=True)
class Insight:
    user_id: uuid.UUID
    id: uuid.UUID
    kind: str
    rule: str
    category: str
    severity: str
    title: str
    body: str
    sample_type: str
    start_date: dt.date
    end_date: dt.date
    read_time: dt.datetime | None
    create_time: dt.datetime
    update_time: dt.datetime

    @property
    def name(self) -> str:
        return f"users/{self.user_id}/insights/{self.id}"


def _insight(row) -> Insight:
    return Insight(*(getattr(row, c) for c in _COLUMNS.split(", ")))


class SqlInsights:
    def __init__(self, engine: AsyncEngine, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._reads = one_statement_reads(engine)  # every `connect()` below runs one statement
        self._clock = clock

    async def record(self, user_id: uuid.UUID, findings: Sequence[Finding], settled: bool) -> None:
        now = self._clock()
        async with self._engine.begin() as conn:
            if settled:  # what no longer applies stops standing: should it apply again, it is news again
                await conn.execute(text(
                    "UPDATE insight.insights SET standing = false WHERE user_id = :u AND kind = :k AND standing "
                    "AND NOT rule = ANY(:rules)"), {"u": user_id, "k": RECOMMENDATION, "rules": [f.rule for f in findings]})
            if findings:
                await conn.execute(text(
                    f"INSERT INTO insight.insights ({_COLUMNS}, standing) VALUES (:user_id, :id, :kind, :rule, "
                    ":category, :severity, :title, :body, :sample_type, :start_date, :end_date, NULL, :now, :now, "
                    "true) ON CONFLICT (user_id, kind, rule) WHERE standing DO NOTHING"),
                    [{"user_id": user_id, "id": uuid7(), "kind": RECOMMENDATION, "rule": f.rule,
                      "category": f.category, "severity": f.severity, "title": f.title, "body": f.body,
                      "sample_type": f.sample_type, "start_date": f.start_date, "end_date": f.end_date, "now": now}
                     for f in findings])

    async def get(self, user_id: uuid.UUID, insight_id: uuid.UUID) -> Insight | None:
        async with self._reads.connect() as conn:
            row = (await conn.execute(text(f"SELECT {_COLUMNS} FROM insight.insights WHERE user_id = :u AND id = :i"),
                                      {"u": user_id, "i": insight_id})).first()
            return _insight(row) if row else None

    async def list(self, user_id: uuid.UUID, unread_only: bool, kind: str, category: str, limit: int,
                   before: uuid.UUID | None) -> list[Insight]:
        """Newest first, keyset by id."""
        where, params = ["user_id = :u"], {"u": user_id, "n": limit}
        for clause, key, value in (("read_time IS NULL", "", unread_only), ("kind = :k", "k", kind),
                                   ("category = :c", "c", category), ("id < :b", "b", before)):
            if value:
                where.append(clause)
                if key:
                    params[key] = value
        async with self._reads.connect() as conn:
            rows = await conn.execute(text(f"SELECT {_COLUMNS} FROM insight.insights WHERE {' AND '.join(where)} "
                                           "ORDER BY id DESC LIMIT :n"), params)
            return [_insight(r) for r in rows]

    async def unread(self, user_id: uuid.UUID) -> int:
        async with self._reads.connect() as conn:
            return (await conn.execute(text("SELECT count(*) FROM insight.insights "
                                            "WHERE user_id = :u AND read_time IS NULL"), {"u": user_id})).scalar_one()

    async def mark_read(self, user_id: uuid.UUID, insight_id: uuid.UUID) -> Insight | None:
        """Sets read_time the first time; a second mark changes nothing."""
        now = self._clock()
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "UPDATE insight.insights SET read_time = :t, update_time = :t "
                "WHERE user_id = :u AND id = :i AND read_time IS NULL"), {"t": now, "u": user_id, "i": insight_id})
            row = (await conn.execute(text(f"SELECT {_COLUMNS} FROM insight.insights WHERE user_id = :u AND id = :i"),
                                      {"u": user_id, "i": insight_id})).first()
            return _insight(row) if row else None


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    return await delete_by_user(conn, user_id, "insight", ["insights"])
