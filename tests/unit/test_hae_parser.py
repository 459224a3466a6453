"""The Health Auto Export streaming parser (services/ingest/hae) against the fixtures of
tests/fixtures/hae (copied unchanged from ../shared/fixtures/hae), fed in small chunks."""

from __future__ import annotations

import collections
import datetime as dt
import json
import math
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from services.ingest.hae import HaeParser
from services.ingest.hae import metrics as hae_metrics
from services.ingest.hae import workouts as hae_workouts
from services.common.convert import to_micros
from services.ingest.hae.dates import DateError, parse_date, parse_date_us
from services.ingest.records import (
    PayloadError,
    Rejected,
    SampleRecord,
    SampleRows,
    Skipped,
    SleepRecord,
    WorkoutRecord,
)
from services.tracking.activities.domain import WORKOUT_TYPES
from services.tracking.samples.catalog import CATALOG
from services.tracking.sleep.domain import SleepStage as TrackingSleepStage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOOLS = Path(__file__).resolve().parents[1] / "tools"  # the generators of large inputs
HAE = FIXTURES / "hae"
CHUNK_SIZES = (1024, 7)
UTC = dt.UTC


def feed(data: bytes, chunk_size: int) -> list:
    """Every record of a payload, with the SampleRows read row by row (as SampleRecords)."""
    return feed_chunks(data[i:i + chunk_size] for i in range(0, len(data), chunk_size))


def feed_chunks(chunks) -> list:
    """Every record of a payload given as these chunks, in order, read as feed() reads them."""
    p = HaeParser()
    out = []
    for chunk in chunks:
        out.extend(one_by_one(p.feed(chunk)))
    out.extend(one_by_one(p.close()))
    return out


def one_by_one(records) -> list:
    return [x for r in records for x in (r.records() if isinstance(r, SampleRows) else (r,))]


def item_index(record) -> int:
    """The index of the record's item in its metric's data (from its path)."""
    return int(record.path.split(".data[")[1].split("]")[0])


def error_of(body: bytes, chunk_size: int) -> PayloadError:
    """The PayloadError that feeding `body` in chunks (and closing) raises."""
    p = HaeParser()
    with pytest.raises(PayloadError) as e:
        for i in range(0, len(body), chunk_size):
            p.feed(body[i:i + chunk_size])
        p.close()
    return e.value


def load(name: str, chunk_size: int = 1024) -> list:
    return feed((HAE / name).read_bytes(), chunk_size)


def counts(records) -> dict[str, int]:
    return dict(collections.Counter(r.metric for r in records))


def of_metric(records, metric: str) -> list:
    return [r for r in records if r.metric == metric]


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# -- counts: one record per input item --------------------------------------------------------------

@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", ["v2_week_metric", "v2_day_imperial_12h_segments"])
def test_counts_per_metric_equal_the_fixture_counts(name, chunk_size):
    records = load(f"{name}.json", chunk_size)
    expected = json.loads((HAE / f"{name}.counts.json").read_text())
    assert counts(records) == expected
    # nothing in these fixtures is malformed or unsupported
    assert not [r for r in records if isinstance(r, (Skipped, Rejected))]


PAYLOADS = ["v2_week_metric.json", "v2_day_imperial_12h_segments.json", "v1_legacy_mixed.json",
            "batch/part-1.json", "batch/part-2.json"]


# Every fixture, the 266 KB week included, one byte at a time too (0.3 s for the week).
@pytest.mark.parametrize("chunk_size", [1, 7, 1024, 4096, 65536])
@pytest.mark.parametrize("name", PAYLOADS)
def test_chunk_boundaries_do_not_matter(name, chunk_size):
    data = (HAE / name).read_bytes()
    whole = feed(data, len(data))
    assert whole  # an empty parse would equal any other
    assert feed(data, chunk_size) == whole


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", PAYLOADS)
def test_random_cuts_do_not_matter(name, seed):
    data = (HAE / name).read_bytes()
    rng = random.Random(seed)
    cuts = [0]
    while cuts[-1] < len(data):
        cuts.append(cuts[-1] + rng.randint(1, rng.choice((3, 300, 20_000))))  # runs of tiny, small and big chunks
    chunks = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    assert b"".join(chunks) == data and len(chunks) > 1
    assert feed_chunks(chunks) == feed(data, len(data))


@pytest.mark.parametrize("name", ["v2_week_metric.json", "v2_day_imperial_12h_segments.json", "v1_legacy_mixed.json"])
def test_paths_point_at_the_input_items(name):
    payload = json.loads((HAE / name).read_text())
    for r in load(name):
        if r.metric == "workouts":
            i = int(r.path.removeprefix("$.data.workouts[").removesuffix("]"))
            assert payload["data"]["workouts"][i]
            continue
        if r.path.startswith("$.data.metrics["):
            head, tail = r.path.removeprefix("$.data.metrics[").split("].data[")
            item = payload["data"]["metrics"][int(head)]
            assert item["name"] == r.metric
            assert item["data"][int(tail.removesuffix("]"))] is not None
        else:
            key, i = r.path.removeprefix("$.data.").rstrip("]").split("[")
            assert payload["data"][key][int(i)] and key == r.metric


