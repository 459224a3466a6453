"""Local time for health data: a record's local day is its date at its own UTC offset, and a
record without an offset takes the offset of the user's profile time zone (DESIGN.md section 5)."""

from __future__ import annotations

import datetime as dt

from services.common.clock import zone


def offset_minutes(time_zone: str, instant: dt.datetime) -> int:
    """The zone's UTC offset at an instant, in minutes."""
    offset = instant.astimezone(zone(time_zone)).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def local_date(instant: dt.datetime, offset: int) -> dt.date:
    return (instant.astimezone(dt.UTC) + dt.timedelta(minutes=offset)).date()

