"""Alert rules' use cases: the rules' CRUD, the alerts they raised, and the evaluation of a user's
new samples when Tracking's outbox reports them (services/insight/notify.py).

An evaluation reads the changed types' samples from Tracking (from a little before the change, so
that a run already under way is seen whole, and never older than 24 hours for a trigger) and the
workouts around them, then decides in episodes.evaluate, and records what fired in one
transaction with the outbox event's id, so a redelivered event raises nothing twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

from services.common.clock import Clock, utcnow
from services.common.errors import FailedPrecondition, NotFound, ResourceExhausted
from services.common.ids import uuid7
from services.insight.alerts import rules as alert_rules
from services.insight.alerts.episodes import Firing, Reading, Span, evaluate
from services.insight.alerts.repository import Alert, SqlAlertStore
from services.insight.alerts.rules import AlertRule, RuleFields
from services.insight.analytics.daily import TypeInfo
from services.insight.notify import ACTIVITY, Change

HORIZON = dt.timedelta(hours=24)  # only samples that started within this raise alerts
EVENT_RETENTION = dt.timedelta(days=7)


class AlertTracking(Protocol):
    async def catalog(self) -> dict[str, TypeInfo]: ...
    async def readings(self, user_id: uuid.UUID, type: str, start: dt.datetime, end: dt.datetime) -> list[Reading]: ...
    async def activities(self, user_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> list[Span]: ...


PHRASES = {"ABOVE": "above", "BELOW": "below", "AT_OR_ABOVE": "at or above", "AT_OR_BELOW": "at or below"}


def _number(x: float) -> str:
    return f"{x:,.1f}".removesuffix(".0")


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' * (seconds != 3600)}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute{'s' * (seconds != 60)}"
    return f"{seconds} seconds"


def message(rule: AlertRule, info: TypeInfo, value: float) -> str:
    """One sentence, e.g. `Heart rate 131 /min, above 120 /min for 10 minutes.`"""
    unit = rule.unit or info.unit
    what = f"{info.display_name} {'(diastolic) ' if rule.use_value2 else ''}"
    text = f"{what}{_number(value)} {unit}, {PHRASES[rule.condition]} {_number(rule.threshold)} {unit}"
    return text + (f" for {_duration(rule.duration_seconds)}." if rule.duration_seconds else ".")


def in_rule_unit(info: TypeInfo, rule: AlertRule, canonical: float) -> float:
    """A canonical value in the rule's unit (the inverse of TypeInfo.to_canonical)."""
    one, zero = info.to_canonical(1.0, rule.unit), info.to_canonical(0.0, rule.unit)
    if one is None or zero is None or one == zero:
        return canonical
    return (canonical - zero) / (one - zero)