# -- what Tracking accepts ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["v2_week_metric.json", "v2_day_imperial_12h_segments.json", "v1_legacy_mixed.json"])
def test_samples_have_catalog_types_and_accepted_units(name):
    for r in load(name):
        if isinstance(r, SampleRecord):
            assert r.type in CATALOG, r
            assert r.unit in CATALOG[r.type].units, r
            assert CATALOG[r.type].convert(r.value, r.unit) is not None
            assert r.start_time.tzinfo is UTC and r.utc_offset_minutes is not None
        elif isinstance(r, WorkoutRecord):
            assert r.type in WORKOUT_TYPES
        elif isinstance(r, SleepRecord):
            for s in r.stages:
                assert s.stage in TrackingSleepStage.__members__


def test_the_mapping_table_only_names_catalog_types_and_units():
    for key, mapping in hae_metrics.all_mappings().items():
        assert mapping.type == key and key in CATALOG
        assert set(mapping.units) <= set(CATALOG[key].units), key
        assert mapping.default_unit in CATALOG[key].units, key
    for name, key in hae_metrics.mapping_table().items():
        assert key == "sleep" or key in CATALOG, name
    for variant, key in [("vo2max", "vo2_max"), ("vo2_max", "vo2_max"), ("heart_rate_variability", "hrv"),
                         ("heart_rate_variability_sdnn", "hrv"), ("weight_body_mass", "weight"),
                         ("dietary_water", "water"), ("blood_oxygen_saturation", "spo2"),
                         ("walking_running_distance", "distance"), ("basal_energy_burned", "basal_energy"),
                         ("apple_exercise_time", "exercise_minutes"), ("apple_stand_hour", "stand_hours")]:
        assert hae_metrics.mapping_for(variant).type == key


@pytest.mark.parametrize("type_key,unit,expected", [
    ("weight", "lb", "lb"), ("weight", "kg", "kg"), ("weight", "stone", "st"), ("water", "fl_oz_us", "fl_oz_us"),
    ("water", "ml", "ml"), ("water", "cup", "cup_us"), ("active_energy", "kJ", "kJ"),
    ("distance", "mi", "mi"), ("body_temperature", "ºF", "degF"), ("body_temperature", "degF", "degF"),
    ("blood_glucose", "mmol/L", "mmol/L"), ("vo2_max", "ml/(kg·min)", "ml/(kg·min)"), ("step_count", None, "count"),
    ("weight", "furlongs", None),
])
def test_locale_dependent_units_are_respelled_for_the_catalog(type_key, unit, expected):
    mapping = hae_metrics.all_mappings()[type_key]
    assert hae_metrics.normalize_unit(mapping, unit) == expected
    if expected is not None:
        assert expected in CATALOG[type_key].units


def test_workout_types_match_tracking():
    assert hae_workouts.WORKOUT_TYPES == WORKOUT_TYPES
    for name, key in [("Outdoor Run", "running"), ("Indoor Walk", "walking"), ("Outdoor Cycle", "cycling"),
                      ("Pool Swim", "swimming"), ("Traditional Strength Training", "strength_training"),
                      ("High Intensity Interval Training", "hiit"), ("Yoga", "yoga"), ("Hiking", "hiking"),
                      ("Stair Stepper", "stair_climbing"), ("Underwater Basket Weaving", "other"), ("", "other")]:
        assert hae_workouts.workout_type(name) == key
    assert "other" in WORKOUT_TYPES


# -- v2_week_metric ----------------------------------------------------------------------------------

def test_heart_rate_points_keep_min_avg_max():
    payload = json.loads((HAE / "v2_week_metric.json").read_text())
    source = next(m for m in payload["data"]["metrics"] if m["name"] == "heart_rate")["data"]
    hr = of_metric(load("v2_week_metric.json", 7), "heart_rate")
    assert len(hr) == len(source) == 2016
    for rec, item in zip(hr, source):
        assert isinstance(rec, SampleRecord) and rec.type == "heart_rate"
        assert (rec.min, rec.value, rec.max) == (item["Min"], item["Avg"], item["Max"])
        assert rec.source == "Apple Watch" and rec.unit == "count/min" and rec.utc_offset_minutes == 60
    assert hr[0].start_time == utc(2026, 2, 28, 23, 0)


def test_blood_pressure_is_one_record_with_systolic_and_diastolic():
    bp = of_metric(load("v2_week_metric.json"), "blood_pressure")
    assert len(bp) == 3
    assert (bp[0].type, bp[0].value, bp[0].value2, bp[0].unit) == ("blood_pressure", 112, 80, "mmHg")


def test_week_has_seven_nights_with_stages_and_four_workouts():
    records = load("v2_week_metric.json")
    payload = json.loads((HAE / "v2_week_metric.json").read_text())
    source = next(m for m in payload["data"]["metrics"] if m["name"] == "sleep_analysis")["data"]
    nights = of_metric(records, "sleep_analysis")
    assert len(nights) == 7
    for night, item in zip(nights, source):
        assert isinstance(night, SleepRecord)
        per = collections.Counter()
        for s in night.stages:
            per[s.stage] += (s.end_time - s.start_time).total_seconds()
        assert set(per) == {"CORE", "DEEP", "REM", "AWAKE"}
        for key in ("core", "deep", "rem", "awake"):
            assert per[key.upper()] == pytest.approx(item[key] * 3600, abs=1)
        assert night.start_time == parse_date(item["inBedStart"])[0]
        assert night.end_time == parse_date(item["inBedEnd"])[0]
        assert night.asleep_seconds == round(item["totalSleep"] * 3600)
        assert night.in_bed_seconds == round(item["inBed"] * 3600)
        assert night.utc_offset_minutes == 60 and night.source == "Apple Watch"
        assert all(night.start_time <= s.start_time < s.end_time <= night.end_time for s in night.stages)
    workouts = of_metric(records, "workouts")
    assert len(workouts) == 4
    for w, item in zip(workouts, payload["data"]["workouts"]):
        assert isinstance(w, WorkoutRecord) and w.type == "running" and w.name == "Outdoor Run"
        assert len(w.route) == len(item["route"]) and len(w.heart_rate_series) == len(item["heartRateData"])
        assert w.distance_m == pytest.approx(item["distance"]["qty"] * 1000)
        assert w.active_energy_kcal == item["activeEnergyBurned"]["qty"]
        assert (w.heart_rate_min, w.heart_rate_avg, w.heart_rate_max) == (118, 141, 163)
        p = w.heart_rate_series[0]
        assert (p.min_bpm, p.bpm, p.max_bpm) == (120, 138, 150)
        r = w.route[1]
        assert (r.latitude, r.longitude, r.altitude_m, r.speed_mps, r.course_deg, r.horizontal_accuracy_m) == \
            (52.5206, 13.4056, 35.0, 2.9, 90.0, 4.0)


