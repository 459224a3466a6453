"""Alert rules and alerts between their messages and the domain."""

from __future__ import annotations

from healthmesh.insight.v1 import alert_pb2, alert_rule_pb2, insight_service_pb2, severity_pb2

from services.common.convert import set_timestamp
from services.insight.alerts.repository import Alert
from services.insight.alerts.rules import AlertRule, RuleFields
from services.insight.alerts.watch import Heartbeat

Condition = alert_rule_pb2.AlertRule.Condition


def rule_fields(m: alert_rule_pb2.AlertRule) -> RuleFields:
    """What the caller gave; the unset enums are "" (the request walk has refused undefined numbers)."""
    return RuleFields(
        display_name=m.display_name, sample_type=m.sample_type,
        condition=Condition.Name(m.condition) if m.condition else "",
        threshold=m.threshold if m.HasField("threshold") else None,
        unit=m.unit.strip(), use_value2=m.use_value2, unless_active=m.unless_active,
        duration_seconds=m.duration_seconds, severity=severity_pb2.Severity.Name(m.severity) if m.severity else "",
        disabled=m.disabled)


def rule(r: AlertRule) -> alert_rule_pb2.AlertRule:
    out = alert_rule_pb2.AlertRule(
        name=r.name, display_name=r.display_name, sample_type=r.sample_type, condition=Condition.Value(r.condition),
        threshold=r.threshold, unit=r.unit, duration_seconds=r.duration_seconds,
        severity=severity_pb2.Severity.Value(r.severity), disabled=r.disabled, use_value2=r.use_value2,
        unless_active=r.unless_active, built_in=r.built_in)
    if r.last_trigger_time is not None:
        set_timestamp(out.last_trigger_time, r.last_trigger_time)
    set_timestamp(out.create_time, r.create_time)
    set_timestamp(out.update_time, r.update_time)
    return out


def alert(a: Alert) -> alert_pb2.Alert:
    out = alert_pb2.Alert(
        name=a.name, alert_rule=f"users/{a.user_id}/alertRules/{a.alert_rule_id}", sample_type=a.sample_type,
        condition=Condition.Value(a.condition), value=a.value, threshold=a.threshold, unit=a.unit,
        severity=severity_pb2.Severity.Value(a.severity), message=a.message)
    set_timestamp(out.start_time, a.start_time)
    set_timestamp(out.trigger_time, a.trigger_time)
    set_timestamp(out.create_time, a.create_time)
    return out


def watch_event(event: Alert | Heartbeat, user_id, now) -> insight_service_pb2.WatchAlertsResponse:
    out = insight_service_pb2.WatchAlertsResponse()
    if isinstance(event, Heartbeat):
        set_timestamp(out.heartbeat.send_time, now())
        out.heartbeat.last_alert = f"users/{user_id}/alerts/{event.last_alert}" if event.last_alert else ""
    else:
        out.alert.CopyFrom(alert(event))
    return out
