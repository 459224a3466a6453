"""The user's local calendar: today in their profile's time zone, and a date's local midnight."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(time_zone: str) -> dt.tzinfo:
    """The IANA zone; UTC when the name is empty or unknown (as Tracking reads it)."""
    if not time_zone:
        return dt.UTC
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def today_in(time_zone: str, now: dt.datetime) -> dt.date:
    return now.astimezone(zone(time_zone)).date()


def midnight(day: dt.date, time_zone: str) -> dt.datetime:
    """The instant the local date starts in the zone, in UTC."""
    return dt.datetime.combine(day, dt.time(), zone(time_zone)).astimezone(dt.UTC)