# -- v2_day_imperial_12h_segments ----------------------------------------------------------------------

def test_imperial_units_are_kept_for_tracking_to_convert():
    records = load("v2_day_imperial_12h_segments.json", 7)
    (weight,) = of_metric(records, "weight_body_mass")
    assert (weight.type, weight.value, weight.unit) == ("weight", 157.97, "lb")
    assert CATALOG["weight"].convert(weight.value, weight.unit) == pytest.approx(71.653, abs=0.001)
    (water,) = of_metric(records, "dietary_water")
    assert (water.type, water.value, water.unit) == ("water", 73.1, "fl_oz_us")
    assert CATALOG["water"].convert(water.value, water.unit) == pytest.approx(2161.8, abs=0.1)
    energy = of_metric(records, "active_energy")
    assert {e.unit for e in energy} == {"kJ"} and energy[0].value == 225.94
    (w,) = of_metric(records, "workouts")
    assert w.distance_m == pytest.approx(3.589 * 1609.344)
    # 12-hour times with U+202F: 6:00:00 pm -0800
    assert w.start_time == utc(2026, 3, 2, 2, 0) and w.utc_offset_minutes == -480
    hr = of_metric(records, "heart_rate")
    assert hr[0].start_time == utc(2026, 3, 1, 8, 0) and hr[0].utc_offset_minutes == -480  # 12:00:00 am
    assert [r.start_time for r in hr] == [utc(2026, 3, 1, 8, 0) + dt.timedelta(minutes=5 * i) for i in range(288)]


def test_ten_sleep_segments_with_their_stages():
    segments = of_metric(load("v2_day_imperial_12h_segments.json", 7), "sleep_analysis")
    assert len(segments) == 10
    assert [s.stages[0].stage for s in segments] == \
        ["AWAKE", "CORE", "DEEP", "CORE", "REM", "CORE", "DEEP", "REM", "CORE", "AWAKE"]
    first = segments[0]
    assert first.start_time == utc(2026, 3, 1, 6, 14) and first.end_time == utc(2026, 3, 1, 6, 26, 13)
    assert first.utc_offset_minutes == -480 and first.source == "Apple Watch"
    for a, b in zip(segments, segments[1:]):
        assert a.end_time == b.start_time
    assert all(len(s.stages) == 1 and s.stages[0].start_time == s.start_time for s in segments)


# -- v1_legacy_mixed -----------------------------------------------------------------------------------

def test_legacy_payload():
    records = load("v1_legacy_mixed.json", 7)
    assert counts(records) == {"active_energy": 2, "vo2max": 1, "blood_glucose": 2, "sleep_analysis": 1,
                               "heart_rate": 1, "workouts": 1, "stateOfMind": 1}
    # "data": null is no items and no error
    assert not of_metric(records, "walking_running_distance")
    assert not [r for r in records if isinstance(r, Rejected)]
    energy = of_metric(records, "active_energy")
    kj = next(e for e in energy if e.value == 418.4)
    assert kj.unit == "kJ" and CATALOG["active_energy"].convert(kj.value, kj.unit) == pytest.approx(100.0)
    (vo2,) = of_metric(records, "vo2max")
    assert isinstance(vo2, SampleRecord) and vo2.type == "vo2_max" and vo2.value == 44.1
    glucose = of_metric(records, "blood_glucose")
    assert [(g.value, g.meal_context) for g in glucose] == [(92, 3), (131, 4)]
    (mind,) = of_metric(records, "stateOfMind")
    assert mind == Skipped("stateOfMind", "$.data.stateOfMind[0]", "UNSUPPORTED_METRIC")
    (night,) = of_metric(records, "sleep_analysis")
    assert night.start_time == utc(2025, 6, 1, 15, 5) and night.end_time == utc(2025, 6, 1, 22, 50)
    assert night.asleep_seconds == round(6.9 * 3600) and night.in_bed_seconds == round(7.6 * 3600)
    assert night.source == "Irvin’s Apple Watch" and night.utc_offset_minutes == 480
    assert [s.stage for s in night.stages] == ["ASLEEP"]
    (hr,) = of_metric(records, "heart_rate")
    assert (hr.min, hr.value, hr.max) == (51, 55.5, 61)
    (w,) = of_metric(records, "workouts")
    assert (w.type, w.name, w.steps, w.distance_m) == ("walking", "Outdoor Walk", 3210, pytest.approx(2410.0))
    assert (w.elevation_ascent_m, w.elevation_descent_m, w.active_energy_kcal) == (12.5, 11.0, 112.3)
    assert [(p.latitude, p.longitude, p.altitude_m) for p in w.route] == [(1.2834, 103.8607, 15.2),
                                                                            (1.2839, 103.8611, 15.9)]
    assert [p.bpm for p in w.heart_rate_series] == [101, 108]
    assert w.start_time == utc(2025, 6, 2, 10, 1) and w.utc_offset_minutes == 480


