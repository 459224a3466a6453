"""Oura API v2 documents into Tracking's records (services/device/oura/mapping.py), on the
recorded responses in tests/fixtures/oura; and a sync's window and counts (sync_domain.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from services.device.oura import mapping
from services.device.sync_domain import MAX_ERRORS, SyncCounts, window_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "oura"
CEST = dt.timezone(dt.timedelta(hours=2))


def rows(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text())["data"]


def test_every_heart_rate_row_is_a_heart_rate_sample_whatever_its_source():
    page = rows("heartrate_page1.json") + rows("heartrate_page2.json")
    samples, bad = mapping.read_all(page, mapping.heart_rate)
    assert {r["source"] for r in page[:6]} == {"awake", "rest", "sleep", "workout"}
    assert [s.value for s in samples] == [71, 64, 55, 52, 128, 80]
    assert all(s.type == "heart_rate" and s.unit == "/min" and s.start == s.end for s in samples)
    assert samples[0].start == dt.datetime(2025, 6, 1, 21, 0, tzinfo=dt.UTC)
    assert samples[0].utc_offset_minutes is None  # UTC stamps: the user's time zone decides the local day
    assert bad == [(6, "INVALID_VALUE", "bpm is not a number")]  # the row with "bpm": null


def test_a_day_of_activity_is_steps_and_active_energy_from_local_midnight_to_midnight():
    samples, bad = mapping.read_all(rows("daily_activity.json"), mapping.daily_activity)
    assert bad == []
    steps, energy = samples[0], samples[1]
    assert (steps.type, steps.value, steps.unit) == ("step_count", 9321, "{count}")
    assert (energy.type, energy.value, energy.unit) == ("active_energy", 412, "kcal")
    assert steps.start == dt.datetime(2025, 6, 1, tzinfo=CEST) and steps.end == dt.datetime(2025, 6, 2, tzinfo=CEST)
    assert steps.utc_offset_minutes == 120
    assert [s.type for s in samples] == ["step_count", "active_energy"] * 2


def test_a_field_oura_left_out_is_not_sent_as_zero():
    samples = mapping.daily_activity({"day": "2025-06-03", "timestamp": "2025-06-03T04:00:00+02:00", "steps": 10})
    assert [(s.type, s.value) for s in samples] == [("step_count", 10)]


def test_the_night_becomes_a_session_with_merged_stages_that_add_up_to_its_phases():
    (night,), bad = mapping.read_all(rows("sleep.json"), mapping.sleep)
    assert bad == []
    assert night.start == dt.datetime(2025, 6, 1, 23, 10, tzinfo=CEST)
    assert night.end == dt.datetime(2025, 6, 2, 6, 55, tzinfo=CEST) and night.utc_offset_minutes == 120
    assert [s.stage for s in night.stages] == ["AWAKE", "LIGHT", "DEEP", "LIGHT", "REM", "AWAKE", "LIGHT", "DEEP",
                                               "REM", "LIGHT", "AWAKE"]
    assert night.stages[0].start == night.start and night.stages[-1].end == night.end
    assert all(a.end == b.start for a, b in zip(night.stages, night.stages[1:]))  # no gaps, no overlaps
    seconds = {k: sum((s.end - s.start).total_seconds() for s in night.stages if s.stage == k)
               for k in ("DEEP", "LIGHT", "REM", "AWAKE")}
    assert seconds == {"DEEP": 16 * 300, "LIGHT": 51 * 300, "REM": 20 * 300, "AWAKE": 6 * 300}


def test_stages_are_cut_at_the_end_of_the_night_and_unknown_phases_are_left_out():
    start = dt.datetime(2025, 6, 1, 23, 0, tzinfo=dt.UTC)
    periods = mapping.stages("11x22", start, start + dt.timedelta(minutes=22))
    assert [(p.stage, p.start - start, p.end - start) for p in periods] == [
        ("DEEP", dt.timedelta(0), dt.timedelta(minutes=10)),
        ("LIGHT", dt.timedelta(minutes=15), dt.timedelta(minutes=22))]


def test_unreadable_documents_are_rejected_one_by_one_with_a_reason():
    good = rows("sleep.json")[0]
    docs = ["not an object", {**good, "bedtime_end": good["bedtime_start"]}, {**good, "id": ""},
            {**good, "bedtime_start": "yesterday"}, good]
    nights, bad = mapping.read_all(docs, mapping.sleep)
    assert len(nights) == 1
    assert [(i, reason) for i, reason, _ in bad] == [(0, "INVALID_DOCUMENT"), (1, "INVALID_TIME"), (2, "MISSING_ID"),
                                                     (3, "INVALID_TIME")]


def test_a_first_sync_covers_backfill_days_and_a_later_one_starts_an_overlap_before_the_last():
    now = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    assert window_for(now, None, 7, 6 * hour).start == now - dt.timedelta(days=7)
    assert window_for(now, None, 0, 6 * hour).start == now - dt.timedelta(days=30)  # 0 means 30
    last = now - 2 * hour
    assert window_for(now, last, 7, 6 * hour).start == last - 6 * hour
    assert window_for(now, now - dt.timedelta(days=90), 7, 6 * hour).start == now - dt.timedelta(days=7)
    asked = now - dt.timedelta(days=2)
    assert window_for(now, last, 7, 6 * hour, asked).start == asked
    assert window_for(now, last, 7, 6 * hour).end == now


def test_counts_index_errors_over_the_whole_sync_and_keep_the_first_hundred():
    counts = SyncCounts()
    counts.add(3, 1, 0, [(1, "OUT_OF_RANGE", "bpm 900")])
    counts.add(0, 0, 2, [(0, "UNKNOWN_TYPE", "x")])
    assert (counts.accepted, counts.duplicate, counts.updated, counts.rejected) == (3, 1, 2, 2)
    assert counts.errors == [(1, "OUT_OF_RANGE", "bpm 900"), (5, "UNKNOWN_TYPE", "x")]
    counts.add(0, 0, 0, [(i, "BAD", "") for i in range(150)])
    assert counts.rejected == 152 and len(counts.errors) == MAX_ERRORS
