"""The Apple Health export parser (services/ingest/apple): the fixture export gives exactly its
counted elements as records, mapped to Tracking's types and units; chunked feeding, bare XML,
broken files and a bigger generated export."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import io
import json
import re
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from services.ingest.apple import AppleHealthParser, ExportError, find_export_xml, parse_export, read_gpx
from services.ingest.apple import types as T
from services.ingest.records import (
    PayloadError,
    ProfileRecord,
    Rejected,
    SampleRecord,
    Skipped,
    SleepRecord,
    WorkoutRecord,
)
from services.tracking.activities.domain import WORKOUT_TYPES
from services.tracking.samples.catalog import CATALOG
from services.tracking.sleep.domain import SleepStage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ZIP = FIXTURES / "apple_health" / "export_3days.zip"
COUNTS = json.loads((FIXTURES / "apple_health" / "export_3days.counts.json").read_text())
GENERATOR = FIXTURES.parent / "tools" / "make_apple_health_export.py"
XML_MEMBER = "apple_health_export/export.xml"
GPX_MEMBER = "apple_health_export/workout-routes/route_2026-02-02_6.30pm.gpx"
PST = dt.timezone(dt.timedelta(hours=-8))
WATCH, PHONE = "Anna\u2019s Apple Watch", "Anna\u2019s iPhone"


@pytest.fixture(scope="module")
def records():
    return list(parse_export(ZIP))


@pytest.fixture(scope="module")
def xml_bytes() -> bytes:
    with zipfile.ZipFile(ZIP) as z:
        return z.read(XML_MEMBER)


def of(records, metric, kind=None):
    return [r for r in records if r.metric == metric and (kind is None or isinstance(r, kind))]


def feed_all(data: bytes, size: int, **kw) -> list:
    parser = AppleHealthParser(**kw)
    out = []
    for i in range(0, len(data), size):
        out += parser.feed(data[i:i + size])
    return out + parser.close()


def export(body: str, doctype: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}<HealthData locale="en_US">\n'
            f' <ExportDate value="2026-03-02 00:00:00 +0100"/>\n{body}\n</HealthData>\n').encode()


def rec(rtype: str, value: str, unit: str | None = "count", start="2026-03-01 08:00:00 +0100",
        end="2026-03-01 08:00:00 +0100", inner: str = "", source="Phone") -> str:
    u = f' unit="{unit}"' if unit is not None else ""
    head = (f' <Record type="{rtype}" sourceName="{source}"{u} creationDate="{end}" startDate="{start}" '
            f'endDate="{end}" value="{value}"')
    return head + (f">{inner}</Record>" if inner else "/>")


# -- the fixture export ------------------------------------------------------------------------------

def test_one_record_per_counted_element(records):
    counts = collections.Counter(r.metric for r in records)
    assert counts.pop("Me") == 1
    assert dict(counts) == COUNTS
    paths = [r.path for r in records]
    assert len(set(paths)) == len(paths)
    assert records[0].path == "/HealthData/Me[1]"
    assert records[1].path == "/HealthData/Record[1]"
    assert not [r for r in records if isinstance(r, Rejected)]
    assert [r.metric for r in records if isinstance(r, Skipped)] == ["ActivitySummary"] * 3


def test_samples_use_catalog_types_and_units(records):
    samples = [r for r in records if isinstance(r, SampleRecord)]
    assert len(samples) == sum(COUNTS[k] for k in COUNTS if k.startswith(("HKQuantity", "HKCorrelation")))
    for s in samples:
        assert s.type in CATALOG, s
        assert CATALOG[s.type].convert(s.value, s.unit) is not None, s
        assert s.start_time.tzinfo is not None and s.utc_offset_minutes == -480


def test_dates_offset_and_source(records):
    hr = of(records, "HKQuantityTypeIdentifierHeartRate")[0]
    assert hr.type == "heart_rate" and hr.value == 91 and hr.unit == "count/min" and hr.source == WATCH
    assert hr.start_time == dt.datetime(2026, 2, 1, 0, 0, tzinfo=PST) == hr.end_time
    assert hr.utc_offset_minutes == -480
    steps = of(records, "HKQuantityTypeIdentifierStepCount")[0]
    assert steps.end_time - steps.start_time == dt.timedelta(minutes=50)


def test_weight_stays_in_pounds(records):
    weights = of(records, "HKQuantityTypeIdentifierBodyMass")
    assert [(w.type, w.value, w.unit) for w in weights][0] == ("weight", 154.1, "lb")
    assert {w.unit for w in weights} == {"lb"} and weights[-1].value == 152.6
    assert CATALOG["weight"].convert(154.1, "lb") == pytest.approx(69.898, abs=1e-3)


def test_spo2_is_a_fraction_with_percent_unit(records):
    spo2 = of(records, "HKQuantityTypeIdentifierOxygenSaturation")
    assert [(s.type, s.unit) for s in spo2] == [("spo2", "%")] * 3
    assert spo2[0].value == 0.97 and spo2[-1].value == 0.96
    assert CATALOG["spo2"].convert(spo2[0].value, spo2[0].unit) == pytest.approx(97)


def test_glucose_meal_context(records):
    glucose = of(records, "HKQuantityTypeIdentifierBloodGlucose")
    assert [(g.type, g.unit, g.meal_context) for g in glucose] == [("blood_glucose", "mg/dL", 3)] * 3  # preprandial
    assert glucose[0].value == 95


def test_steps_from_watch_and_phone_both_kept(records):
    steps = of(records, "HKQuantityTypeIdentifierStepCount")
    by_source = collections.Counter(s.source for s in steps)
    assert by_source == {WATCH: 45, PHONE: 45}
    first_hour = [s for s in steps if s.start_time == dt.datetime(2026, 2, 1, 7, tzinfo=PST)]
    assert len(first_hour) == 2 and {s.source for s in first_hour} == {WATCH, PHONE}
    assert [s.value for s in first_hour if s.source == WATCH] == [832]


def test_blood_pressure_is_one_record_with_value2(records):
    bp = of(records, "HKCorrelationTypeIdentifierBloodPressure")
    assert len(bp) == 2
    first = bp[0]
    assert (first.type, first.value, first.value2, first.unit) == ("blood_pressure", 124, 71, "mmHg")
    assert first.path == "/HealthData/Correlation[1]" and first.source == PHONE
    assert first.start_time == dt.datetime(2026, 2, 1, 8, tzinfo=PST)
    assert (bp[1].value, bp[1].value2) == (114, 75)
    assert not [r for r in records if "BloodPressureSystolic" in r.metric or "Diastolic" in r.metric]


def test_sleep_stages(records):
    sleep = of(records, "HKCategoryTypeIdentifierSleepAnalysis")
    assert all(isinstance(s, SleepRecord) and len(s.stages) == 1 for s in sleep)
    stages = [s.stages[0].stage for s in sleep]
    assert stages[:8] == ["IN_BED", "CORE", "DEEP", "CORE", "REM", "AWAKE", "CORE", "REM"]
    assert collections.Counter(stages) == {"IN_BED": 3, "CORE": 9, "DEEP": 3, "REM": 6, "AWAKE": 3}
    in_bed = sleep[0]
    assert (in_bed.start_time, in_bed.end_time) == (dt.datetime(2026, 1, 31, 22, 57, tzinfo=PST),
                                                     dt.datetime(2026, 2, 1, 6, 57, tzinfo=PST))
    for s in sleep:
        assert (s.stages[0].start_time, s.stages[0].end_time) == (s.start_time, s.end_time)
        assert s.source == WATCH and s.utc_offset_minutes == -480
    assert set(stages) <= set(SleepStage.__members__)


def test_workout_statistics_and_route(records):
    (w,) = of(records, "Workout")
    assert isinstance(w, WorkoutRecord)
    assert (w.type, w.name, w.source) == ("running", "Running", WATCH)
    assert (w.start_time, w.end_time) == (dt.datetime(2026, 2, 2, 18, 30, tzinfo=PST),
                                         dt.datetime(2026, 2, 2, 19, 24, tzinfo=PST))
    assert w.distance_m == pytest.approx(8640) and w.active_energy_kcal == pytest.approx(567)
    assert (w.heart_rate_min, w.heart_rate_avg, w.heart_rate_max) == (118, 142, 168)
    assert w.extra == {"duration_seconds": 54 * 60}
    with zipfile.ZipFile(ZIP) as z:
        gpx = z.read(GPX_MEMBER).decode()
    assert len(w.route) == gpx.count("<trkpt") == 648
    p = w.route[0]
    assert (p.latitude, p.longitude, p.altitude_m) == (52.52, 13.405, 34.0)
    assert (p.speed_mps, p.course_deg, p.horizontal_accuracy_m) == (2.9, 88.0, 4.0)
    assert p.time == dt.datetime(2026, 2, 3, 2, 30, tzinfo=dt.UTC) == w.start_time
    assert w.route[-1].time == dt.datetime(2026, 2, 3, 3, 23, 55, tzinfo=dt.UTC)


def test_me_gives_birth_date_and_sex(records):
    (me,) = [r for r in records if isinstance(r, ProfileRecord)]
    assert (me.metric, me.birth_date, me.sex) == ("Me", dt.date(1986, 4, 12), "FEMALE")


def test_bare_export_xml(tmp_path, records, xml_bytes):
    path = tmp_path / "export.xml"
    path.write_bytes(xml_bytes)
    bare = list(parse_export(path))
    # A bare export.xml has no workout-routes/ beside it: everything else is the same.
    no_route = [dataclasses.replace(r, route=()) if isinstance(r, WorkoutRecord) else r for r in records]
    assert bare == no_route
    with path.open("rb") as fh:
        assert list(parse_export(fh)) == bare
    assert list(parse_export(io.BufferedReader(io.BytesIO(xml_bytes)))) == bare  # an upload stream


def test_chunked_feeding_gives_the_same_records(xml_bytes):
    whole = feed_all(xml_bytes, len(xml_bytes))
    assert len(whole) == sum(COUNTS.values()) + 1
    assert feed_all(xml_bytes, 7) == whole
    assert feed_all(xml_bytes, 64 * 1024) == whole


def test_export_date_and_locale(xml_bytes):
    parser = AppleHealthParser()
    parser.feed(xml_bytes)
    parser.close()
    assert parser.export_date == dt.datetime(2026, 2, 4, tzinfo=PST) and parser.locale == "en_US"


# -- the mapping table -------------------------------------------------------------------------------

def test_mapping_table_matches_trackings_catalog():
    for hk, qt in T.QUANTITY_TYPES.items():
        assert qt.key in CATALOG, hk
        for unit in qt.hk_units:
            assert T.UNIT_ALIASES.get(unit, unit) in CATALOG[qt.key].units, (hk, unit)
    for key in (T.BLOOD_PRESSURE_KEY, T.MINDFUL_KEY, T.STAND_HOUR_KEY):
        assert key in CATALOG
    assert set(T.WORKOUT_TYPES.values()) <= WORKOUT_TYPES
    assert set(T.SLEEP_STAGES.values()) <= set(SleepStage.__members__)
    for alias in T.UNIT_ALIASES.values():
        assert any(alias in t.units for t in CATALOG.values()), alias


def test_per_item_mapping_and_rejections():
    Q, C = "HKQuantityTypeIdentifier", "HKCategoryTypeIdentifier"
    bp_meta = '<MetadataEntry key="HKBloodGlucoseMealTime" value="2"/>'
    body = "\n".join([
        rec(Q + "BloodGlucose", "5.4", "mmol&lt;180.1558800000541&gt;/L", inner=bp_meta),    # 1
        rec(Q + "HeartRate", "sixty", "count/min"),                                           # 2 rejected
        rec(Q + "HeartRate", "60", "count/min", start="01/03/2026 08:00"),                    # 3 rejected
        rec(Q + "HeartRate", "nan", "count/min"),                                             # 4 rejected
        rec(Q + "UVExposure", "3"),                                                            # 5 skipped
        rec(Q + "BloodPressureSystolic", "120", "mmHg"),                                      # 6 skipped
        rec(Q + "AppleStandTime", "5", "min"),                                                 # 7 skipped
        rec(C + "AppleStandHour", "HKCategoryValueAppleStandHourStood", None),                 # 8
        rec(C + "MindfulSession", "HKCategoryValueNotApplicable", None, end="2026-03-01 08:10:00 +0100"),  # 9
        rec(C + "SleepAnalysis", "HKCategoryValueSleepAnalysisSomethingNew", None),            # 10 skipped
        rec(C + "SleepAnalysis", "HKCategoryValueSleepAnalysisAsleepUnspecified", None),       # 11
        rec(Q + "BodyTemperature", "98.6", "degF"),                                            # 12
        rec(Q + "VO2Max", "41.2", "mL/min·kg"),                                                # 13
        rec(Q + "DietaryCaffeine", "95", "µg"),                                                # 14 alias
        ' <Record sourceName="x" value="1"/>',                                                 # 15 rejected
        ' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Cuff" '
        'startDate="2026-03-01 09:00:00 +0100" endDate="2026-03-01 09:00:00 +0100">'
        + rec(Q + "BloodPressureSystolic", "120", "mmHg") + "</Correlation>",                 # Correlation 1
        ' <Correlation type="HKCorrelationTypeIdentifierFood" startDate="2026-03-01 09:00:00 +0100" '
        'endDate="2026-03-01 09:00:00 +0100"/>',                                               # Correlation 2
        ' <ClinicalRecord type="HKClinicalTypeIdentifierLabResultRecord" identifier="x"/>',
        ' <Me HKCharacteristicTypeIdentifierDateOfBirth="12.04.1986" HKCharacteristicTypeIdentifierBiologicalSex='
        '"HKBiologicalSexMale"/>',
    ])
    out = feed_all(export(body), 1000)
    by_path = {r.path: r for r in out}
    assert len(out) == len(by_path) == 19

    g = by_path["/HealthData/Record[1]"]
    assert (g.type, g.value, g.unit, g.meal_context) == ("blood_glucose", 5.4, "mmol<180.1558800000541>/L", 4)
    for i, reason in ((2, T.INVALID_VALUE), (3, T.INVALID_DATE), (4, T.INVALID_VALUE), (15, T.MISSING_TYPE)):
        r = by_path[f"/HealthData/Record[{i}]"]
        assert isinstance(r, Rejected) and r.reason == reason, r
        assert r.message
    assert by_path["/HealthData/Record[2]"].metric == Q + "HeartRate"
    assert by_path["/HealthData/Record[15]"].metric == "Record"
    for i, reason in ((5, T.UNSUPPORTED_TYPE), (6, T.PART_OF_CORRELATION), (7, T.UNSUPPORTED_TYPE),
                      (10, T.UNSUPPORTED_VALUE)):
        r = by_path[f"/HealthData/Record[{i}]"]
        assert isinstance(r, Skipped) and r.reason == reason, r
    stand = by_path["/HealthData/Record[8]"]
    assert (stand.type, stand.value, stand.unit) == ("stand_hours", 1.0, "count")
    mindful = by_path["/HealthData/Record[9]"]
    assert (mindful.type, mindful.value, mindful.unit) == ("mindful_minutes", 10.0, "min")
    assert by_path["/HealthData/Record[11]"].stages[0].stage == "ASLEEP"
    temp = by_path["/HealthData/Record[12]"]
    assert (temp.type, temp.unit) == ("body_temperature", "degF")
    assert CATALOG["body_temperature"].convert(temp.value, temp.unit) == pytest.approx(37.0)
    assert by_path["/HealthData/Record[13]"].type == "vo2_max"
    assert by_path["/HealthData/Record[14]"].unit == "mcg"
    for r in out:
        if isinstance(r, SampleRecord):
            assert CATALOG[r.type].convert(r.value, r.unit) is not None, r
            assert r.utc_offset_minutes == 60
    bp = by_path["/HealthData/Correlation[1]"]
    assert isinstance(bp, Rejected) and bp.reason == T.MISSING_VALUE and "diastolic" in bp.message
    assert bp.metric == T.BLOOD_PRESSURE
    food = by_path["/HealthData/Correlation[2]"]
    assert (food.metric, food.reason) == ("HKCorrelationTypeIdentifierFood", T.UNSUPPORTED_TYPE)
    assert by_path["/HealthData/ClinicalRecord[1]"] == Skipped("ClinicalRecord", "/HealthData/ClinicalRecord[1]",
                                                                T.UNSUPPORTED_TYPE)
    me = by_path["/HealthData/Me[1]"]
    assert isinstance(me, Rejected) and me.reason == T.INVALID_DATE


def test_workout_variants():
    body = """
 <Workout workoutActivityType="HKWorkoutActivityTypeTraditionalStrengthTraining" duration="45" durationUnit="min"
   totalDistance="3.1" totalDistanceUnit="mi" totalEnergyBurned="1000" totalEnergyBurnedUnit="kJ"
   sourceName="Watch" startDate="2026-03-01 18:00:00 +0100" endDate="2026-03-01 18:45:00 +0100">
  <MetadataEntry key="HKElevationAscended" value="1234 cm"/>
  <MetadataEntry key="HKWeatherTemperature" value="68 degF"/>
  <MetadataEntry key="HKWeatherHumidity" value="5500 %"/>
  <WorkoutEvent type="HKWorkoutEventTypePause" date="2026-03-01 18:10:00 +0100"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierStepCount" sum="4200" unit="count"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierRunningPower" average="250" unit="W"/>
  <WorkoutRoute><FileReference path="/workout-routes/missing.gpx"/></WorkoutRoute>
 </Workout>
 <Workout workoutActivityType="HKWorkoutActivityTypeSomethingNew" startDate="2026-03-02 18:00:00 +0100"
   endDate="2026-03-02 18:30:00 +0100"/>
 <Workout workoutActivityType="HKWorkoutActivityTypeRunning" startDate="yesterday" endDate="today"/>"""
    asked = []
    w, new, bad = feed_all(export(body), 50, route_loader=lambda ref: asked.append(ref))
    assert asked == ["/workout-routes/missing.gpx"]
    assert (w.type, w.name) == ("strength_training", "Traditional Strength Training")
    assert w.distance_m == pytest.approx(3.1 * 1609.344) and w.active_energy_kcal == pytest.approx(1000 / 4.184)
    assert w.steps == 4200 and w.elevation_ascent_m == pytest.approx(12.34)
    assert w.temperature_c == pytest.approx(20.0) and w.humidity_percent == 55.0
    assert w.extra == {"RunningPower average (W)": 250.0, "duration_seconds": 2700.0, "route_files_dropped": 1}
    assert w.route == () and w.heart_rate_avg is None
    assert (new.type, new.name, new.distance_m) == ("other", "Something New", None)
    assert isinstance(bad, Rejected) and (bad.metric, bad.reason) == ("Workout", T.INVALID_DATE)


# -- files that cannot be read -----------------------------------------------------------------------

def test_zip_without_export_xml(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
        z.writestr("apple_health_export/workout-routes/r.gpx", "<gpx/>")
    with pytest.raises(PayloadError) as e:
        list(parse_export(path))
    assert e.value.reason == T.NO_EXPORT_XML and e.value.path == "export.zip"
    assert "export_cda.xml" in e.value.message


def test_export_xml_found_anywhere_in_the_zip(tmp_path, xml_bytes):
    assert find_export_xml(["a/b/export.xml", "x/export.xml", "export_cda.xml"]) == "x/export.xml"
    assert find_export_xml(["__MACOSX/apple_health_export/export.xml"]) is None
    path = tmp_path / "renamed.zip"
    with zipfile.ZipFile(ZIP) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        dst.writestr("Export/export.xml", xml_bytes)
        dst.writestr("Export/workout-routes/route_2026-02-02_6.30pm.gpx", src.read(GPX_MEMBER))
    (w,) = [r for r in parse_export(path) if isinstance(r, WorkoutRecord)]
    assert len(w.route) == 648


def test_truncated_xml(tmp_path, xml_bytes):
    cut = xml_bytes[:300_017]
    path = tmp_path / "export.xml"
    path.write_bytes(cut)
    got = []
    with pytest.raises(PayloadError) as e:
        for r in parse_export(path):
            got.append(r)
    err = e.value
    assert isinstance(err, ExportError) and err.reason == T.TRUNCATED
    lines = cut.decode("utf-8", "replace").count("\n") + 1
    assert err.line == lines and err.column >= 1
    assert err.path == f"export.xml:{err.line}:{err.column}"
    assert f"line {err.line}, column {err.column}" in err.message
    assert len(got) > 500  # what came before the cut was already out


def test_truncated_zip(tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(ZIP.read_bytes()[:15_000])
    with pytest.raises(PayloadError) as e:
        list(parse_export(path))
    assert e.value.reason == T.INVALID_ZIP


@pytest.mark.parametrize("content, reason, where", [
    (b'{"data": {"metrics": []}}', T.INVALID_XML, (1, 1)),
    (b"name,value\nsteps,5\n", T.INVALID_XML, (1, 1)),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", T.INVALID_XML, (1, 1)),
    (b"", T.EMPTY, (1, 1)),
    (b'<?xml version="1.0"?>\n<gpx version="1.1"></gpx>', T.NOT_AN_EXPORT, (2, 1)),
    (export(' <Record type="X">\n <Record/>\n</HealthData>'), T.INVALID_XML, (6, 3)),
])
def test_not_an_export(tmp_path, content, reason, where):
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    with pytest.raises(PayloadError) as e:
        list(parse_export(path))
    err = e.value
    assert err.reason == reason, err
    assert (err.line, err.column) == where and err.path == f"upload.bin:{where[0]}:{where[1]}"
    assert f"line {where[0]}" in err.message


def test_entities_are_refused():
    laughs = ('<!DOCTYPE HealthData [\n <!ENTITY lol "lol">\n <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n')
    parser = AppleHealthParser()
    with pytest.raises(PayloadError) as e:
        parser.feed(export(rec("HKQuantityTypeIdentifierStepCount", "&lol2;"), laughs))
    assert e.value.reason == T.FORBIDDEN_ENTITY and e.value.line == 3
    with pytest.raises(PayloadError):  # the parser stays failed
        parser.feed(b"<x/>")
    external = '<!DOCTYPE HealthData [\n <!ENTITY ext SYSTEM "file:///etc/passwd">\n]>\n'
    with pytest.raises(PayloadError) as e:
        feed_all(export(rec("HKQuantityTypeIdentifierStepCount", "&ext;"), external), 64)
    assert e.value.reason == T.FORBIDDEN_ENTITY
    # export.xml's own DOCTYPE (element declarations only) and the predefined entities pass.
    own = '<!DOCTYPE HealthData [\n<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout)*)>\n]>\n'
    (r,) = feed_all(export(rec("HKQuantityTypeIdentifierStepCount", "5", source="A &amp; B &#8217;"), own), 3)
    assert r.source == "A & B \u2019"


def test_gpx_reader_skips_points_without_time_and_refuses_entities():
    gpx = (b'<?xml version="1.0"?><gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
           b'<trkpt lat="1.5" lon="2.5"><time>2026-03-01T08:00:00Z</time></trkpt>'
           b'<trkpt lat="1.6" lon="2.6"></trkpt><trkpt lat="x" lon="2.6"><time>2026-03-01T08:00:05Z</time></trkpt>'
           b'</trkseg></trk></gpx>')
    (p,), dropped = read_gpx(io.BytesIO(gpx), chunk_size=5)
    assert dropped == 2
    assert (p.latitude, p.longitude, p.altitude_m) == (1.5, 2.5, None)
    with pytest.raises(ValueError):
        read_gpx(io.BytesIO(b'<!DOCTYPE gpx [<!ENTITY a "b">]><gpx>&a;</gpx>'))
    with pytest.raises(ValueError):
        read_gpx(io.BytesIO(b"<gpx><trk>"))


# -- a bigger export: records come out as the bytes go in, memory stays flat -------------------------

def generate(tmp_path: Path, days: int, hr_every: int) -> tuple[Path, dict]:
    out = tmp_path / f"export_{days}d.zip"
    done = subprocess.run([sys.executable, str(GENERATOR), "--days", str(days), "--hr-every", str(hr_every),
                           "--out", str(out)], capture_output=True, text=True, check=True)
    return out, json.loads(done.stderr.strip().splitlines()[-1])


def stream_counts(path: Path) -> tuple[collections.Counter, int, int]:
    """Feeds export.xml out of the zip in 64 KB chunks, keeping nothing but counts."""
    counts: collections.Counter = collections.Counter()
    most = chunks = 0
    with zipfile.ZipFile(path) as z, z.open(XML_MEMBER) as xml:
        parser = AppleHealthParser(XML_MEMBER, route_loader=lambda ref: ((), 0))
        while chunk := xml.read(64 * 1024):
            out = parser.feed(chunk)
            chunks += 1
            # Every 64 KB holds many whole elements: each chunk completes some, and none are held back.
            assert out or chunks == 1
            most = max(most, len(out))
            counts.update(r.metric for r in out)
        counts.update(r.metric for r in parser.close())
    return counts, most, chunks


def test_bigger_export_streams_in_flat_memory(tmp_path):
    small, small_counts = generate(tmp_path, 2, 120)
    big, big_counts = generate(tmp_path, 16, 120)

    tracemalloc.start()
    try:
        counts, most, chunks = stream_counts(small)
        small_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        counts_big, most_big, chunks_big = stream_counts(big)
        big_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert counts.pop("Me") == 1 and dict(counts) == small_counts
    assert counts_big.pop("Me") == 1 and dict(counts_big) == big_counts
    assert chunks_big > 6 * chunks
    assert max(most, most_big) < 1000  # bounded by what one chunk can hold
    # Eight times the data, about the same peak: nothing grows with the file.
    assert big_peak < 1.5 * small_peak + 256 * 1024, (small_peak, big_peak)

    workouts = [r for r in parse_export(big) if isinstance(r, WorkoutRecord)]
    assert len(workouts) == big_counts["Workout"] and all(w.route and w.heart_rate_avg == 142 for w in workouts)
    assert all(re.fullmatch(r"/HealthData/Workout\[\d+\]", w.path) for w in workouts)