# -- batch ---------------------------------------------------------------------------------------------

def test_batch_parts_hold_fourteen_distinct_step_points():
    part1 = load("batch/part-1.json", 7)
    part2 = load("batch/part-2.json", 7)
    assert len(part1) == 8 and len(part2) == 9
    keys1 = {(r.type, r.start_time, r.source) for r in part1}
    keys2 = {(r.type, r.start_time, r.source) for r in part2}
    assert len(keys1 & keys2) == 3
    distinct = {(r.type, r.start_time, r.source): r.value for r in part1 + part2}
    assert len(distinct) == 14 and sum(distinct.values()) == 1575
    headers = json.loads((HAE / "batch" / "headers.json").read_text())
    assert headers["session-id"]


# -- dates ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,instant,offset", [
    ("2026-03-01 07:00:00 +0100", utc(2026, 3, 1, 6, 0), 60),
    ("2026-03-01 12:00:00\u202fam -0800", utc(2026, 3, 1, 8, 0), -480),
    ("2026-03-01 12:30:00\u202fpm -0800", utc(2026, 3, 1, 20, 30), -480),
    ("2026-03-01 1:08:08\u202fam -0800", utc(2026, 3, 1, 9, 8, 8), -480),
    ("2026-02-28 10:14:00\u202fPM -0800", utc(2026, 3, 1, 6, 14), -480),
    ("2026-03-01 7:00:00 am -0800", utc(2026, 3, 1, 15, 0), -480),
    ("2026-03-01 7:00:00\u00a0p.m. +0530", utc(2026, 3, 1, 13, 30), 330),
    ("2025-06-02T12:00:00+08:00", utc(2025, 6, 2, 4, 0), 480),
    ("2025-06-02T12:00:00Z", utc(2025, 6, 2, 12, 0), 0),
    ("2025-06-02T12:00:00.250-03:30", utc(2025, 6, 2, 15, 30, 0, 250000), -210),
    ("2026-03-29 03:00:00 +0200", utc(2026, 3, 29, 1, 0), 120),
])
def test_dates(text, instant, offset):
    assert parse_date(text) == (instant, offset)
    assert parse_date(text)[0].tzinfo is UTC
    assert parse_date_us(text) == (to_micros(instant), offset)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-03-01 07:00:00", "2026-02-30 07:00:00 +0100",
                                  "2026-03-01 13:00:00 pm +0100", "2026-03-01 25:00:00 +0100", None, 17,
                                  "2026-03-01 07:00:60 +0100", "2026-03-01 07:60:00 +0100",
                                  "2026-03-01 07:00:00 +2400", "2026-13-01 07:00:00 +0100",
                                  "2026-03-01 07:00:00  0100", "2026-03-01x07:00:00 +0100",
                                  "0001-01-01 00:00:00 +0100", "9999-12-31 23:59:59 -0100",
                                  "0001-01-01 0:00:00 am +0100"])
def test_bad_dates(text):
    with pytest.raises(DateError):
        parse_date(text)
    with pytest.raises(DateError):
        parse_date_us(text)


def test_microsecond_dates_agree_with_datetimes_across_a_year_of_hours_and_offsets():
    start = dt.datetime(2025, 12, 31, 22, 59, 59)
    for i in range(0, 400 * 24, 7):
        local = start + dt.timedelta(hours=i, seconds=i % 61)
        for offset in ("+0000", "-0800", "+0545", "+1400", "-0000"):
            text = f"{local:%Y-%m-%d %H:%M:%S} {offset}"
            instant, minutes = parse_date(text)
            assert parse_date_us(text) == (to_micros(instant), minutes), text


# -- per-item problems -----------------------------------------------------------------------------------

def payload(metrics=None, **arrays) -> bytes:
    data = {}
    if metrics is not None:
        data["metrics"] = metrics
    data.update(arrays)
    return json.dumps({"data": data}, ensure_ascii=False).encode()


