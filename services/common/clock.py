"""The one source of "now": use cases take a Clock, so tests pin the date instead of living on today's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fixed(at: dt.datetime) -> Clock:
    """A clock stopped at `at` (timezone-aware), for tests."""
    if at.tzinfo is None:
        raise ValueError("a fixed clock needs a timezone-aware datetime")
    return lambda: at


def zone(time_zone: str) -> dt.tzinfo:
    """The IANA zone; UTC when the name is empty or unknown."""
    if not time_zone:
        return dt.UTC
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def today_in(time_zone: str, now: dt.datetime) -> dt.date:
    """The user's local date now."""
    return now.astimezone(zone(time_zone)).date()
