"""Oura API v2 documents as Tracking's records: pure functions, no I/O.

- heartrate rows `{"bpm", "source", "timestamp"}`: one heart_rate sample each, whatever the source
  (awake, rest, sleep, workout: Tracking has one heart_rate series; the source is Oura's context,
  not a device).
- daily_activity `{"day", "steps", "active_calories", "timestamp"}`: a step_count and an
  active_energy sample over the local day (midnight to midnight at the offset of `timestamp`),
  so a day that grows between syncs is the same natural key with a new value: an update.
- sleep `{"id", "bedtime_start", "bedtime_end", "sleep_phase_5_min", ...}`: one sleep session,
  its stages from the 5-minute phase string (1 deep, 2 light, 3 REM, 4 awake), runs merged.
A document that cannot be read raises BadDocument; the caller counts it as rejected.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from services.device.sync_domain import PulledSample, PulledSleep, SleepStage

PHASES = {"1": "DEEP", "2": "LIGHT", "3": "REM", "4": "AWAKE"}
PHASE = dt.timedelta(minutes=5)


class BadDocument(ValueError):
    """A row the vendor sent that does not say what it should; `reason` is UPPER_SNAKE."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def _time(value: object, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise BadDocument("INVALID_TIME", f"{field} is not a time")
    try:
        at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadDocument("INVALID_TIME", f"{field} is not an ISO 8601 time") from None
    if at.tzinfo is None:  # Oura gives offsets; a bare time is taken as UTC rather than local
        at = at.replace(tzinfo=dt.UTC)
    return at


def _offset_minutes(at: dt.datetime) -> int:
    return int(at.utcoffset().total_seconds() // 60)


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadDocument("INVALID_VALUE", f"{field} is not a number")
    return float(value)


def heart_rate(row: dict) -> PulledSample:
    """Oura stamps heart rate in UTC, which says nothing of where the user was: the offset is left
    to Tracking (the user's time zone), unlike daily activity and sleep, which carry the local one."""
    at = _time(row.get("timestamp"), "timestamp")
    return PulledSample("heart_rate", at, at, None, _number(row.get("bpm"), "bpm"), "/min")


def daily_activity(row: dict) -> list[PulledSample]:
    """The day's steps and active calories; a field Oura left out is not sent (not a zero)."""
    stamp = _time(row.get("timestamp"), "timestamp")
    try:
        day = dt.date.fromisoformat(row.get("day") or "")
    except (TypeError, ValueError):
        raise BadDocument("INVALID_DAY", "day is not a YYYY-MM-DD date") from None
    start = dt.datetime.combine(day, dt.time(), stamp.tzinfo)
    end = start + dt.timedelta(days=1)
    out = []
    for field, type_, unit in (("steps", "step_count", "{count}"), ("active_calories", "active_energy", "kcal")):
        if row.get(field) is not None:
            out.append(PulledSample(type_, start, end, _offset_minutes(stamp), _number(row[field], field), unit))
    return out


def stages(phases: str, start: dt.datetime, end: dt.datetime) -> list[SleepStage]:
    """Runs of one phase as stage periods from `start`, 5 minutes a character, the last one cut at
    `end`; unknown characters end a run and are left out."""
    periods: list[SleepStage] = []
    run_start, run_phase = 0, ""
    for i, phase in enumerate(phases + "\0"):
        if phase == run_phase:
            continue
        if run_phase in PHASES:
            begin, finish = start + run_start * PHASE, min(start + i * PHASE, end)
            if finish > begin:
                periods.append(SleepStage(PHASES[run_phase], begin, finish))
        run_start, run_phase = i, phase
    return periods


def sleep(row: dict) -> PulledSleep:
    vendor_id = row.get("id")
    if not isinstance(vendor_id, str) or not vendor_id:
        raise BadDocument("MISSING_ID", "the sleep period has no id")
    start = _time(row.get("bedtime_start"), "bedtime_start")
    end = _time(row.get("bedtime_end"), "bedtime_end")
    if end <= start:
        raise BadDocument("INVALID_TIME", "bedtime_end is not after bedtime_start")
    phases = row.get("sleep_phase_5_min") or ""
    if not isinstance(phases, str):
        raise BadDocument("INVALID_STAGES", "sleep_phase_5_min is not a string")
    # (No score: a sleep period's own score is in Oura's daily_sleep, not here.)
    return PulledSleep(vendor_id, start, end, _offset_minutes(start), stages(phases, start, end))


def read_all(rows: Iterable[dict], read) -> tuple[list, list[tuple[int, str, str]]]:
    """Each row read with `read`; the rows that could not be, as (index, reason, message)."""
    good, bad = [], []
    for i, row in enumerate(rows):
        try:
            item = read(row) if isinstance(row, dict) else None
            if item is None:
                raise BadDocument("INVALID_DOCUMENT", "the row is not an object")
            good.extend(item) if isinstance(item, list) else good.append(item)
        except BadDocument as exc:
            bad.append((i, exc.reason, exc.message))
    return good, bad
