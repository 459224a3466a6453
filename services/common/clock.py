"""The one source of "now": use cases take a Clock, so tests pin the date instead of living on today's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fixed(at: dt.datetime) -> Clock:
    """A clock stopped at `at` (timezone-aware), for tests."""
    if at.tzinfo is None:
        raise ValueError("a fixed clock needs a timezone-aware datetime")
    return lambda: at
