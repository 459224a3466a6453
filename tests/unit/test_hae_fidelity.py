"""Health Auto Export fidelity (issue 17), items 2, 3, 5 and 6: the app's own sleep totals, the
intervals of metric points, skipped kinds, and every metric name the app can send.

tests/fixtures/hae/MetricName.ts is the vendor's list, copied unchanged from
HealthyApps/health-auto-export-server (server/src/models/MetricName.ts at d0f3a78e17ae)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from services.ingest import convert
from services.ingest.hae import HaeParser
from services.ingest.hae import metrics as hae_metrics
from services.ingest.records import Rejected, SampleRecord, SampleRows, Skipped, SleepRecord
from services.tracking.samples.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
HAE = ROOT / "tests" / "fixtures" / "hae"
UTC = dt.UTC


def records(data: bytes, chunk: int = 4096) -> list:
    """Every record of a payload, SampleRows read row by row."""
    p = HaeParser()
    out = []
    for i in range(0, len(data), chunk):
        out += p.feed(data[i:i + chunk])
    out += p.close()
    return [x for r in out for x in (r.records() if isinstance(r, SampleRows) else (r,))]


def payload(*metrics: dict, **arrays) -> bytes:
    return json.dumps({"data": {"metrics": list(metrics), **arrays}}).encode()


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# -- 2. the app's own sleep totals ---------------------------------------------------------------------

def nights() -> list[SleepRecord]:
    out = records((HAE / "sleep_app_totals.json").read_bytes(), 97)
    assert all(isinstance(r, SleepRecord) for r in out), out
    return out


def test_the_apps_totals_are_kept_and_the_window_stays_start_and_end():
    before_662, shape_662, watch_only = nights()
    # Before 6.6.2: asleep 6.108 h is 21990 s, not the 23760 s of the window; inBed beyond the window.
    assert (before_662.start_time, before_662.end_time) == (utc(2021, 12, 17, 18, 21, 6), utc(2021, 12, 18, 0, 57, 6))
    assert (before_662.asleep_seconds, before_662.in_bed_seconds) == (21990, 24515)
    # 6.6.2: inBed 8.145 h is 29322 s, the window (inBedStart to inBedEnd) 29725 s.
    assert (shape_662.start_time, shape_662.end_time) == (utc(2026, 3, 7, 21, 55, 35), utc(2026, 3, 8, 6, 11))
    assert (shape_662.end_time - shape_662.start_time).total_seconds() == 29725
    assert (shape_662.asleep_seconds, shape_662.in_bed_seconds) == (27072, 29322)
    # The 0 the app writes for a total it has no data for is no total.
    assert (watch_only.asleep_seconds, watch_only.in_bed_seconds) == (24300, None)


def test_the_totals_reach_tracking_as_reported_totals():
    before_662, _, watch_only = nights()
    msg = convert.sleep_session(before_662)
    assert (msg.reported_asleep_seconds, msg.reported_time_in_bed_seconds) == (21990, 24515)
    assert (msg.start_time.ToDatetime(UTC), msg.end_time.ToDatetime(UTC)) == (before_662.start_time,
                                                                              before_662.end_time)
    unreported = convert.sleep_session(watch_only)
    assert unreported.HasField("reported_asleep_seconds") and not unreported.HasField("reported_time_in_bed_seconds")


def test_stage_segments_carry_no_totals_of_the_app():
    body = payload({"name": "sleep_analysis", "units": "hr", "data": [
        {"startDate": "2026-03-01 23:00:00 +0100", "endDate": "2026-03-02 01:00:00 +0100", "qty": 2, "value": "Core"}]})
    (segment,) = records(body)
    assert (segment.asleep_seconds, segment.in_bed_seconds) == (None, None)
    msg = convert.sleep_session(segment)
    assert not msg.HasField("reported_asleep_seconds") and not msg.HasField("reported_time_in_bed_seconds")


def test_a_total_over_a_day_is_rejected_at_its_path():
    item = {"date": "2026-03-08", "asleep": 6.0, "inBed": 25.5, "sleepStart": "2026-03-07 23:00:00 +0100",
            "sleepEnd": "2026-03-08 05:00:00 +0100"}
    (r,) = records(payload({"name": "sleep_analysis", "units": "hr", "data": [item]}))
    assert isinstance(r, Rejected) and (r.path, r.reason) == ("$.data.metrics[0].data[0].inBed", "INVALID_VALUE")


# -- 3. start and end on metric points ------------------------------------------------------------------

def test_start_and_end_are_the_samples_start_and_end():
    body = payload({"name": "step_count", "units": "count", "data": [
        {"date": "2026-03-14 09:00:00 +0000", "qty": 1234, "start": "2026-03-14 09:00:00 +0000",
         "end": "2026-03-14 10:00:00 +0000"}]})
    (r,) = records(body)
    assert isinstance(r, SampleRecord)
    assert (r.start_time, r.end_time, r.value, r.utc_offset_minutes) == (utc(2026, 3, 14, 9), utc(2026, 3, 14, 10),
                                                                         1234.0, 0)


def test_end_date_is_an_end_too_and_the_offset_is_the_starts():
    body = payload({"name": "active_energy", "units": "kcal", "data": [
        {"date": "2026-03-14 09:00:00 +0100", "qty": 40, "endDate": "2026-03-14 09:30:00 +0100"},
        {"date": "2026-03-14 11:00:00 +0100", "qty": 41, "start": "2026-03-14 12:00:00 +0200",
         "end": "2026-03-14 12:30:00 +0200"}]})
    first, second = records(body)
    assert (first.start_time, first.end_time, first.utc_offset_minutes) == (utc(2026, 3, 14, 8), utc(2026, 3, 14, 8, 30),
                                                                            60)
    assert (second.start_time, second.end_time, second.utc_offset_minutes) == (utc(2026, 3, 14, 10),
                                                                               utc(2026, 3, 14, 10, 30), 120)


@pytest.mark.parametrize("item,path,says", [
    ({"date": "2026-03-14 11:00:00 +0000", "start": "2026-03-14 09:00:00 +0000", "end": "2026-03-14 10:00:00 +0000"},
     ".date", "outside"),
    ({"date": "2026-03-14 08:59:59 +0000", "start": "2026-03-14 09:00:00 +0000", "end": "2026-03-14 10:00:00 +0000"},
     ".date", "outside"),
    ({"date": "2026-03-14 09:00:00 +0000", "end": "2026-03-14 08:00:00 +0000"}, ".end", "before"),
    ({"date": "2026-03-14 09:00:00 +0000", "endDate": "2026-03-14 08:00:00 +0000"}, ".endDate", "before"),
    ({"date": "2026-03-14 09:30:00 +0000", "start": "2026-03-14 09:00:00 +0000"}, ".date", "differs"),
    ({"date": "2026-03-14 09:00:00 +0000", "start": "soon", "end": "2026-03-14 10:00:00 +0000"}, ".start", ""),
    ({"start": "2026-03-14 09:00:00 +0000", "end": "later"}, ".end", ""),
])
def test_a_date_that_disagrees_with_start_and_end_is_rejected_at_its_path(item, path, says):
    for name, value in (("step_count", {"qty": 5}), ("heart_rate", {"Min": 60, "Avg": 61, "Max": 62})):
        good = {"date": "2026-03-14 12:00:00 +0000", **value}
        (bad, ok) = records(payload({"name": name, "units": "count/min" if name == "heart_rate" else "count",
                                     "data": [{**item, **value}, good]}))
        assert isinstance(bad, Rejected) and bad.reason == "INVALID_DATE", bad
        assert bad.path == "$.data.metrics[0].data[0]" + path and says in bad.message
        assert isinstance(ok, SampleRecord) and ok.end_time is None


def test_a_point_without_date_may_give_start_and_end():
    (r,) = records(payload({"name": "step_count", "units": "count", "data": [
        {"qty": 3, "start": "2026-03-14 09:00:00 +0000", "end": "2026-03-14 09:05:00 +0000"}]}))
    assert (r.start_time, r.end_time) == (utc(2026, 3, 14, 9), utc(2026, 3, 14, 9, 5))


def test_interval_series_read_in_blocks_give_what_item_by_item_gives(monkeypatch):
    metrics = json.loads((HAE / "interval_points.json").read_text())["data"]["metrics"]
    bodies = [json.dumps({"data": {"metrics": [m]}}, separators=(",", ":")).encode() for m in metrics]
    taken = []
    original = hae_metrics.SampleItems.add_block
    monkeypatch.setattr(hae_metrics.SampleItems, "add_block",
                        lambda self, *a: taken.append(original(self, *a)) or taken[-1])
    blocks = [records(body, 1 << 16) for body in bodies]
    assert taken[:2] == [23, 29]  # steps and heart rate: all but the last point in one step each
    monkeypatch.setattr(hae_metrics.SampleItems, "add_block", lambda self, *a: 0)
    assert blocks == [records(body, 1 << 16) for body in bodies] == [records(body, 13) for body in bodies]
    steps, hr, energy = blocks
    assert len(steps) == 24 and all(r.end_time - r.start_time == dt.timedelta(hours=1) for r in steps)
    assert len(hr) == 30 and all(r.end_time - r.start_time == dt.timedelta(seconds=59) and r.min for r in hr)
    assert len(energy) == 6 and all(r.end_time - r.start_time == dt.timedelta(minutes=30) for r in energy)


def test_points_of_spilled_series_keep_their_intervals():
    original = json.loads((HAE / "interval_points.json").read_text())
    resorted = json.dumps(original, sort_keys=True).encode()  # each metric's data before its name: spilled or read ahead
    key = lambda r: (r.metric, r.path)  # noqa: E731
    assert sorted(records(resorted, 64), key=key) == sorted(records((HAE / "interval_points.json").read_bytes()),
                                                            key=key)


# -- 5. skipped kinds ----------------------------------------------------------------------------------

def test_each_skipped_item_says_its_path_and_reason():
    out = records((HAE / "skipped_kinds.json").read_bytes(), 50)
    skipped = [(r.metric, r.path, r.reason) for r in out if isinstance(r, Skipped)]
    assert skipped == [
        ("HKQuantityTypeIdentifierHeartRate", f"$.data.metrics[0].data[{i}]", "UNSUPPORTED_METRIC") for i in range(3)
    ] + [("insulin_delivery", f"$.data.metrics[2].data[{i}]", "UNSUPPORTED_METRIC") for i in range(2)] + [
        ("weight_body_mass", f"$.data.metrics[3].data[{i}]", "UNSUPPORTED_UNIT") for i in range(2)] + [
        ("sleep_analysis", "$.data.metrics[4].data[0]", "UNSUPPORTED_SLEEP_STAGE"),
        ("HKQuantityTypeIdentifierHeartRate", "$.data.metrics[5].data[0]", "UNSUPPORTED_METRIC"),
        ("stateOfMind", "$.data.stateOfMind[0]", "UNSUPPORTED_METRIC"),
        ("stateOfMind", "$.data.stateOfMind[1]", "UNSUPPORTED_METRIC")]


# -- 6. every metric name the app can send ----------------------------------------------------------------

def vendor_names() -> list[str]:
    names = re.findall(r"^\s*[A-Z0-9_]+ = '([a-z0-9_]+)',$", (HAE / "MetricName.ts").read_text(), re.M)
    assert len(names) == len(set(names)) == 112  # the list as copied; a new copy may hold more
    return names


def readme_table() -> dict[str, str]:
    """The README's table of the vendor's names: name -> what it maps to, or why it is skipped."""
    text = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (.+?) \|$", text.split("<!-- hae-metrics -->")[1], re.M)
    return dict(rows)


def test_every_name_on_the_vendors_list_is_mapped_or_knowingly_skipped():
    table = hae_metrics.mapping_table()
    for name in vendor_names():
        key = table.get(name)
        assert (key is None) != (name not in hae_metrics.SKIPPED), name
        if key is None:
            assert len(hae_metrics.SKIPPED[name]) > 20, name  # a reason, not a placeholder
            items = hae_metrics.metric_items(name, None)
            assert isinstance(items, hae_metrics.RecordItems)
            assert items.add({"date": "2026-03-14 09:00:00 +0000", "qty": 1}, "$.x") == Skipped(
                name, "$.x", "UNSUPPORTED_METRIC")
        elif key != "sleep":
            mapping = hae_metrics.mapping_for(name)
            assert mapping.type == key and key in CATALOG, name
            assert CATALOG[key].convert(1.0, hae_metrics.normalize_unit(mapping, None)) is not None, name


def test_the_readme_table_lists_every_name_with_its_type_or_reason():
    table, readme = hae_metrics.mapping_table(), readme_table()
    assert sorted(readme) == sorted(vendor_names())
    for name, says in readme.items():
        if name in hae_metrics.SKIPPED:
            assert says == "skipped: " + hae_metrics.SKIPPED[name], name
        else:
            assert says == ("sleep sessions" if table[name] == "sleep" else f"`{table[name]}`"), name


def test_new_types_have_ucum_units_and_convert_the_apps_units():
    body = (HAE / "new_types.json").read_bytes()
    got = {r.type: CATALOG[r.type].convert(r.value, r.unit) for r in records(body)}
    assert got == pytest.approx({
        "basal_body_temperature": 36.5, "walking_speed": 1.3, "walking_step_length": 71.0,
        "walking_asymmetry": 0.8, "environmental_audio_exposure": 68.2, "headphone_audio_exposure": 74.5,
        "time_in_daylight": 42.0, "waist_circumference": 81.28, "stair_ascent_speed": 0.42672, "fev1": 3.42})
    units = {k: CATALOG[k].unit for k in got}
    assert units == {"basal_body_temperature": "Cel", "walking_speed": "m/s", "walking_step_length": "cm",
                     "walking_asymmetry": "%", "environmental_audio_exposure": "dB[SPL]",
                     "headphone_audio_exposure": "dB[SPL]", "time_in_daylight": "min", "waist_circumference": "cm",
                     "stair_ascent_speed": "m/s", "fev1": "L"}
    assert (CATALOG["waist_circumference"].loinc, CATALOG["fev1"].loinc, CATALOG["fvc"].loinc,
            CATALOG["peak_expiratory_flow"].loinc) == ("8280-0", "20150-9", "19868-9", "19935-6")
    # A percentage whose small values are real is not read as a fraction; one whose are not, is.
    assert CATALOG["walking_asymmetry"].convert(0.8, "%") == 0.8
    assert CATALOG["walking_double_support"].convert(0.28, "%") == pytest.approx(28.0)
