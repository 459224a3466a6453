"""The alert rules' and alerts' RPCs, WatchAlerts among them, as a mixin of the Insight servicer:
parse, call the use case, render.

The final servicer sets `self.alerts` (AlertService), `self.watch` (AlertWatch),
`self.request_results` (RequestResults) and `self.page_tokens` (PageTokens) in its __init__.
"""

from __future__ import annotations

import uuid

from google.protobuf import empty_pb2
from healthmesh.insight.v1 import alert_rule_pb2, insight_service_pb2

from services.common import pagination
from services.common.clock import utcnow
from services.common.convert import from_timestamp
from services.common.errors import InvalidArgument, NotFound, Violations
from services.common.idempotency import RequestResults
from services.common.ids import is_uuid
from services.common.principal import caller_parent, current_principal, parse_name
from services.insight.alerts import convert
from services.insight.alerts.rules import BUILT_IN_PREFIX
from services.insight.alerts.service import AlertService
from services.insight.alerts.watch import DEFAULT_HEARTBEAT_SECONDS, AlertWatch

RULE = "users/{user}/alertRules/{alert_rule}"
ALERT = "users/{user}/alerts/{alert}"


def _rule_id(value: str) -> bool:
    return is_uuid(value) or value.startswith(BUILT_IN_PREFIX)


def rule_name(name: str, field: str = "name") -> tuple[uuid.UUID, str]:
    ids = parse_name(name, RULE, current_principal.get(), field, id_ok=_rule_id)
    return uuid.UUID(ids["user"]), ids["alert_rule"]


def alert_name(name: str, field: str = "name") -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, ALERT, current_principal.get(), field)
    return uuid.UUID(ids["user"]), uuid.UUID(ids["alert"])


def _after_alert(name: str, user_id: uuid.UUID) -> uuid.UUID | None:
    """WatchAlerts' after_alert: an alert name under the parent (it need not exist)."""
    if not name:
        return None
    prefix = f"users/{user_id}/alerts/"
    rest = name.removeprefix("users/me/alerts/") if name.startswith("users/me/") else name.removeprefix(prefix)
    if rest == name or not is_uuid(rest):
        raise InvalidArgument.field("after_alert", f"must be an alert name under users/{user_id}, "
                                                   "users/{user}/alerts/{alert}")
    return uuid.UUID(rest)


def _heartbeat_seconds(value: int) -> int:
    if value == 0:
        return DEFAULT_HEARTBEAT_SECONDS
    if not 5 <= value <= 240:
        raise InvalidArgument.field("heartbeat_interval_seconds", f"must be 0 or 5 to 240, got {value}")
    return value


class AlertRpcs:
    alerts: AlertService
    watch: AlertWatch
    request_results: RequestResults
    page_tokens: pagination.PageTokens

    async def GetAlertRule(self, request, context):
        return convert.rule(await self.alerts.get_rule(*rule_name(request.name)))

    async def ListAlertRules(self, request, context):
        user_id = caller_parent(request.parent)
        query = {"parent": str(user_id), "kind": "alertRules"}
        position = pagination.offset_position(self.page_tokens, request, query)
        page, token = pagination.offset_page(self.page_tokens, position, query,
                                             await self.alerts.list_rules(user_id))
        return insight_service_pb2.ListAlertRulesResponse(alert_rules=[convert.rule(r) for r in page],
                                                          next_page_token=token)

    async def CreateAlertRule(self, request, context):
        user_id = caller_parent(request.parent)

        async def create():
            return convert.rule(await self.alerts.create_rule(user_id, convert.rule_fields(request.alert_rule)))

        return await self.request_results.once(user_id, "CreateAlertRule", request.request_id,
                                               alert_rule_pb2.AlertRule.FromString, create)

    async def UpdateAlertRule(self, request, context):
        user_id, rule_id = rule_name(request.alert_rule.name, "alert_rule.name")
        changed = await self.alerts.update_rule(user_id, rule_id, list(request.update_mask.paths),
                                                convert.rule_fields(request.alert_rule))
        return convert.rule(changed)

    async def DeleteAlertRule(self, request, context):
        await self.alerts.delete_rule(*rule_name(request.name))
        return empty_pb2.Empty()

    async def GetAlert(self, request, context):
        return convert.alert(await self.alerts.get_alert(*alert_name(request.name)))

    async def ListAlerts(self, request, context):
        user_id = caller_parent(request.parent)
        v = Violations()
        rule_id = ""
        if request.alert_rule:
            try:
                _, rule_id = rule_name(request.alert_rule, "alert_rule")
            except NotFound:
                rule_id = request.alert_rule.rsplit("/", 1)[-1]  # a rule that cannot exist raised no alerts
        start = from_timestamp(request.start_time) if request.HasField("start_time") else None
        end = from_timestamp(request.end_time) if request.HasField("end_time") else None
        if start and end and start > end:
            v.add("start_time", "is after end_time")
        v.raise_if_any()
        query = {"parent": str(user_id), "rule": rule_id, "start": str(start), "end": str(end), "kind": "alerts"}
        page, token = await pagination.id_page(
            self.page_tokens, request, query,
            lambda limit, before: self.alerts.list_alerts(user_id, rule_id, start, end, limit, before))
        return insight_service_pb2.ListAlertsResponse(alerts=[convert.alert(a) for a in page], next_page_token=token)

    async def WatchAlerts(self, request, context):
        user_id = caller_parent(request.parent)
        after = _after_alert(request.after_alert, user_id)
        heartbeat = _heartbeat_seconds(request.heartbeat_interval_seconds)
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        async for event in self.watch.watch(current_principal.get(), metadata, user_id, after, heartbeat):
            yield convert.watch_event(event, user_id, utcnow)
