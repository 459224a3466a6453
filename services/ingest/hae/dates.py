
"""Dates as Health Auto Export writes them.

- `yyyy-MM-dd HH:mm:ss Z`: `2026-03-01 07:00:00 +0100` (24-hour clock);
- the same on a phone set to a 12-hour clock: `2026-03-01 7:00:00 am -0800`, with U+202F (narrow
  no-break space, iOS 17+) or a plain or no-break space before am/pm, in either case;
- RFC 3339 in the newer arrays (stateOfMind, medications, ...): `2025-06-02T12:00:00+08:00`,
  `...Z`, with or without fractional seconds.

Every parse keeps the date's own UTC offset: `parse_date` returns the instant in UTC and the
offset in minutes. A date without an offset is an error (its instant is unknown).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from services.common.errors import shown

UTC = dt.UTC
_fromiso = dt.datetime.fromisoformat


class DateError(ValueError):
    """A value that is not a date of the forms above."""


_GENERAL = re.compile(
    r"""^\s*(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})
        (?:[Tt]|[\s\u202f\u00a0]+)
        (?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?
        [\s\u202f\u00a0]*
        (?:(?P<ampm>[AaPp])\.?[Mm]\.?)?
        [\s\u202f\u00a0]*
        (?P<tz>[Zz]|(?:UTC|GMT)?[+-]\d{1,2}(?::?\d{2})?)?
        \s*$""",
    re.VERBOSE,
)

_OFFSET_CACHE: dict[str, int] = {}


def _offset_minutes(tz: str) -> int:
    cached = _OFFSET_CACHE.get(tz)
    if cached is not None:
        return cached
    t = tz.upper()
    if t == "Z":
        minutes = 0
    else:
        t = t.removeprefix("UTC").removeprefix("GMT")
        sign = -1 if t[0] == "-" else 1
        digits = t[1:].replace(":", "")
        if len(digits) <= 2:
            hh, mm = int(digits), 0
        elif len(digits) == 3:
            hh, mm = int(digits[0]), int(digits[1:])
        else:
            hh, mm = int(digits[:-2]), int(digits[-2:])
        if hh > 23 or mm > 59:
            raise DateError(f"UTC offset {shown(tz)} is out of range")
        minutes = sign * (hh * 60 + mm)
    if len(_OFFSET_CACHE) < 1024:
        _OFFSET_CACHE[tz] = minutes
    return minutes


# "+0100" -> (timedelta(minutes=60), 60), for every offset in use on Earth (quarter hours).
_FAST_OFFSETS: dict[str, tuple[dt.timedelta, int]] = {
    f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}{abs(m) % 60:02d}": (dt.timedelta(minutes=m), m)
    for m in range(-16 * 60, 16 * 60 + 1, 15)
}


def parse_date(value: object) -> tuple[dt.datetime, int]:
    """(the instant in UTC, the date's own UTC offset in minutes); DateError when not a date."""
    if type(value) is not str:
        raise DateError(f"expected a date string, got {kind_of(value)}")
    # Fast path, by far the most common form: "2026-03-01 07:00:00 +0100".
    if len(value) == 25 and value[19] == " ":
        off = _FAST_OFFSETS.get(value[20:])
        if off is not None and value[10] == " ":
            try:
                # "+00:00" makes fromisoformat return an aware datetime in dt.UTC itself
                return _fromiso(value[:19] + "+00:00") - off[0], off[1]
            except (ValueError, OverflowError):
                pass  # the general path says why
    m = _GENERAL.match(value)
    if m is None:
        raise DateError(f"{shown(value)} is not a date of the form yyyy-MM-dd HH:mm:ss Z")
    if m["tz"] is None:
        raise DateError(f"{shown(value)} has no UTC offset")
    hour = int(m["h"])
    ampm = m["ampm"]
    if ampm is not None:
        if not 1 <= hour <= 12:
            raise DateError(f"{shown(value)}: hour {hour} is not on a 12-hour clock")
        hour = hour % 12 + (12 if ampm in "Pp" else 0)
    frac = m["f"] or ""
    micro = int((frac + "000000")[:6]) if frac else 0
    try:
        minutes = _offset_minutes(m["tz"])
        local = dt.datetime(int(m["y"]), int(m["mo"]), int(m["d"]), hour, int(m["mi"]), int(m["s"] or 0), micro)
    except ValueError as e:
        raise DateError(f"{shown(value)}: {e}") from None
    try:
        return (local - dt.timedelta(minutes=minutes)).replace(tzinfo=UTC), minutes
    except OverflowError:
        raise DateError(f"{shown(value)} is out of range (years 1 to 9999 in UTC)") from None


# The fast form's parts, in microseconds: ":MM:SS" (3,600 of them), " +HHMM" (with the offset in minutes).
_MINUTE_SECOND_US = {f":{m:02d}:{sec:02d}": (m * 60 + sec) * 1_000_000 for m in range(60) for sec in range(60)}
_OFFSET_US = {" " + text: (minutes * 60_000_000, minutes) for text, (_, minutes) in _FAST_OFFSETS.items()}
_LOCAL_HOUR = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}")
_HOUR_US: dict[str, int] = {}  # "2026-03-01 07" -> that hour's start, in microseconds, as if it were UTC
HOURS_CACHED = 100_000


def parse_date_us(value: object) -> tuple[int, int]:
    """As parse_date, with the instant in microseconds since the Unix epoch: the long series'
    form ("2026-03-01 07:00:00 +0100") is read from cached hours, without datetime objects."""
    if type(value) is str and len(value) == 25:
        second = _MINUTE_SECOND_US.get(value[13:19])
        offset = _OFFSET_US.get(value[19:])
        if second is not None and offset is not None:
            hour = _HOUR_US.get(value[:13])
            if hour is None:
                hour = _hour_us(value[:13])
            if hour is not None:
                return hour + second - offset[0], offset[1]
    start, minutes = parse_date(value)
    return (start - _EPOCH) // _MICROSECOND, minutes


def parse_dates_us(values: list[str]) -> tuple[list[int], list[int]]:
    """parse_date_us of many dates at once, as two columns (instants, UTC offsets), when every one
    is of the long series' form; DateError otherwise (parse_date_us then says which and why).
    Read with numpy from the dates' bytes side by side: no work per date in Python."""
    n = len(values)
    if not n:
        return [], []
    try:
        # One date per row of 26 bytes, the 26th a newline: so every one has 25 characters (a
        # shorter or longer one shifts the newlines, and a newline is nowhere else in the form).
        text = "\n".join([*values, ""])
        if len(text) != _ROW_BYTES * n:
            raise DateError("not every date has 25 characters")
        raw = text.encode("ascii")
    except (TypeError, UnicodeEncodeError):  # not a string; not ASCII
        raise DateError("not every date is an ASCII string") from None
    at = np.frombuffer(raw, dtype=np.uint8).reshape(n, _ROW_BYTES).T.copy()  # at[k]: every date's k-th byte
    digits = at[_DIGIT_AT] - 48  # (wraps below "0")
    sign = at[20]
    minus = sign == 45  # "-"
    if digits.max() > 9 or (at[_SEPARATOR_AT] != _SEPARATORS).any() or not (minus | (sign == 43)).all():  # "+"
        raise DateError("not every date is of the form yyyy-MM-dd HH:mm:ss +HHMM")
    # Century, year, month, day, hour, minute, second, offset hours, offset minutes.
    tens = digits[0::2].astype(np.int64) * 10 + digits[1::2]
    year = tens[0] * 100 + tens[1]
    month, day, hour, minute, second, off_h, off_m = tens[2:]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    offset = off_h * 60 + off_m
    # As the cached forms take them: years 2 to 9998, a real day and time, a quarter-hour offset
    # within 16 hours ("-0000" is not among them).
    good = ((year >= 2) & (year <= 9998) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
            & (hour <= 23) & (minute <= 59) & (second <= 59) & (off_m % 15 == 0) & (offset <= 16 * 60)
            & ~(minus & (offset == 0)))
    if not good.all():
        raise DateError("not every date is a real day and time with a quarter-hour UTC offset")
    offset = np.where(minus, -offset, offset)
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    days = era * 146_097 + year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year - 719_468
    micros = (((days * 24 + hour) * 60 + minute) * 60 + second - offset * 60) * 1_000_000
    return micros.tolist(), offset.tolist()


_ROW_BYTES = 26  # "2026-03-01 07:00:00 +0100\n"
_DIGIT_AT = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 21, 22, 23, 24]
_SEPARATOR_AT = [4, 7, 10, 13, 16, 19, 25]
_SEPARATORS = np.frombuffer(b"-- :: \n", dtype=np.uint8)[:, None]
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _hour_us(local_hour: str) -> int | None:
    if not _LOCAL_HOUR.fullmatch(local_hour) or not "0002" <= local_hour[:4] <= "9998":
        return None  # (years 1 and 9999: an offset may take the instant out of range)
    try:
        start = dt.datetime.fromisoformat(local_hour + ":00:00+00:00")
    except ValueError:
        return None  # parse_date says why
    if len(_HOUR_US) >= HOURS_CACHED:
        _HOUR_US.clear()
    us = _HOUR_US[local_hour] = (start - _EPOCH) // _MICROSECOND
    return us


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def parse_day(value: object) -> dt.date:
    """A calendar day `yyyy-MM-dd` (the "date" of an aggregated sleep night); DateError otherwise."""
    if type(value) is not str:
        raise DateError(f"expected a date string, got {kind_of(value)}")
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise DateError(f"{shown(value)} is not a day of the form yyyy-MM-dd") from None


def kind_of(value: object) -> str:
    """What a parsed JSON value is, for messages: "a number", "an object", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