def test_malformed_items_are_rejected_with_path_and_reason_and_the_rest_kept():
    body = payload([
        {"name": "step_count", "units": "count", "data": [
            {"date": "2026-03-01 07:00:00 +0100", "qty": 10},
            {"date": "not a date", "qty": 11},
            {"date": "2026-03-01 09:00:00 +0100"},
            {"date": "2026-03-01 10:00:00 +0100", "qty": "lots"},
            {"date": "2026-03-01 11:00:00 +0100", "qty": True},
            17,
            {"date": "2026-03-01 12:00:00 +0100", "qty": 12},
        ]},
        {"name": "heart_rate", "units": "count/min", "data": [{"date": "2026-03-01 07:00:00 +0100", "Min": 50}]},
        {"name": "blood_pressure", "units": "mmHg", "data": [{"date": "2026-03-01 07:00:00 +0100", "systolic": 120}]},
        {"name": "sleep_analysis", "units": "hr", "data": [{"startDate": "x", "endDate": "y", "value": "Core"}]},
    ], workouts=[{"name": "Yoga", "start": "2026-03-01 07:00:00 +0100"}, "nope"])
    for chunk in (7, 4096):
        records = feed(body, chunk)
        assert counts(records) == {"step_count": 7, "heart_rate": 1, "blood_pressure": 1, "sleep_analysis": 1,
                                   "workouts": 2}
        steps = sorted(of_metric(records, "step_count"), key=item_index)
        assert [type(r).__name__ for r in steps] == ["SampleRecord", "Rejected", "Rejected", "Rejected",
                                                     "Rejected", "Rejected", "SampleRecord"]
        assert [(r.path, r.reason) for r in steps if isinstance(r, Rejected)] == [
            ("$.data.metrics[0].data[1].date", "INVALID_DATE"),
            ("$.data.metrics[0].data[2].qty", "MISSING_VALUE"),
            ("$.data.metrics[0].data[3].qty", "INVALID_VALUE"),
            ("$.data.metrics[0].data[4].qty", "INVALID_VALUE"),
            ("$.data.metrics[0].data[5]", "INVALID_ITEM"),
        ]
        assert steps[-1].path == "$.data.metrics[0].data[6]" and steps[-1].value == 12
        assert of_metric(records, "heart_rate")[0].reason == "MISSING_VALUE"
        assert of_metric(records, "blood_pressure")[0].path == "$.data.metrics[2].data[0].diastolic"
        assert of_metric(records, "sleep_analysis")[0].reason == "INVALID_DATE"
        w = of_metric(records, "workouts")
        assert [(r.path, r.reason) for r in w] == [("$.data.workouts[0].end", "MISSING_VALUE"),
                                                   ("$.data.workouts[1]", "INVALID_ITEM")]
        assert all(r.message for r in records if isinstance(r, Rejected))


@pytest.mark.parametrize("huge", ["1e400", "-1e400", "1" + "0" * 400])
def test_numbers_beyond_a_float_are_rejected_per_item_not_a_crash(huge):
    """1e400 reads as infinity and an integer of 400 digits does not fit a float: both are
    INVALID_VALUE on their item, in series, blood pressure and workouts alike."""
    date = '"date": "2026-03-01 07:00:00 +0100"'
    body = ('{"data": {"metrics": ['
            f'{{"name": "step_count", "units": "count", "data": [{{{date}, "qty": {huge}}}, {{{date}, "qty": 3}}]}},'
            f'{{"name": "heart_rate", "units": "bpm", "data": [{{{date}, "Min": 1.0, "Avg": {huge}, "Max": 2.0}}]}},'
            f'{{"name": "blood_pressure", "units": "mmHg", "data": [{{{date}, "systolic": {huge}, "diastolic": 80}}]}}],'
            '"workouts": [{"name": "Run", "start": "2026-03-01 07:00:00 +0100", "end": "2026-03-01 08:00:00 +0100",'
            f' "activeEnergyBurned": {huge}}}]}}}}').encode()
    records = feed(body, 4096)
    rejected = sorted((r.path, r.reason) for r in records if isinstance(r, Rejected))
    assert rejected == [("$.data.metrics[0].data[0].qty", "INVALID_VALUE"), ("$.data.metrics[1].data[0]", "INVALID_VALUE"),
                        ("$.data.metrics[2].data[0]", "INVALID_VALUE"),
                        ("$.data.workouts[0].activeEnergyBurned", "INVALID_VALUE")]
    assert [r.value for r in records if isinstance(r, SampleRecord)] == [3.0]


def test_unknown_and_unmapped_metrics_are_skipped_per_item_never_dropped():
    body = payload([
        {"name": "made_up_metric", "units": "zz", "data": [{"date": "2026-03-01 07:00:00 +0100", "qty": 1}] * 3},
        {"name": "insulin_delivery", "units": "IU", "data": [
            {"date": "2026-03-01 07:00:00 +0100", "qty": 4, "reason": "Bolus"}]},
        {"name": "handwashing", "units": "s", "data": [
            {"date": "2026-03-01 07:00:00 +0100", "qty": 20, "value": "Complete"}]},
        {"name": "weight_body_mass", "units": "furlongs", "data": [{"date": "2026-03-01 07:00:00 +0100", "qty": 1}]},
        {"name": "blood_glucose", "units": "mmol<180.1558800000541>/L", "data": [
            {"date": "2026-03-01 07:00:00 +0100", "qty": 5.4, "mealTime": "Unspecified"}]},
        {"name": "dietary_water", "units": "mL", "data": None},
    ])
    records = feed(body, 5)
    assert counts(records) == {"made_up_metric": 3, "insulin_delivery": 1, "handwashing": 1,
                               "weight_body_mass": 1, "blood_glucose": 1}
    assert [r.reason for r in of_metric(records, "made_up_metric")] == ["UNSUPPORTED_METRIC"] * 3
    assert of_metric(records, "made_up_metric")[2].path == "$.data.metrics[0].data[2]"
    assert of_metric(records, "insulin_delivery")[0].reason == "UNSUPPORTED_METRIC"
    assert of_metric(records, "handwashing")[0].reason == "UNSUPPORTED_METRIC"
    assert of_metric(records, "weight_body_mass")[0].reason == "UNSUPPORTED_UNIT"
    (g,) = of_metric(records, "blood_glucose")
    assert (g.unit, g.meal_context) == ("mmol<180.1558800000541>/L", 0)


def test_newer_arrays_are_skipped_per_item():
    items = [{"start": "2025-06-02T12:00:00+08:00", "nested": {"a": [1, 2, {"b": None}]}}, 3, None, "x"]
    body = payload([], stateOfMind=items, symptoms=items[:1], medications=items[:2], ecg=items[:1],
                   heartRateNotifications=items[:1], cycleTracking=[], somethingNew=items[:1],
                   somethingNull=None)
    records = feed(body, 3)
    assert counts(records) == {"stateOfMind": 4, "symptoms": 1, "medications": 2, "ecg": 1,
                               "heartRateNotifications": 1, "somethingNew": 1}
    assert all(isinstance(r, Skipped) and r.reason == "UNSUPPORTED_METRIC" for r in records)
    assert [r.path for r in of_metric(records, "stateOfMind")] == [f"$.data.stateOfMind[{i}]" for i in range(4)]


