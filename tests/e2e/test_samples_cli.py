"""`healthmesh samples` and `healthmesh aggregate` against the running mesh: filters by type,
source and window, dates read as local midnight of the terminal's TZ (an end date includes its
day), paging past one page, tables with aligned columns, and --json."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.conftest import auth, new_user
from tests.e2e.test_cli import run, run_json
from tests.e2e.test_rest_insight_alerts import write

pytestmark = pytest.mark.e2e

DAY = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
HEART_RATES = 1205  # more than one page (1000)


def iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def stored(mesh):
    """A user with a heart rate a minute from 2026-03-01T00:00Z to 20:04Z (at UTC+01:00), steps
    from a watch and a phone in the same hour, and a blood pressure."""
    import httpx

    with httpx.Client(base_url=mesh.http, timeout=60) as http:
        session = new_user(http)
        headers = auth(session)
        hr = [{"type": "heart_rate", "startTime": iso(DAY + dt.timedelta(minutes=i)), "utcOffsetMinutes": 60,
               "value": 60 + i % 40, "unit": "count/min", "source": "Strap"} for i in range(HEART_RATES)]
        write(http, headers, *hr)
        write(http, headers,
              {"type": "step_count", "startTime": "2026-03-01T08:00:00Z", "utcOffsetMinutes": 60, "value": 1200,
               "unit": "count", "source": "Apple Watch"},
              {"type": "step_count", "startTime": "2026-03-01T08:10:00Z", "utcOffsetMinutes": 60, "value": 900,
               "unit": "count", "source": "iPhone"},
              {"type": "blood_pressure", "startTime": "2026-03-01T07:00:00Z", "utcOffsetMinutes": 60, "value": 121,
               "value2": 79, "unit": "mm[Hg]", "source": "Cuff"})
    return session["accessToken"]


def test_samples_newest_first_as_an_aligned_table(mesh, stored, tmp_path):
    out = run(mesh, tmp_path, "samples", "--type", "heart_rate", "--limit", "3", token=stored)
    assert out.returncode == 0, out.stderr
    header, *rows = out.stdout.splitlines()
    assert header.split() == ["start", "type", "value", "unit", "source"]
    last = DAY + dt.timedelta(minutes=HEART_RATES - 1, hours=1)  # shown at the sample's own offset
    assert [r.split()[:3] for r in rows] == [[f"{last - dt.timedelta(minutes=k):%Y-%m-%d}",
                                              f"{last - dt.timedelta(minutes=k):%H:%M:%S}", "+0100"] for k in range(3)]
    assert {r.index("Strap") for r in rows} == {header.index("source")}  # columns line up
    assert "--limit 0 shows them all" in out.stderr
    pressure = run(mesh, tmp_path, "samples", "--type", "blood_pressure", token=stored)
    assert "121/79" in pressure.stdout and "Cuff" in pressure.stdout


def test_samples_page_through_everything_as_one_json_array(mesh, stored, tmp_path):
    found = run_json(mesh, tmp_path, "samples", "--type", "heart_rate", "--limit", "0", token=stored)
    assert len(found) == HEART_RATES and len({s["name"] for s in found}) == HEART_RATES
    starts = [s["startTime"] for s in found]
    assert starts == sorted(starts, reverse=True)
    oldest = run_json(mesh, tmp_path, "samples", "--type", "heart_rate", "--limit", "2", "--oldest-first", token=stored)
    assert [s["startTime"] for s in oldest] == ["2026-03-01T00:00:00Z", "2026-03-01T00:01:00Z"]


@pytest.mark.parametrize("tz, expected", [
    ("UTC", HEART_RATES),  # 2026-03-01 00:00Z to 2026-03-02 00:00Z: every one
    ("Asia/Tokyo", 15 * 60),  # local midnight at UTC+9: 2026-02-28T15:00Z to 2026-03-01T15:00Z
    ("America/New_York", HEART_RATES - 5 * 60),  # UTC-5: from 2026-03-01T05:00Z
])
def test_a_date_is_local_midnight_of_the_terminals_zone_and_an_end_date_includes_its_day(mesh, stored, tmp_path, tz,
                                                                                          expected):
    found = run_json(mesh, tmp_path, "samples", "--type", "heart_rate", "--start", "2026-03-01", "--end", "2026-03-01",
                     "--limit", "0", token=stored, TZ=tz)
    assert len(found) == expected


def test_timestamps_and_source_filter(mesh, stored, tmp_path):
    window = run_json(mesh, tmp_path, "samples", "--start", "2026-03-01T10:00:00Z", "--end",
                      "2026-03-01T11:05:00+01:00", token=stored)
    assert [s["startTime"] for s in window] == [f"2026-03-01T10:0{m}:00Z" for m in range(4, -1, -1)]
    phone = run_json(mesh, tmp_path, "samples", "--source", "iPhone", token=stored)
    assert [(s["type"], s["value"]) for s in phone] == [("step_count", 900)]
    nothing = run(mesh, tmp_path, "samples", "--type", "weight", token=stored)
    assert nothing.returncode == 0 and nothing.stdout == "no samples\n"
    unknown = run(mesh, tmp_path, "samples", "--type", "heart_beat", token=stored)
    assert unknown.returncode == 1 and "  type: " in unknown.stderr and unknown.stdout == ""


def test_aggregate_prints_a_table_of_buckets_and_json(mesh, stored, tmp_path):
    out = run(mesh, tmp_path, "aggregate", "--type", "step_count", "--interval", "day", "--start", "2026-03-01",
              "--end", "2026-03-01", token=stored, TZ="UTC")
    assert out.returncode == 0, out.stderr
    title, header, row = out.stdout.splitlines()
    assert title == "step_count in {count}, SUM per day"
    assert header.split() == ["start", "count", "sum", "min", "avg", "max", "sources"]
    assert row.split()[:3] == ["2026-03-01", "1", "1,200"] and row.endswith("Apple Watch")  # the watch wins the hour
    assert header.index("sources") == row.index("Apple Watch")
    hourly = run_json(mesh, tmp_path, "aggregate", "--type", "heart_rate", "--interval", "HOUR", "--start",
                      "2026-03-01T00:00:00Z", "--end", "2026-03-01T03:00:00Z", token=stored)
    assert [b["count"] for b in hourly["buckets"]] == [60, 60, 60] and hourly["unit"]
    empty = run(mesh, tmp_path, "aggregate", "--type", "weight", "--start", "2026-03-01", "--end", "2026-03-02",
                token=stored)
    assert empty.returncode == 0 and empty.stdout.splitlines()[-1] == "no samples in that window"
    missing = run(mesh, tmp_path, "aggregate", "--type", "weight", token=stored)
    assert missing.returncode == 2 and "--start" in missing.stderr
