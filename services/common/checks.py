"""Checks every service makes the same way, reporting into a Violations collector."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection

from services.common.errors import Violations, shown

# The most characters a string field may hold; longer text is legitimate only in the fields named
# in LONG_TEXT. Lengths count characters (code points), as the contracts do.
MAX_TEXT = 256
LONG_TEXT: dict[str, int] = {
    "notes": 4096,
    "description": 4096,
    "page_token": 4096,
    "password": 1024,
    "refresh_token": 4096,
    "access_token": 4096,  # a device's credentials at its vendor (OAuth tokens, often JWTs)
    "api_key": 4096,
    "value": 4096,  # the values of a device credential's `extra` map
}

NUL = "\x00"


def text_problem(value: str, limit: int = MAX_TEXT) -> str | None:
    """What is wrong with a string a client sent, or None: the same rule for every way in (a
    request field, a string in an uploaded file, a streamed sample's source)."""
    if len(value) > limit:
        return f"must have at most {limit:,} characters, got {len(value):,}"
    if NUL in value:
        return "must not contain NUL (U+0000)"
    return None


def text_limit(field_name: str) -> int:
    return LONG_TEXT.get(field_name, MAX_TEXT)


def request_id(value: str, v: Violations) -> None:
    """AIP-155: a request id, when given, is a UUID."""
    if value:
        try:
            uuid.UUID(value)
        except ValueError:
            v.add("request_id", "must be a UUID")


# The calendar dates a client may give: the arithmetic after them (the day after, a period or a
# history back) then stays far from the ends of Python's calendar (years 1 and 9999).
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2199, 12, 31)


def calendar_date(value: str, field: str, v: Violations) -> dt.date | None:
    """A `YYYY-MM-DD` date from FIRST_DATE to LAST_DATE; None when empty or wrong (then reported)."""
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        v.add(field, "must be a date as YYYY-MM-DD")
        return None
    if parsed < FIRST_DATE:
        v.add(field, "must be on or after 1900-01-01")
        return None
    if parsed > LAST_DATE:
        v.add(field, "must be on or before 2199-12-31")
        return None
    return parsed


def update_mask(paths: Collection[str], updatable: Collection[str], output_only: Collection[str], resource: str,
                v: Violations) -> None:
    """AIP-134: a mask names at least one field, each of them one the caller may change."""
    if not paths:
        v.add("update_mask", "must name at least one field")
    for path in paths:
        if path in output_only:
            v.add("update_mask", f"{shown(path)} is output only or the identifier and cannot be updated")
        elif path not in updatable:
            v.add("update_mask", f"{shown(path)} is not a field of {resource} that can be updated")
