"""Alert rules' checks, the built-in rules, units and the alert's sentence (no I/O)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from services.common.errors import InvalidArgument
from services.insight.alerts import rules
from services.insight.alerts.episodes import Reading, evaluate
from services.insight.alerts.rules import RuleFields
from services.insight.alerts.service import in_rule_unit, message
from services.insight.analytics.daily import TypeInfo

T0 = dt.datetime(2026, 5, 1, 8, tzinfo=dt.UTC)
USER = uuid.UUID("01900000-0000-7000-8000-000000000001")
CATALOG = {
    "weight": TypeInfo("weight", "kg", False, "Weight", 1, 500, (("kg", 1, 0), ("lb", 0.45359237, 0))),
    "body_temperature": TypeInfo("body_temperature", "Cel", False, "Body temperature", 25, 45,
                                 (("Cel", 1, 0), ("degF", 5 / 9, -32 * 5 / 9))),
    "blood_pressure": TypeInfo("blood_pressure", "mm[Hg]", False, "Blood pressure", 30, 300, (("mmHg", 1, 0),),
                               has_value2=True),
    "heart_rate": TypeInfo("heart_rate", "/min", False, "Heart rate", 20, 300, (("bpm", 1, 0),)),
    "spo2": TypeInfo("spo2", "%", False, "SpO2", 50, 100, (("%", 1, 0),)),
}
GOOD = RuleFields("Heavy", "weight", "ABOVE", 198.0, "lb")


def _fields_of(exc: pytest.ExceptionInfo) -> set[str]:
    return {v.field for v in exc.value.violations}


def test_a_new_rule_is_checked_field_by_field():
    assert rules.check_new(GOOD, CATALOG).severity == "WARNING"
    with pytest.raises(InvalidArgument) as missing:
        rules.check_new(RuleFields(), CATALOG)
    assert _fields_of(missing) == {"alert_rule.display_name", "alert_rule.sample_type", "alert_rule.condition",
                                   "alert_rule.threshold"}
    cases = {
        "alert_rule.sample_type": dataclasses.replace(GOOD, sample_type="moon"),
        "alert_rule.unit": dataclasses.replace(GOOD, unit="stone-age"),
        "alert_rule.use_value2": dataclasses.replace(GOOD, use_value2=True),
        "alert_rule.duration_seconds": dataclasses.replace(GOOD, duration_seconds=86_401),
        "alert_rule.threshold": dataclasses.replace(GOOD, threshold=float("nan")),
        "alert_rule.display_name": dataclasses.replace(GOOD, display_name="x" * 101),
    }
    for field, fields in cases.items():
        with pytest.raises(InvalidArgument) as bad:
            rules.check_new(fields, CATALOG)
        assert _fields_of(bad) == {field}
    assert rules.check_new(dataclasses.replace(GOOD, duration_seconds=86_400, threshold=0.0), CATALOG)
    assert rules.check_new(RuleFields("Dia", "blood_pressure", "AT_OR_ABOVE", 110, "", use_value2=True), CATALOG)


def test_an_update_changes_only_the_masked_fields_re_arms_and_refuses_immutable_ones():
    rule = rules.built_in_rules(USER, T0)[0]
    later = T0 + dt.timedelta(hours=1)
    changed = rules.updated(rule, ["threshold", "disabled"],
                            RuleFields(threshold=88.0, disabled=True, display_name="ignored"), CATALOG, later)
    assert (changed.threshold, changed.disabled, changed.display_name) == (88.0, True, rule.display_name)
    assert changed.arm_time == later and changed.update_time == later and changed.create_time == T0
    for paths in (["sample_type"], ["use_value2"], ["built_in"], ["colour"], []):
        with pytest.raises(InvalidArgument) as refused:
            rules.updated(rule, paths, RuleFields(), CATALOG, later)
        assert _fields_of(refused) == {"update_mask"}
    with pytest.raises(InvalidArgument) as empty_name:
        rules.updated(rule, ["display_name"], RuleFields(display_name="  "), CATALOG, later)
    assert _fields_of(empty_name) == {"alert_rule.display_name"}


def test_the_built_in_rules_have_the_issue_thresholds():
    by_id = {r.id: r for r in rules.built_in_rules(USER, T0)}
    assert len(by_id) == 7 and all(r.built_in and r.id.startswith(rules.BUILT_IN_PREFIX) for r in by_id.values())
    want = {"builtin-spo2-low": ("spo2", "BELOW", 90, False), "builtin-systolic-high": ("blood_pressure",
            "AT_OR_ABOVE", 180, False), "builtin-diastolic-high": ("blood_pressure", "AT_OR_ABOVE", 120, True),
            "builtin-glucose-low": ("blood_glucose", "BELOW", 70, False),
            "builtin-glucose-high": ("blood_glucose", "ABOVE", 250, False),
            "builtin-heart-rate-high-at-rest": ("heart_rate", "ABOVE", 120, False),
            "builtin-resting-heart-rate-high": ("resting_heart_rate", "ABOVE", 100, False)}
    assert {k: (r.sample_type, r.condition, r.threshold, r.use_value2) for k, r in by_id.items()} == want
    hr = by_id["builtin-heart-rate-high-at-rest"]
    assert (hr.duration_seconds, hr.unless_active) == (600, True)


def test_a_threshold_in_another_unit_is_compared_in_the_canonical_one_and_reported_in_its_own():
    rule = dataclasses.replace(rules.built_in_rules(USER, T0)[0], sample_type="body_temperature",
                               condition="AT_OR_ABOVE", threshold=100.4, unit="degF")
    info = CATALOG["body_temperature"]
    condition = rule.condition_in(info)
    assert condition.threshold == pytest.approx(38.0, abs=1e-6)
    fired = evaluate(condition, [Reading(T0, 37.9), Reading(T0 + dt.timedelta(minutes=1), 38.0)], since=T0).fired
    assert [f.trigger.value for f in fired] == [38.0]  # at or above, exactly at the threshold
    assert in_rule_unit(info, rule, 38.5) == pytest.approx(101.3)
    assert message(rule, info, 101.3) == "Body temperature 101.3 degF, at or above 100.4 degF."


def test_the_sentence_names_the_duration_and_value2():
    hr = rules.built_in_rules(USER, T0)[5]
    assert message(hr, CATALOG["heart_rate"], 131) == "Heart rate 131 /min, above 120 /min for 10 minutes."
    dia = rules.built_in_rules(USER, T0)[2]
    assert message(dia, CATALOG["blood_pressure"], 121) == \
        "Blood pressure (diastolic) 121 mm[Hg], at or above 120 mm[Hg]."
