"""Checks every service makes the same way, reporting into a Violations collector."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection

from services.common.errors import Violations


def request_id(value: str, v: Violations) -> None:
    """AIP-155: a request id, when given, is a UUID."""
    if value:
        try:
            uuid.UUID(value)
        except ValueError:
            v.add("request_id", "must be a UUID")


def calendar_date(value: str, field: str, v: Violations) -> dt.date | None:
    """A `YYYY-MM-DD` date from 1900 on; None when empty or wrong (then reported)."""
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        v.add(field, "must be a date as YYYY-MM-DD")
        return None
    if parsed.year < 1900:
        v.add(field, "must be on or after 1900-01-01")
        return None
    return parsed


def update_mask(paths: Collection[str], updatable: Collection[str], output_only: Collection[str], resource: str,
                v: Violations) -> None:
    """AIP-134: a mask names at least one field, each of them one the caller may change."""
    if not paths:
        v.add("update_mask", "must name at least one field")
    for path in paths:
        if path in output_only:
            v.add("update_mask", f"{path!r} is output only or the identifier and cannot be updated")
        elif path not in updatable:
            v.add("update_mask", f"{path!r} is not a field of {resource} that can be updated")
