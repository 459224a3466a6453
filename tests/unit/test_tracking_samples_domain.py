"""Sample rules: checks and unit conversion, ids that carry their start, buckets and source priority."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.convert import from_micros, to_micros
from services.tracking.samples.bulk import check_columns
from services.tracking.samples.columns import ItemError, SampleColumns, SampleInput, check_rows
from services.tracking.samples.domain import HourRow, Interval, bucket_start, merge_buckets, source_rank

NOW = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
T = dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC)


def item(type="heart_rate", value=64.0, unit="count/min", start=T, **kw) -> SampleInput:
    fields = dict(type=type, start_time=start, end_time=None, utc_offset_minutes=60, value=value, min=None, max=None,
                  value2=None, unit=unit, source="Watch")
    fields.update(kw)
    return SampleInput(**fields)


def check_all(items: list[SampleInput], default_offset=lambda _: 0, default_source=""):
    return check_columns(SampleColumns.from_rows(items), NOW, default_offset, default_source)


def check(i: SampleInput, default_offset=lambda _: 0, default_source=""):
    """The one item's error, or its stored row as a dict of columns."""
    checks = check_all([i], default_offset, default_source)
    if checks.errors:
        return checks.errors[0]
    rows = checks.rows
    assert len(rows) == 1
    return {name: getattr(rows, name)[0] for name in ("start_us", "end_us", "offset", "value", "min", "max", "value2",
                                                       "original_value", "meal_context")} | {
        "type": rows.strings[rows.type[0]], "source": rows.strings[rows.source[0]],
        "original_unit": rows.strings[rows.original_unit[0]]}


@pytest.mark.parametrize("type, value, unit, expected", [
    ("weight", 154, "lb", 69.8532),
    ("distance", 1, "mi", 1609.344),
    ("active_energy", 418.4, "kJ", 100.0),
    ("body_temperature", 98.6, "degF", 37.0),
    ("water", 8, "fl_oz_us", 236.5882),
    ("blood_glucose", 5.5, "mmol<180.1558800000541>/L", 99.0857),
    ("spo2", 0.97, "%", 97.0),
    ("spo2", 97, "%", 97.0),
    ("body_fat", 0.25, "%", 25.0),
    ("height", 180, "cm", 1.8),
])
def test_units_convert_to_the_canonical_one_and_keep_the_original(type, value, unit, expected):
    checked = check(item(type, value, unit))
    assert checked["value"] == pytest.approx(expected, abs=1e-3)
    assert (checked["type"], checked["original_value"], checked["original_unit"]) == (type, value, unit)


@pytest.mark.parametrize("changes, field, reason", [
    ({"type": ""}, "type", "MISSING_FIELD"),
    ({"type": "mood"}, "type", "UNKNOWN_TYPE"),
    ({"unit": "furlongs"}, "unit", "UNKNOWN_UNIT"),
    ({"unit": ""}, "unit", "MISSING_FIELD"),
    ({"start_time": None}, "start_time", "MISSING_FIELD"),
    ({"start_time": dt.datetime(1899, 12, 31, tzinfo=dt.UTC)}, "start_time", "TIME_OUT_OF_RANGE"),
    ({"start_time": NOW + dt.timedelta(days=2)}, "start_time", "TIME_OUT_OF_RANGE"),
    ({"end_time": T - dt.timedelta(seconds=1)}, "end_time", "END_BEFORE_START"),
    ({"utc_offset_minutes": 1200}, "utc_offset_minutes", "OFFSET_OUT_OF_RANGE"),
    ({"value": 301}, "value", "VALUE_OUT_OF_RANGE"),
    ({"value": float("nan")}, "value", "INVALID_VALUE"),
    ({"min": 70.0}, "value", "INVALID_VALUE"),
    ({"value2": 80.0}, "value2", "INVALID_VALUE"),
    ({"meal_context": 9}, "meal_context", "INVALID_VALUE"),
])
def test_each_problem_has_its_field_and_reason(changes, field, reason):
    error = check(item(**changes))
    assert isinstance(error, ItemError) and (error.field, error.reason) == (field, reason)


