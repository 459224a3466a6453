"""Alert rules and alerts in PostgreSQL (schema insight). SQL stays here; callers get domain objects.

An evaluation of a user's new samples runs in one transaction under the user's advisory lock
(`Evaluation`): the outbox event is claimed, the alerts and their episodes written, and a NOTIFY
on `insight_alerts` (payload: the user id) wakes every Insight process's watchers of that user
when it commits; a rolled-back evaluation records nothing and wakes no one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.db import one_statement_reads
from services.common.erasure import delete_by_user
from services.insight.alerts.episodes import Span
from services.insight.alerts.rules import AlertRule

CHANNEL = "insight_alerts"
TABLES = ["alerts", "alert_rules", "processed_events", "request_results"]
_RULE_COLUMNS = ("user_id, id, built_in, display_name, sample_type, condition, threshold, unit, use_value2, "
                 "unless_active, duration_seconds, severity, disabled, arm_time, create_time, update_time, "
                 "last_trigger_time")
_ALERT_COLUMNS = ("user_id, id, alert_rule_id, sample_type, condition, value, threshold, unit, start_time, "
                  "trigger_time, last_time, severity, message, create_time")


@dataclass(frozen=True)
class Alert:
    user_id: uuid.UUID
    id: uuid.UUID
    alert_rule_id: str
    sample_type: str
    condition: str
    value: float  # in unit
    threshold: float  # in unit
    unit: str
    start_time: dt.datetime
    trigger_time: dt.datetime
    last_time: dt.datetime
    severity: str
    message: str
    create_time: dt.datetime

    @property
    def name(self) -> str:
        return f"users/{self.user_id}/alerts/{self.id}"


def _rule(row) -> AlertRule:
    return AlertRule(row.user_id, row.id, row.built_in, row.display_name, row.sample_type, row.condition,
                     row.threshold, row.unit, row.use_value2, row.unless_active, row.duration_seconds, row.severity,
                     row.disabled, row.arm_time, row.create_time, row.update_time, row.last_trigger_time)


def _alert(row) -> Alert:
    return Alert(row.user_id, row.id, row.alert_rule_id, row.sample_type, row.condition, row.value, row.threshold,
                 row.unit, row.start_time, row.trigger_time, row.last_time, row.severity, row.message,
                 row.create_time)


def _rule_values(r: AlertRule) -> dict:
    return {c: getattr(r, c) for c in _RULE_COLUMNS.split(", ")}


_INSERT_RULE = text(f"INSERT INTO insight.alert_rules ({_RULE_COLUMNS}) VALUES "
                    f"({', '.join(':' + c for c in _RULE_COLUMNS.split(', '))}) ON CONFLICT DO NOTHING")


class SqlAlertStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reads = one_statement_reads(engine)  # every `connect()` below runs one statement
        self._built_ins_written: set[uuid.UUID] = set()  # users whose built-in rules exist (this process saw)

    # Rules.

    async def ensure_built_ins(self, user_id: uuid.UUID, rules: Sequence[AlertRule]) -> None:
        """Writes the user's built-in rules the first time they are needed (ON CONFLICT: once)."""
        if user_id in self._built_ins_written:
            return
        async with self._engine.begin() as conn:
            await conn.execute(_INSERT_RULE, [_rule_values(r) for r in rules])
        if len(self._built_ins_written) > 100_000:
            self._built_ins_written.clear()
        self._built_ins_written.add(user_id)

    def forget(self, user_id: uuid.UUID) -> None:
        """The user was erased: their built-in rules are written again should they ever be needed."""
        self._built_ins_written.discard(user_id)

    async def rules(self, user_id: uuid.UUID) -> list[AlertRule]:
        async with self._reads.connect() as conn:
            rows = await conn.execute(text(f"SELECT {_RULE_COLUMNS} FROM insight.alert_rules WHERE user_id = :u"),
                                      {"u": user_id})
            return [_rule(r) for r in rows]

    async def rule(self, user_id: uuid.UUID, rule_id: str) -> AlertRule | None:
        async with self._reads.connect() as conn:
            row = (await conn.execute(text(f"SELECT {_RULE_COLUMNS} FROM insight.alert_rules "
                                           "WHERE user_id = :u AND id = :i"), {"u": user_id, "i": rule_id})).first()
            return _rule(row) if row else None

    async def add_rule(self, rule: AlertRule, limit: int) -> bool:
        """Adds a user's own rule unless they have `limit` already (counted under the user's lock)."""
        async with self._engine.begin() as conn:
            await _lock_user(conn, rule.user_id)
            count = (await conn.execute(text("SELECT count(*) FROM insight.alert_rules "
                                             "WHERE user_id = :u AND NOT built_in"), {"u": rule.user_id})).scalar_one()
            if count >= limit:
                return False
            await conn.execute(_INSERT_RULE, _rule_values(rule))
            return True

    async def save_rule(self, rule: AlertRule) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(text(
                "UPDATE insight.alert_rules SET display_name = :display_name, condition = :condition, "
                "threshold = :threshold, unit = :unit, unless_active = :unless_active, "
                "duration_seconds = :duration_seconds, severity = :severity, disabled = :disabled, "
                "arm_time = :arm_time, update_time = :update_time WHERE user_id = :user_id AND id = :id"),
                _rule_values(rule))
            return result.rowcount == 1

    async def delete_rule(self, user_id: uuid.UUID, rule_id: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(text("DELETE FROM insight.alert_rules WHERE user_id = :u AND id = :i"),
                                        {"u": user_id, "i": rule_id})
            return result.rowcount == 1

    # Alerts.

    async def alert(self, user_id: uuid.UUID, alert_id: uuid.UUID) -> Alert | None:
        async with self._reads.connect() as conn:
            row = (await conn.execute(text(f"SELECT {_ALERT_COLUMNS} FROM insight.alerts "
                                           "WHERE user_id = :u AND id = :i"), {"u": user_id, "i": alert_id})).first()
            return _alert(row) if row else None

    async def alerts(self, user_id: uuid.UUID, rule_id: str, start: dt.datetime | None, end: dt.datetime | None,
                     limit: int, before: uuid.UUID | None) -> list[Alert]:
        """Newest first, keyset by id."""
        where = ["user_id = :u"]
        params: dict = {"u": user_id, "n": limit}
        for clause, key, value in (("alert_rule_id = :r", "r", rule_id), ("trigger_time >= :s", "s", start),
                                   ("trigger_time < :e", "e", end), ("id < :b", "b", before)):
            if value:
                where.append(clause)
                params[key] = value
        async with self._reads.connect() as conn:
            rows = await conn.execute(text(f"SELECT {_ALERT_COLUMNS} FROM insight.alerts WHERE {' AND '.join(where)} "
                                           "ORDER BY id DESC LIMIT :n"), params)
            return [_alert(r) for r in rows]

    async def alerts_after(self, user_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[Alert]:
        """Oldest first: the alerts created after `after` (all of them when None)."""
        async with self._reads.connect() as conn:
            rows = await conn.execute(text(
                f"SELECT {_ALERT_COLUMNS} FROM insight.alerts WHERE user_id = :u AND (CAST(:a AS uuid) IS NULL "
                "OR id > :a) ORDER BY id LIMIT :n"), {"u": user_id, "a": after, "n": limit})
            return [_alert(r) for r in rows]

    async def newest_alert(self, user_id: uuid.UUID) -> uuid.UUID | None:
        async with self._reads.connect() as conn:
            return (await conn.execute(text("SELECT id FROM insight.alerts WHERE user_id = :u "
                                            "ORDER BY id DESC LIMIT 1"), {"u": user_id})).scalar_one_or_none()

    # Evaluations.

    @contextlib.asynccontextmanager
    async def evaluation(self, user_id: uuid.UUID) -> AsyncIterator[Evaluation]:
        """`async with store.evaluation(user) as ev:` one transaction under the user's lock, with a
        NOTIFY at its commit when it raised an alert (see the module doc)."""
        async with self._engine.begin() as conn:
            await _lock_user(conn, user_id)
            ev = Evaluation(conn, user_id)
            yield ev
            if ev.raised:
                await conn.execute(text("SELECT pg_notify(:c, :u)"), {"c": CHANNEL, "u": str(user_id)})

    async def prune_events(self, before: dt.datetime) -> int:
        async with self._engine.begin() as conn:
            return (await conn.execute(text("DELETE FROM insight.processed_events WHERE process_time < :t"),
                                       {"t": before})).rowcount


async def _lock_user(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('insight.alerts'), hashtext(:u))"),
                       {"u": str(user_id)})


class Evaluation:
    """The statements of one evaluation, on its transaction's connection."""

    def __init__(self, conn: AsyncConnection, user_id: uuid.UUID) -> None:
        self._conn = conn
        self._user_id = user_id
        self.raised = False  # an alert was recorded: the commit wakes the watchers

    async def claim(self, event_id: str, now: dt.datetime) -> bool:
        """Whether this outbox event is new (a repeated one was evaluated already)."""
        claimed = await self._conn.execute(text(
            "INSERT INTO insight.processed_events (event_id, user_id, process_time) VALUES (:e, :u, :t) "
            "ON CONFLICT DO NOTHING"), {"e": event_id, "u": self._user_id, "t": now})
        return claimed.rowcount == 1

    async def rules(self, sample_types: Sequence[str]) -> list[AlertRule]:
        rows = await self._conn.execute(text(
            f"SELECT {_RULE_COLUMNS} FROM insight.alert_rules WHERE user_id = :u AND NOT disabled "
            "AND sample_type = ANY(:t)"), {"u": self._user_id, "t": list(sample_types)})
        return [_rule(r) for r in rows]

    async def episodes(self, rule: AlertRule, since: dt.datetime) -> list[tuple[uuid.UUID, Span]]:
        """The rule's alerted episodes that end at or after `since`, raised since it was last armed."""
        rows = await self._conn.execute(text(
            "SELECT id, start_time, last_time FROM insight.alerts WHERE user_id = :u AND alert_rule_id = :r "
            "AND last_time >= :s AND create_time >= :a"),
            {"u": self._user_id, "r": rule.id, "s": since, "a": rule.arm_time})
        return [(r.id, Span(r.start_time, r.last_time)) for r in rows]

    async def raise_alert(self, alert: Alert) -> None:
        await self._conn.execute(text(
            f"INSERT INTO insight.alerts ({_ALERT_COLUMNS}) VALUES "
            f"({', '.join(':' + c for c in _ALERT_COLUMNS.split(', '))})"),
            {c: getattr(alert, c) for c in _ALERT_COLUMNS.split(", ")})
        await self._conn.execute(text(
            "UPDATE insight.alert_rules SET last_trigger_time = GREATEST(last_trigger_time, :t) "
            "WHERE user_id = :u AND id = :r"), {"t": alert.trigger_time, "u": self._user_id, "r": alert.alert_rule_id})
        self.raised = True

    async def extend(self, alert_id: uuid.UUID, last: dt.datetime) -> None:
        await self._conn.execute(text(
            "UPDATE insight.alerts SET last_time = GREATEST(last_time, :l) WHERE user_id = :u AND id = :i"),
            {"l": last, "u": self._user_id, "i": alert_id})


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    return await delete_by_user(conn, user_id, "insight", TABLES)