def test_reordered_keys_give_the_same_records():
    original = json.loads((HAE / "v1_legacy_mixed.json").read_text())

    def reverse(v):
        if isinstance(v, dict):
            return {k: reverse(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [reverse(x) for x in v]
        return v

    reordered = json.dumps(reverse(original), indent=3).encode()
    a = load("v1_legacy_mixed.json")
    b = feed(reordered, 11)
    key = lambda r: r.path  # noqa: E731 - arrays are in their order, objects are not
    assert sorted(a, key=key) == sorted(b, key=key)


@pytest.mark.parametrize("name", ["v2_week_metric.json", "v2_day_imperial_12h_segments.json",
                                  "v1_legacy_mixed.json", "batch/part-1.json", "batch/part-2.json"])
def test_sorted_keys_give_the_same_records(name):
    # sorted keys put every metric's "data" before its "name" and "units"
    data = (HAE / name).read_bytes()
    resorted = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
    array = lambda r: r.path.split("[")[0]  # noqa: E731 - sorting "data"'s keys reorders its arrays, not their items
    for chunk_size in (1024, 7):
        assert sorted(feed(resorted, chunk_size), key=array) == sorted(load(name), key=array)


def test_items_before_name_keep_their_order_and_paths():
    body = (b'{"data": {"metrics": [{"data": [{"date": "2026-03-01 07:00:00 +0100", "qty": 1}, 5], "name": "step_count",'
            b' "data": [{"date": "2026-03-01 08:00:00 +0100", "qty": 2}], "units": "count",'
            b' "data": [{"date": "2026-03-01 09:00:00 +0100", "qty": 3}]}]}}')
    records = feed(body, 5)
    samples = [r for r in records if isinstance(r, SampleRecord)]
    assert [(r.path, r.value) for r in samples] == [
        ("$.data.metrics[0].data[0]", 1.0), ("$.data.metrics[0].data[2]", 2.0), ("$.data.metrics[0].data[3]", 3.0)]
    (rejected,) = [r for r in records if not isinstance(r, SampleRecord)]
    assert (rejected.path, rejected.reason) == ("$.data.metrics[0].data[1]", "INVALID_ITEM")


def test_other_top_level_fields_are_ignored_and_data_fields_reported():
    body = b'{"meta": {"x": [1, {"y": 2}]}, "version": 2, "data": {"metrics": null, "workouts": null, "note": "hi"}}'
    assert feed(body, 4) == [Skipped("note", "$.data.note", "UNSUPPORTED_METRIC")]


# -- whole-payload problems ------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_size", [1, 7, 1 << 20])
def test_invalid_json_says_where(chunk_size):
    prefix = b'{"data": {"metrics": [{"name": "step_count", "units": "count", "data": [{"date": '
    body = prefix + b'"2026-03-01 07:00:00 +0100", "qty": 1},, {"qty": 2}]}]}}'
    bad = body.index(b",,") + 1
    error = error_of(body, chunk_size)
    assert error.reason == "INVALID_JSON"
    assert f"at byte {bad}" in error.message
    assert error.path.startswith("$.data.metrics[0]")


def test_invalid_json_far_into_a_large_payload_says_where():
    data = (HAE / "v2_week_metric.json").read_bytes()
    at = 200_000
    body = data[:at] + b"@" + data[at + 1:]
    with pytest.raises(PayloadError) as e:
        feed(body, 65536)
    assert e.value.reason == "INVALID_JSON" and f"at byte {at}" in e.value.message


@pytest.mark.parametrize("chunk_size", [7, 65536])
def test_truncated_body(chunk_size):
    data = (HAE / "v2_week_metric.json").read_bytes()
    cut = data[: len(data) // 2]
    p = HaeParser()
    got = []
    with pytest.raises(PayloadError) as e:
        for i in range(0, len(cut), chunk_size):
            got.extend(one_by_one(p.feed(cut[i:i + chunk_size])))
        p.close()
    assert e.value.reason == "TRUNCATED"
    assert f"at byte {len(cut)}" in e.value.message
    assert e.value.path.startswith("$.data.")
    assert got  # the items before the cut came out as they were read


@pytest.mark.parametrize("body,reason,path", [
    (b"", "EMPTY_BODY", "$"),
    (b"   \n ", "EMPTY_BODY", "$"),
    (b"[1, 2]", "NOT_AN_OBJECT", "$"),
    (b'"data"', "NOT_AN_OBJECT", "$"),
    (b"42", "NOT_AN_OBJECT", "$"),
    (b"null", "NOT_AN_OBJECT", "$"),
    (b'{"metrics": []}', "MISSING_DATA", "$"),
    (b"{}", "MISSING_DATA", "$"),
    (b'{"data": []}', "DATA_NOT_AN_OBJECT", "$.data"),
    (b'{"data": null}', "DATA_NOT_AN_OBJECT", "$.data"),
    (b'{"data": "x"}', "DATA_NOT_AN_OBJECT", "$.data"),
    (b'{"data": {"metrics": {}}}', "NOT_AN_ARRAY", "$.data.metrics"),
    (b'{"data": {"workouts": 3}}', "NOT_AN_ARRAY", "$.data.workouts"),
    (b'{"data": {}} {"data": {}}', "INVALID_JSON", "$"),
    (b'{"data": {}}}', "INVALID_JSON", "$"),
    (b'{"data": {"metrics": [tru]}}', "INVALID_JSON", "$.data.metrics"),
    (b'\xff\xfe{"data": {}}', "INVALID_JSON", "$"),
])
def test_wrong_shapes_raise_payload_error_with_a_position(body, reason, path):
    for chunk_size in (1, 3, 1024):
        error = error_of(body, chunk_size)
        assert error.reason == reason, (body, chunk_size, error)
        assert error.path.startswith(path), (body, error)
        assert "byte " in error.message
        assert str(error).startswith(error.path)


def test_the_smallest_valid_payloads():
    assert feed(b'{"data": {}}', 1) == []
    assert feed(b'{"data": {"metrics": [], "workouts": []}}', 2) == []
    assert feed(b'{"data": {"metrics": [{"name": "step_count", "units": "count", "data": null}]}}', 5) == []


# -- memory: flat whatever the size ------------------------------------------------------------------------

def test_large_payload_streams_with_bounded_pending_records(tmp_path):
    out = tmp_path / "big.json"
    gen = subprocess.run([sys.executable, str(TOOLS / "make_hae_payload.py"), "--days", "7", "--hr-every", "6",
                          "--out", str(out)], check=True, capture_output=True, text=True)
    expected = json.loads(gen.stderr.strip().splitlines()[-1])
    assert expected["heart_rate"] == 100_800
    size = out.stat().st_size
    chunk_size = 65536
    parser = HaeParser()
    seen = collections.Counter()
    hr_ok = True
    max_per_feed = 0
    tracemalloc.start()
    try:
        with out.open("rb") as fh:
            while chunk := fh.read(chunk_size):
                records = one_by_one(parser.feed(chunk))
                # the smallest item ({"date": ..., "qty": 1}) is 45 bytes: a 64 KB chunk completes < 1,640
                max_per_feed = max(max_per_feed, len(records))
                for r in records:
                    seen[r.metric] += 1
                    if r.metric == "heart_rate":
                        hr_ok &= r.min is not None and r.max is not None and r.min <= r.value <= r.max
                del records
        for r in one_by_one(parser.close()):
            seen[r.metric] += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dict(seen) == expected
    assert hr_ok
    assert 0 < max_per_feed <= math.ceil(chunk_size / 40)
    # the payload is ~10 MB and 100,800 points: holding them (dicts or records) would take far more
    assert size > 9_000_000
    assert peak < 6_000_000, peak


@pytest.mark.parametrize("units", ["given", "missing"])
def test_data_before_name_is_kept_on_disk_not_in_memory(tmp_path, units, monkeypatch):
    """Sorted keys: the heart-rate points come before the metric's name and units. The text is
    held on disk while reading ahead for them; with no units to find, the points are spilled."""
    original = tmp_path / "big.json"
    gen = subprocess.run([sys.executable, str(TOOLS / "make_hae_payload.py"), "--days", "7", "--hr-every", "6",
                          "--out", str(original)], check=True, capture_output=True, text=True)
    expected = json.loads(gen.stderr.strip().splitlines()[-1])
    assert expected["heart_rate"] == 100_800
    payload = json.loads(original.read_bytes())
    if units == "missing":
        (heart_rate,) = [m for m in payload["data"]["metrics"] if m["name"] == "heart_rate"]
        del heart_rate["units"]  # its default is the unit the payload has: the records are the same
    out = tmp_path / "sorted.json"
    out.write_text(json.dumps(payload, sort_keys=True, separators=(",", ":")))
    from services.ingest.hae import parser as hae_parser

    spilled = collections.Counter()
    spill = hae_parser.HaeParser._spill
    monkeypatch.setattr(hae_parser.HaeParser, "_spill", lambda self, m, item: (spilled.update([m.at]),
                                                                                spill(self, m, item)))
    parser = HaeParser()
    seen = collections.Counter()
    held = batch = 0
    tracemalloc.start()
    try:
        with out.open("rb") as fh:
            while chunk := fh.read(65536):
                records = parser.feed(chunk)
                with_records = tracemalloc.get_traced_memory()[0]
                for r in records:
                    seen[r.metric] += len(r) if isinstance(r, SampleRows) else 1
                del records
                now = tracemalloc.get_traced_memory()[0]
                held, batch = max(held, now), max(batch, with_records - now)
        for r in parser.close():
            seen[r.metric] += len(r) if isinstance(r, SampleRows) else 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dict(seen) == expected
    assert sum(spilled.values()) == (100_800 if units == "missing" else 0)
    # between feeds the parser holds nothing of the 100,800 points it has read but cannot map yet
    # (held in a list, they took ~60 MB)
    assert held < 6_000_000, held
    # The heart-rate records can only be made once "name" is read, right after the last point: they
    # all come out of that one feed(), read a block at a time as it is iterated. The peak stays small.
    assert peak - batch < 10_000_000, (peak, batch)


def test_v2_workout_with_recovery_series_and_locale_units():
    workout = {
        "id": "w1", "name": "Underwater Basket Weaving", "start": "2026-03-01 6:00:00\u202fpm -0800",
        "end": "2026-03-01 6:30:00\u202fpm -0800", "duration": 1800,
        "activeEnergy": [{"date": "2026-03-01 6:00:00\u202fpm -0800", "qty": 41.84, "units": "kJ"},
                         {"date": "2026-03-01 6:01:00\u202fpm -0800", "qty": 41.84, "units": "kJ"}],
        "stepCount": [{"date": "2026-03-01 6:00:00\u202fpm -0800", "qty": 100, "units": "count"},
                      {"date": "2026-03-01 6:01:00\u202fpm -0800", "qty": 120, "units": "count"}],
        "walkingAndRunningDistance": [{"date": "2026-03-01 6:00:00\u202fpm -0800", "qty": 0.5, "units": "mi"}],
        "elevationUp": {"qty": 100, "units": "ft"}, "elevationDown": {"qty": 50, "units": "ft"},
        "temperature": {"qty": 68, "units": "degF"}, "humidity": {"qty": 40, "units": "%"},
        "intensity": {"qty": 6.1, "units": "kcal/hr·kg"},
        "heartRateData": [{"date": "2026-03-01 6:00:00\u202fpm -0800", "qty": 100, "units": "count/min"},
                          {"date": "bad", "qty": 101}],
        "heartRateRecovery": [{"date": "2026-03-01 6:31:00\u202fpm -0800", "Min": 110, "Avg": 115, "Max": 120},
                              {"date": "2026-03-01 6:32:00\u202fpm -0800", "Min": 95, "Avg": 98, "Max": 101}],
        "route": [{"lat": 37.0, "lon": -122.0, "timestamp": "2026-03-01 6:00:00\u202fpm -0800"},
                  {"lat": 137.0, "lon": -122.0, "timestamp": "2026-03-01 6:00:10\u202fpm -0800"}],
    }
    (w,) = feed(payload(workouts=[workout]), 9)
    assert isinstance(w, WorkoutRecord)
    assert w.type == "other" and w.name == "Underwater Basket Weaving"
    assert w.active_energy_kcal == pytest.approx(20.0)
    assert w.steps == 220 and w.distance_m == pytest.approx(804.672)
    assert w.elevation_ascent_m == pytest.approx(30.48) and w.elevation_descent_m == pytest.approx(15.24)
    assert w.temperature_c == pytest.approx(20.0) and w.humidity_percent == 40
    assert [p.bpm for p in w.heart_rate_series] == [100] and w.extra["heart_rate_points_dropped"] == 1
    assert w.extra["heart_rate_recovery_first_bpm"] == 115 and w.extra["heart_rate_recovery_last_bpm"] == 98
    assert len(w.route) == 1 and w.extra["route_points_dropped"] == 1
    assert w.extra["intensity"] == 6.1 and w.duration_s == 1800 and "duration_seconds" not in w.extra
    assert w.start_time == utc(2026, 3, 2, 2, 0) and w.utc_offset_minutes == -480


def test_an_item_larger_than_many_chunks_is_read_whole_once_it_has_arrived(monkeypatch):
    """A workout with a 20,000-point route (~1.5 MB) fed in 4 KB chunks: it comes out of a feed
    that has all of it, with every point, and is not tried again at every chunk on its way (the
    text it needs must double between tries, so the work stays linear in its size)."""
    from services.ingest.hae import parser as hae_parser

    start = dt.datetime(2026, 3, 1, 7, tzinfo=UTC)
    route = [{"lat": 52.5 + i * 1e-5, "lon": 13.4, "timestamp": (start + dt.timedelta(seconds=i)).strftime(
        "%Y-%m-%d %H:%M:%S +0000")} for i in range(20_000)]
    steps = [{"date": (start + dt.timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S +0000"), "qty": 5}
             for i in range(3000)]
    body = json.dumps({"data": {"metrics": [{"name": "step_count", "units": "count", "data": steps}],
                                "workouts": [{"name": "Outdoor Run", "start": "2026-03-01 07:00:00 +0000",
                                              "end": "2026-03-01 12:40:00 +0000", "route": route}]}}).encode()
    assert len(body) > 1_400_000
    tries = []
    real_scan = hae_parser._scan

    def counted(text, at):
        if text.startswith('{"name": "Outdoor Run"', at):
            tries.append(len(text) - at)
        return real_scan(text, at)

    monkeypatch.setattr(hae_parser, "_scan", counted)
    p = HaeParser()
    per_feed = []
    for i in range(0, len(body), 4096):
        per_feed.append([type(r).__name__ for r in one_by_one(p.feed(body[i:i + 4096]))])
    per_feed.append([type(r).__name__ for r in one_by_one(p.close())])
    came_at = next(k for k, names in enumerate(per_feed) if "WorkoutRecord" in names)
    assert came_at >= (len(body) - 100) // 4096  # not before its last bytes were fed
    assert sum(names.count("SampleRecord") for names in per_feed) == 3000
    assert 1 < len(tries) <= 20  # a few tries, not one per chunk (~360)
    (w,) = of_metric(feed(body, 65536), "workouts")
    assert len(w.route) == 20_000 and w.route[-1].latitude == pytest.approx(52.5 + 19_999e-5)


def test_byte_positions_count_bytes_after_text_that_is_not_ascii():
    """Errors say where in bytes: characters before the error that take several bytes in UTF-8
    (the app's U+202F, a source named in another script) count as their bytes."""
    prefix = ('{"data": {"metrics": [{"name": "step_count", "units": "count", "data": [{"date": '
              '"2026-03-01 7:00:00\u202fam +0100", "qty": 1, "source": "Ада’s Watch"}, ').encode()
    body = prefix + b'@]}]}}'
    for chunk_size in (3, 4096):
        error = error_of(body, chunk_size)
        assert error.reason == "INVALID_JSON"
        assert f"at byte {len(prefix)}" in error.message, error.message