def test_blood_pressure_needs_its_diastolic_value():
    assert check(item("blood_pressure", 120, "mmHg")).reason == "MISSING_FIELD"
    assert check(item("blood_pressure", 120, "mmHg", value2=80.0))["value2"] == 80.0


def test_missing_offset_comes_from_the_default_and_source_from_the_default_source():
    checked = check(item(utc_offset_minutes=None, source=""), lambda _: -480, "Band")
    assert (checked["offset"], checked["source"]) == (-480, "Band")


def test_sources_are_trimmed_and_an_end_defaults_to_the_start():
    checked = check(item(source="  Apple Watch "))
    assert checked["source"] == "Apple Watch" and checked["end_us"] == checked["start_us"] == to_micros(T)
    assert from_micros(checked["start_us"]) == T


def test_a_key_given_twice_keeps_the_last_and_says_whether_it_changed():
    later = T + dt.timedelta(minutes=1)
    checks = check_all([item(value=60.0), item(value=60.0, source=" Watch"), item(value=70.0, start=later),
                        item(value=71.0, start=later), item(value=999.0)])
    assert [e.index for e in checks.errors] == [4]
    assert checks.rows.row == [1, 3] and checks.rows.value == [60.0, 71.0]
    assert checks.superseded == [(0, 1, True), (2, 3, False)]


def test_bad_rows_are_reported_and_good_ones_kept_in_order():
    checks = check_all([item(value=61.0), item(type="mood"), item(value=62.0, start=T + dt.timedelta(hours=1)),
                        item(unit="furlongs")])
    assert [(e.index, e.reason) for e in checks.errors] == [(1, "UNKNOWN_TYPE"), (3, "UNKNOWN_UNIT")]
    assert checks.rows.row == [0, 2] and checks.rows.value == [61.0, 62.0]


def test_infinity_is_not_a_value():
    assert check(item(value=float("inf"))).reason == "INVALID_VALUE"
    assert check(item(max=float("-inf"))).reason == "INVALID_VALUE"


# -- large batches: the array checks decide exactly as the row checks ---------------------------------

def _mixed_batch(seed: int, n: int = 400) -> SampleColumns:
    """Good rows of several types and units among every kind of bad row, each key once."""
    import random

    rng = random.Random(seed)
    kinds = [("heart_rate", "count/min", 40, 200), ("weight", "lb", 100, 250), ("spo2", "%", 0.9, 1.0),
             ("spo2", "%", 90, 100), ("body_temperature", "degF", 96, 101), ("step_count", "count", 0, 900),
             ("blood_pressure", "mmHg", 100, 140), ("blood_glucose", "mmol<180.1558800000541>/L", 4, 9),
             ("heart_rate", "furlongs", 60, 70), ("mood", "count", 1, 2), ("heart_rate", "", 60, 70)]
    items = []
    for i in range(n):
        type_, unit, lo, hi = rng.choice(kinds)
        value = rng.uniform(lo, hi)
        extra: dict = {"start": T + dt.timedelta(minutes=i)}
        if type_ == "blood_pressure" and rng.random() < 0.9:
            extra["value2"] = rng.uniform(60, 90)
        if type_ == "heart_rate" and rng.random() < 0.5:
            extra["min"], extra["max"] = value - rng.uniform(-2, 5), value + rng.uniform(-2, 5)
        if rng.random() < 0.3:
            extra["end_time"] = extra["start"] + dt.timedelta(minutes=rng.choice([-1, 0, 5]))
        trouble = rng.random()
        if trouble < 0.04:
            value = rng.choice([float("nan"), float("inf"), -1e9, 1e9])
        elif trouble < 0.06:
            extra["start"] = rng.choice([dt.datetime(1899, 1, 1, tzinfo=dt.UTC), NOW + dt.timedelta(days=3)])
        elif trouble < 0.08:
            extra["utc_offset_minutes"] = rng.choice([-1100, 1100])
        elif trouble < 0.10:
            extra["meal_context"] = rng.choice([-1, 5])
        elif trouble < 0.12:
            extra["value2"] = 70.0
        elif trouble < 0.14:
            extra["value2" if type_ == "blood_pressure" else "min"] = -500.0
        items.append(item(type_, value, unit, source=rng.choice(["Watch", " Watch ", "", "Phone"]), **extra))
    return SampleColumns.from_rows(items)


