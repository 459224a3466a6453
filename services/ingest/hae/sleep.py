"""sleep_analysis items -> SleepRecord, one record per item.

Three shapes, told apart per item:

- aggregated, app 6.6.2 and later: {"date": "2026-03-01", "totalSleep", "asleep", "core", "deep",
  "rem", "awake", "inBed" (hours), "sleepStart", "sleepEnd", "inBedStart", "inBedEnd", "source"};
- aggregated, before 6.6.2: {"date", "asleep", "inBed", "sleepStart", "sleepEnd", "inBedStart",
  "inBedEnd", "sleepSource", "inBedSource"} (no stages);
- stage segments (the "don't aggregate" setting): {"startDate", "endDate", "qty" (hours),
  "value": "Core" | "Deep" | "REM" | "Awake" | "In Bed" | "Asleep", "source"}.

An aggregated night says how long each stage lasted, not when. records.SleepStage needs times, so
the stage totals become blocks laid end to end from sleepStart (core, deep, rem, awake): the
durations, and so every figure Tracking derives, are exact; the order within the night is not.
asleep_seconds and in_bed_seconds carry the app's own totals (totalSleep or asleep, and inBed),
which Tracking keeps as the night's figures: the window (start and end) need not add up to them. The
app writes 0 for a total it has no data for (no in-bed source): that is no total. A segment is no
total of the app's; its night's figures come from its stages.
"""

from __future__ import annotations

import datetime as dt

from services.ingest.records import Record, Rejected, SleepRecord, SleepStage, Skipped

from .dates import DateError, parse_date
from .metrics import INVALID_DATE, INVALID_ITEM, INVALID_VALUE, MISSING_VALUE, number

UNSUPPORTED_SLEEP_STAGE = "UNSUPPORTED_SLEEP_STAGE"

SEGMENT_STAGES = {
    "core": "CORE", "asleepcore": "CORE", "light": "CORE",
    "deep": "DEEP", "asleepdeep": "DEEP",
    "rem": "REM", "asleeprem": "REM",
    "awake": "AWAKE",
    "inbed": "IN_BED", "in bed": "IN_BED", "in_bed": "IN_BED",
    "asleep": "ASLEEP", "asleepunspecified": "ASLEEP", "unspecified": "ASLEEP",
}

# Aggregated fields in hours -> stage, in the order their blocks are laid out.
AGGREGATED_STAGES = (("core", "CORE"), ("deep", "DEEP"), ("rem", "REM"), ("awake", "AWAKE"))


class _Bad(Exception):
    def __init__(self, path: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.path, self.reason, self.message = path, reason, message


def _date(item: dict, key: str, path: str, required: bool = False) -> tuple[dt.datetime, int] | None:
    v = item.get(key)
    if v is None:
        if required:
            raise _Bad(f"{path}.{key}", MISSING_VALUE, f"{key} is missing")
        return None
    try:
        return parse_date(v)
    except DateError as e:
        raise _Bad(f"{path}.{key}", INVALID_DATE, str(e)) from None


def _hours(item: dict, key: str, path: str) -> float | None:
    try:
        h = number(item, key)
    except ValueError as e:
        raise _Bad(f"{path}.{key}", INVALID_VALUE, str(e)) from None
    if h is not None and h < 0:
        raise _Bad(f"{path}.{key}", INVALID_VALUE, f"{key} must not be negative")
    return h


def _text(item: dict, *keys: str) -> str:
    for k in keys:
        v = item.get(k)
        if isinstance(v, str) and v:
            return v
    return ""


def sleep_item_handler(name: str):
    def handle(item: dict, path: str) -> Record:
        if type(item) is not dict:
            return Rejected(name, path, INVALID_ITEM, "a data item must be an object")
        try:
            if "startDate" in item or isinstance(item.get("value"), str):
                return _segment(name, item, path)
            return _aggregated(name, item, path)
        except _Bad as b:
            return Rejected(name, b.path, b.reason, b.message)

    return handle


def _segment(name: str, item: dict, path: str) -> Record:
    start = _date(item, "startDate", path, required=True)
    end = _date(item, "endDate", path, required=True)
    assert start is not None and end is not None
    if end[0] < start[0]:
        raise _Bad(path + ".endDate", INVALID_VALUE, "endDate is before startDate")
    value = item.get("value")
    if not isinstance(value, str):
        raise _Bad(path + ".value", MISSING_VALUE, "value (the sleep stage) is missing")
    stage = SEGMENT_STAGES.get(value.strip().lower()) or SEGMENT_STAGES.get(value.strip().lower().replace(" ", ""))
    if stage is None:
        return Skipped(name, path, UNSUPPORTED_SLEEP_STAGE)
    return SleepRecord(
        metric=name, path=path, start_time=start[0], end_time=end[0], utc_offset_minutes=end[1],
        source=_text(item, "source", "sleepSource"), stages=(SleepStage(stage, start[0], end[0]),),
    )


def _aggregated(name: str, item: dict, path: str) -> Record:
    sleep_start = _date(item, "sleepStart", path)
    sleep_end = _date(item, "sleepEnd", path)
    bed_start = _date(item, "inBedStart", path)
    bed_end = _date(item, "inBedEnd", path)
    starts = [d for d in (bed_start, sleep_start) if d is not None]
    ends = [d for d in (bed_end, sleep_end) if d is not None]
    if not starts:
        raise _Bad(path + ".sleepStart", MISSING_VALUE, "neither sleepStart nor inBedStart is given")
    if not ends:
        raise _Bad(path + ".sleepEnd", MISSING_VALUE, "neither sleepEnd nor inBedEnd is given")
    start = min(starts, key=lambda d: d[0])
    end = max(ends, key=lambda d: d[0])
    if end[0] <= start[0]:
        raise _Bad(path + ".sleepEnd", INVALID_VALUE, "the night ends before it starts")

    hours = {k: _hours(item, k, path) for k, _ in AGGREGATED_STAGES}
    total = _hours(item, "totalSleep", path)
    asleep = _hours(item, "asleep", path)
    in_bed = _hours(item, "inBed", path)

    stages: list[SleepStage] = []
    t = (sleep_start or start)[0]
    if any(h for h in hours.values()):
        for key, stage in AGGREGATED_STAGES:
            h = hours[key]
            if not h:
                continue
            block_end = min(t + dt.timedelta(seconds=round(h * 3600)), end[0])
            if block_end > t:
                stages.append(SleepStage(stage, t, block_end))
            t = block_end
        staged = sum(hours[k] or 0.0 for k in ("core", "deep", "rem"))
        asleep_h = total if total else (asleep or 0.0) + staged
    else:
        asleep_h = asleep or total
        if sleep_start is not None and sleep_end is not None and sleep_end[0] > sleep_start[0]:
            stages.append(SleepStage("ASLEEP", sleep_start[0], sleep_end[0]))
    for key, h in (("inBed", in_bed), ("totalSleep" if total else "asleep", asleep_h)):
        if h and h > 24:
            raise _Bad(f"{path}.{key}", INVALID_VALUE, f"{key} must be at most 24 hours")
    return SleepRecord(
        metric=name, path=path, start_time=start[0], end_time=end[0],
        utc_offset_minutes=(sleep_end or end)[1],
        source=_text(item, "source", "sleepSource", "inBedSource"), stages=tuple(stages),
        asleep_seconds=_seconds(asleep_h), in_bed_seconds=_seconds(in_bed),
    )


def _seconds(hours: float | None) -> int | None:
    """An app's total in seconds; None for none (absent, or the 0 the app writes when it has none)."""
    return round(hours * 3600) if hours else None