class AlertService:
    def __init__(self, store: SqlAlertStore, tracking: AlertTracking, clock: Clock = utcnow) -> None:
        self._store = store
        self._tracking = tracking
        self._clock = clock

    # Rules.

    async def _ready(self, user_id: uuid.UUID, now: dt.datetime | None = None) -> None:
        """The user's built-in rules exist (armed at `now`, before any alert of this evaluation)."""
        await self._store.ensure_built_ins(user_id, alert_rules.built_in_rules(user_id, now or self._clock()))

    async def list_rules(self, user_id: uuid.UUID) -> list[AlertRule]:
        """Built-in rules first, in their fixed order, then the user's own, newest first."""
        await self._ready(user_id)
        found = await self._store.rules(user_id)
        built_in = sorted((r for r in found if r.built_in), key=lambda r: alert_rules.BUILT_IN_ORDER.get(r.id, 99))
        own = sorted((r for r in found if not r.built_in), key=lambda r: r.id, reverse=True)  # UUIDv7: newest first
        return built_in + own

    async def get_rule(self, user_id: uuid.UUID, rule_id: str) -> AlertRule:
        await self._ready(user_id)
        rule = await self._store.rule(user_id, rule_id)
        if rule is None:
            raise NotFound(f"alert rule users/{user_id}/alertRules/{rule_id} not found", "ALERT_RULE_NOT_FOUND")
        return rule

    async def create_rule(self, user_id: uuid.UUID, fields: RuleFields) -> AlertRule:
        f = alert_rules.check_new(fields, await self._tracking.catalog())
        now = self._clock()
        rule = AlertRule(user_id, str(uuid7()), False, f.display_name, f.sample_type, f.condition, float(f.threshold),
                         f.unit, f.use_value2, f.unless_active, f.duration_seconds, f.severity, f.disabled, now, now,
                         now)
        if not await self._store.add_rule(rule, alert_rules.MAX_RULES):
            raise ResourceExhausted(f"at most {alert_rules.MAX_RULES} alert rules of your own (built-in ones do not "
                                    "count); delete one first", "ALERT_RULE_LIMIT")
        return rule

    async def update_rule(self, user_id: uuid.UUID, rule_id: str, paths: list[str], fields: RuleFields) -> AlertRule:
        rule = await self.get_rule(user_id, rule_id)
        changed = alert_rules.updated(rule, paths, fields, await self._tracking.catalog(), self._clock())
        if not await self._store.save_rule(changed):
            raise NotFound(f"alert rule {rule.name} not found", "ALERT_RULE_NOT_FOUND")
        return changed

    async def delete_rule(self, user_id: uuid.UUID, rule_id: str) -> None:
        rule = await self.get_rule(user_id, rule_id)
        if rule.built_in:
            raise FailedPrecondition(f"{rule.name} is built in: disable it instead (update disabled)",
                                     "BUILT_IN_RULE")
        if not await self._store.delete_rule(user_id, rule_id):
            raise NotFound(f"alert rule {rule.name} not found", "ALERT_RULE_NOT_FOUND")

    # Alerts.

    async def get_alert(self, user_id: uuid.UUID, alert_id: uuid.UUID) -> Alert:
        alert = await self._store.alert(user_id, alert_id)
        if alert is None:
            raise NotFound(f"alert users/{user_id}/alerts/{alert_id} not found", "ALERT_NOT_FOUND")
        return alert

    async def list_alerts(self, user_id: uuid.UUID, rule_id: str, start: dt.datetime | None,
                          end: dt.datetime | None, limit: int, before: uuid.UUID | None) -> list[Alert]:
        return await self._store.alerts(user_id, rule_id, start, end, limit, before)

    # Evaluation.

    async def samples_written(self, change: Change) -> None:
        """A change listener: evaluates the user's rules on the changed types' samples."""
        now = self._clock()
        since = now - HORIZON
        types = sorted(change.sample_types - {ACTIVITY})
        too_old = change.end_time is not None and change.end_time < since
        if not types or too_old:
            return
        await self._ready(change.user_id, now)
        catalog = await self._tracking.catalog()
        async with self._store.evaluation(change.user_id) as ev:
            if not await ev.claim(change.event_id, now):
                return  # a redelivery: evaluated already
            rules = [r for r in await ev.rules(types) if r.sample_type in catalog]
            if not rules:
                return
            first = max(change.start_time or since, since)
            last = max(change.end_time or now, first) + dt.timedelta(seconds=1)
            for rule in rules:
                await self._evaluate(ev, rule, catalog[rule.sample_type], change.user_id, first, last, since, now)

    async def _evaluate(self, ev, rule: AlertRule, info: TypeInfo, user_id: uuid.UUID, first: dt.datetime,
                        last: dt.datetime, since: dt.datetime, now: dt.datetime) -> None:
        condition = rule.condition_in(info)
        reach = condition.duration + 2 * condition.max_gap  # the run under way when the change began
        readings = await self._tracking.readings(user_id, rule.sample_type, first - reach, last)
        if not readings:
            return
        busy = await self._tracking.activities(user_id, first - reach, last) if rule.unless_active else []
        alerted = await ev.episodes(rule, first - reach)
        by_span = {span: alert_id for alert_id, span in alerted}
        result = evaluate(condition, readings, since=since, activities=busy, alerted=[s for _, s in alerted])
        for span, new_last in result.extended:
            await ev.extend(by_span[span], new_last)
        for firing in result.fired:
            await ev.raise_alert(self._alert(rule, info, user_id, firing, now))

    def _alert(self, rule: AlertRule, info: TypeInfo, user_id: uuid.UUID, firing: Firing, now: dt.datetime) -> Alert:
        reading = firing.trigger
        value = in_rule_unit(info, rule, reading.value2 if rule.use_value2 and reading.value2 is not None
                             else reading.value)
        return Alert(user_id, uuid7(), rule.id, rule.sample_type, rule.condition, value, rule.threshold,
                     rule.unit or info.unit, firing.start, reading.time, firing.last, rule.severity,
                     message(rule, info, value), now)

    async def prune(self) -> int:
        return await self._store.prune_events(self._clock() - EVENT_RETENTION)