def _decoded(checks) -> tuple:
    r = checks.rows.as_lists()
    rows = [(r.row[k], r.strings[r.type[k]], r.start_us[k], r.strings[r.source[k]], r.end_us[k], r.offset[k],
             r.value[k], r.min[k], r.max[k], r.value2[k], r.original_value[k], r.strings[r.original_unit[k]],
             r.meal_context[k], r.row_hash[k]) for k in range(len(r))]
    return rows, checks.errors, checks.superseded


@pytest.mark.parametrize("seed", range(8))
def test_array_checks_of_a_large_batch_decide_as_the_row_checks(seed):
    from services.tracking.samples import bulk

    batch = _mixed_batch(seed)
    arrays = bulk._check_arrays(batch, NOW, lambda _: 0, "Default")
    assert arrays is not None  # taken, not handed to the row path
    rows = check_rows(batch, NOW, lambda _: 0, "Default")
    assert rows.errors and len(rows.rows) > 200  # both good and bad rows are in the batch
    assert _decoded(arrays) == _decoded(rows)


def test_a_large_batch_with_a_repeated_key_or_a_missing_offset_takes_the_row_path():
    from services.tracking.samples import bulk

    repeated = [item(start=T + dt.timedelta(minutes=i % 100)) for i in range(200)]
    assert bulk._check_arrays(SampleColumns.from_rows(repeated), NOW, lambda _: 0, "") is None
    checks = check_all(repeated)
    assert len(checks.rows) == 100 and len(checks.superseded) == 100
    offsetless = [item(start=T + dt.timedelta(minutes=i), utc_offset_minutes=None) for i in range(200)]
    assert bulk._check_arrays(SampleColumns.from_rows(offsetless), NOW, lambda _: 0, "") is None
    assert set(check_all(offsetless, default_offset=lambda _: -300).rows.offset) == {-300}


def test_wearables_outrank_phones_and_known_sources_outrank_unknown():
    ranked = sorted(["", "Ada's iPhone", "Oura Ring", "Apple Watch", "Some App"], key=source_rank)
    assert ranked == ["Apple Watch", "Oura Ring", "Ada's iPhone", "Some App", ""]


def test_bucket_starts():
    local = dt.datetime(2026, 3, 5, 13, 45)  # a Thursday
    assert bucket_start(local, Interval.HOUR) == dt.datetime(2026, 3, 5, 13)
    assert bucket_start(local, Interval.DAY) == dt.datetime(2026, 3, 5)
    assert bucket_start(local, Interval.WEEK) == dt.datetime(2026, 3, 2)
    assert bucket_start(local, Interval.MONTH) == dt.datetime(2026, 3, 1)


def row(hour: int, source: str, total: float, count: int = 1, day: int = 1, low=None, high=None) -> HourRow:
    return HourRow(dt.datetime(2026, 3, day, hour), 60, source, count, total, low or total, high or total)


def test_summing_types_take_one_source_per_hour():
    rows = [row(8, "iPhone", 1200), row(8, "Apple Watch", 1000), row(9, "iPhone", 300), row(8, "iPhone", 50, day=2)]
    days = merge_buckets(rows, Interval.DAY, summing=True)
    assert [(b.local_date.day, b.sum, b.sources) for b in days] == [
        (1, 1300, ("Apple Watch", "iPhone")), (2, 50, ("iPhone",))]
    assert days[0].start_time == dt.datetime(2026, 2, 28, 23, tzinfo=dt.UTC)


def test_level_types_combine_every_source():
    rows = [row(8, "Watch", 120, count=2, low=50, high=70), row(8, "Band", 80, count=1, low=80, high=80)]
    (hour,) = merge_buckets(rows, Interval.HOUR, summing=False)
    assert (hour.count, hour.avg, hour.min, hour.max) == (3, pytest.approx(200 / 3), 50, 80)
