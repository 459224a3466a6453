"""The user's local calendar: a date's local midnight in their profile's time zone."""

from __future__ import annotations

import datetime as dt

from services.common.clock import zone


def midnight(day: dt.date, time_zone: str) -> dt.datetime:
    """The instant the local date starts in the zone, in UTC."""
    return dt.datetime.combine(day, dt.time(), zone(time_zone)).astimezone(dt.UTC)
