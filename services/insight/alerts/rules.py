"""Alert rules: what a rule is, the built-in ones every user has, and the checks of a user's input.

Thresholds are kept in the rule's own unit (as the user gave them) and compared in the type's
canonical unit, the unit Tracking stores samples in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from services.common import checks
from services.common.errors import Violations, shown
from services.insight.alerts.episodes import ABOVE, AT_OR_ABOVE, AT_OR_BELOW, BELOW, Condition
from services.insight.analytics.daily import TypeInfo

CONDITIONS = (ABOVE, BELOW, AT_OR_ABOVE, AT_OR_BELOW)
SEVERITIES = ("INFO", "WARNING", "CRITICAL")
MAX_RULES = 100  # a user's own rules; the built-in ones do not count
MAX_DURATION_SECONDS = 86_400
MAX_DISPLAY_NAME = 100
BUILT_IN_PREFIX = "builtin-"
EQUAL_WITHIN = 1e-9  # relative: a value this close to the threshold is at it
# What UpdateAlertRule may change; sample_type and use_value2 say what the rule is about.
UPDATABLE = ("display_name", "condition", "threshold", "unit", "duration_seconds", "severity", "disabled",
             "unless_active")
IMMUTABLE = ("sample_type", "use_value2")
OUTPUT_ONLY = ("name", "built_in", "last_trigger_time", "create_time", "update_time")


@dataclass(frozen=True)
class AlertRule:
    user_id: uuid.UUID
    id: str
    built_in: bool
    display_name: str
    sample_type: str
    condition: str
    threshold: float  # in unit
    unit: str  # "" means the canonical unit
    use_value2: bool
    unless_active: bool
    duration_seconds: int
    severity: str
    disabled: bool
    arm_time: dt.datetime
    create_time: dt.datetime
    update_time: dt.datetime
    last_trigger_time: dt.datetime | None = None

    @property
    def name(self) -> str:
        return f"users/{self.user_id}/alertRules/{self.id}"

    def condition_in(self, info: TypeInfo) -> Condition:
        """The rule as episodes.evaluate compares it: the threshold in the canonical unit."""
        threshold = info.to_canonical(self.threshold, self.unit)
        if threshold is None:  # the unit was checked when the rule was written; the catalog changed since
            threshold = math.nan  # never met
        # A value equal to the threshold in the rule's unit may differ from it in the last bits once
        # both are converted (100.4 degF and a sample of 38.0 Cel): within a billionth they are equal.
        slack = EQUAL_WITHIN * max(1.0, abs(threshold))
        threshold += {ABOVE: slack, AT_OR_BELOW: slack, BELOW: -slack, AT_OR_ABOVE: -slack}[self.condition]
        return Condition(self.condition, threshold, self.use_value2, self.duration_seconds, self.unless_active)


@dataclass(frozen=True)
class RuleFields:
    """What a caller gives for a rule (create, or the masked fields of an update)."""

    display_name: str = ""
    sample_type: str = ""
    condition: str = ""  # "" when not given
    threshold: float | None = None
    unit: str = ""
    use_value2: bool = False
    unless_active: bool = False
    duration_seconds: int = 0
    severity: str = ""  # "" means WARNING
    disabled: bool = False


@dataclass(frozen=True)
class BuiltIn:
    id: str
    display_name: str
    sample_type: str
    condition: str
    threshold: float
    unit: str
    severity: str
    duration_seconds: int = 0
    use_value2: bool = False
    unless_active: bool = False


# The built-in rules, in the order ListAlertRules shows them. Thresholds: hypoxaemia below 90 %
# SpO2 (WHO pulse oximetry manual); hypertensive crisis at 180/120 mmHg (AHA); hypoglycaemia
# below 70 mg/dL (ADA level 1) and hyperglycaemia above 250 mg/dL (the ADA's sick-day level);
# tachycardia at rest above 120 /min for 10 minutes, and a resting heart rate above 100 /min
# (the adult tachycardia bound).
BUILT_INS: tuple[BuiltIn, ...] = (
    BuiltIn("builtin-spo2-low", "Blood oxygen below 90 %", "spo2", BELOW, 90, "%", "CRITICAL"),
    BuiltIn("builtin-systolic-high", "Systolic pressure at or above 180 mmHg", "blood_pressure", AT_OR_ABOVE, 180,
            "mm[Hg]", "CRITICAL"),
    BuiltIn("builtin-diastolic-high", "Diastolic pressure at or above 120 mmHg", "blood_pressure", AT_OR_ABOVE, 120,
            "mm[Hg]", "CRITICAL", use_value2=True),
    BuiltIn("builtin-glucose-low", "Blood glucose below 70 mg/dL", "blood_glucose", BELOW, 70, "mg/dL", "CRITICAL"),
    BuiltIn("builtin-glucose-high", "Blood glucose above 250 mg/dL", "blood_glucose", ABOVE, 250, "mg/dL", "WARNING"),
    BuiltIn("builtin-heart-rate-high-at-rest", "Heart rate above 120 /min for 10 minutes at rest", "heart_rate",
            ABOVE, 120, "/min", "WARNING", duration_seconds=600, unless_active=True),
    BuiltIn("builtin-resting-heart-rate-high", "Resting heart rate above 100 /min", "resting_heart_rate", ABOVE,
            100, "/min", "WARNING"),
)
BUILT_IN_ORDER = {b.id: i for i, b in enumerate(BUILT_INS)}


def built_in_rules(user_id: uuid.UUID, now: dt.datetime) -> list[AlertRule]:
    return [AlertRule(user_id, b.id, True, b.display_name, b.sample_type, b.condition, float(b.threshold), b.unit,
                      b.use_value2, b.unless_active, b.duration_seconds, b.severity, False, now, now, now)
            for b in BUILT_INS]


def check_new(fields: RuleFields, catalog: Mapping[str, TypeInfo]) -> RuleFields:
    """The fields of a new rule, checked; severity defaults to WARNING."""
    v = Violations()
    if not fields.display_name.strip():
        v.add("alert_rule.display_name", "is required")
    if not fields.sample_type:
        v.add("alert_rule.sample_type", "is required")
    if not fields.condition:
        v.add("alert_rule.condition", "is required")
    if fields.threshold is None:
        v.add("alert_rule.threshold", "is required")
    _check_values(fields, catalog, v, ("display_name", "sample_type", "condition", "threshold", "unit",
                                        "duration_seconds", "use_value2"))
    v.raise_if_any()
    return dataclasses.replace(fields, display_name=fields.display_name.strip(), severity=fields.severity or "WARNING")


def updated(rule: AlertRule, paths: list[str], fields: RuleFields, catalog: Mapping[str, TypeInfo],
            now: dt.datetime) -> AlertRule:
    """The rule with the masked fields changed, checked; any change re-arms it."""
    v = Violations()
    checks.update_mask(paths, UPDATABLE, IMMUTABLE + OUTPUT_ONLY, "AlertRule", v)
    v.raise_if_any()
    changes = {p: getattr(fields, p) for p in paths}
    if "display_name" in changes:
        changes["display_name"] = fields.display_name.strip()
        if not changes["display_name"]:
            v.add("alert_rule.display_name", "must not be empty")
    if "condition" in changes and not fields.condition:
        v.add("alert_rule.condition", "must be one of " + ", ".join(CONDITIONS))
    if "threshold" in changes and fields.threshold is None:
        v.add("alert_rule.threshold", "is required")
    if "severity" in changes:
        changes["severity"] = fields.severity or "WARNING"
    after = dataclasses.replace(rule, **changes)
    merged = RuleFields(after.display_name, after.sample_type, after.condition, after.threshold, after.unit,
                        after.use_value2, after.unless_active, after.duration_seconds, after.severity)
    _check_values(merged, catalog, v, tuple(paths))
    v.raise_if_any()
    return dataclasses.replace(after, arm_time=now, update_time=now)


def _check_values(f: RuleFields, catalog: Mapping[str, TypeInfo], v: Violations, given: tuple[str, ...]) -> None:
    """Checks of the values themselves, reported on the fields the caller gave."""
    if "display_name" in given and len(f.display_name) > MAX_DISPLAY_NAME:
        v.add("alert_rule.display_name", f"at most {MAX_DISPLAY_NAME} characters")
    if "threshold" in given and f.threshold is not None and not math.isfinite(f.threshold):
        v.add("alert_rule.threshold", "must be a finite number")
    if "duration_seconds" in given and not 0 <= f.duration_seconds <= MAX_DURATION_SECONDS:
        v.add("alert_rule.duration_seconds", f"must be 0 to {MAX_DURATION_SECONDS:,}, got {f.duration_seconds}")
    info = catalog.get(f.sample_type)
    if f.sample_type and info is None:
        v.add("alert_rule.sample_type", f"{shown(f.sample_type)} is not in Tracking's catalog")
        return
    if info is None:
        return
    if "unit" in given and info.to_canonical(1.0, f.unit) is None:
        accepted = ", ".join(u for u, _, _ in info.units) or info.unit
        v.add("alert_rule.unit", f"{shown(f.unit)} does not convert to {info.unit}; accepted: {accepted}")
    if "use_value2" in given and f.use_value2 and not info.has_value2:
        v.add("alert_rule.use_value2", f"{f.sample_type} has no value2")
