"""The checks of columns.py for large batches, with arrays instead of a loop over the rows.

Every rule is computed for all rows at once: whether a row is good is decided exactly as
check_rows decides it, and the few bad rows are handed to check_rows' own per-row check for
their field, reason and message. A batch that needs what only the row path does (a start or an
offset missing, a natural key given twice) goes to check_rows whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from services.common.convert import to_micros
from services.tracking.samples.batches import Groups
from services.tracking.samples.columns import (
    MAX_OFFSET_MINUTES, MEAL_CONTEXTS, MIN_MICROS, ONE_DAY, CheckedColumns, Checks, ItemError, SampleColumns,
    _check_row, _conversion, check_rows, row_hashes, source_error,
)

ARRAYS_FROM = 64  # rows: below this the row path is as quick


def check_columns(c: SampleColumns, now: dt.datetime, default_offset: Callable[[dt.datetime], int],
                  default_source: str = "") -> Checks:
    """Checks every row and converts it to its type's canonical unit (see check_rows)."""
    checks = _check_arrays(c, now, default_offset, default_source) if len(c) >= ARRAYS_FROM else None
    return checks if checks is not None else check_rows(c.as_lists(), now, default_offset, default_source)


def _ints(column: list | np.ndarray) -> np.ndarray | None:
    try:
        return np.asarray(column, dtype=np.int64)
    except (TypeError, OverflowError):  # a None (or a number no row can hold): for the row path
        return None


def _floats(column: list | np.ndarray) -> np.ndarray:
    return np.asarray(column, dtype=np.float64)  # (None becomes NaN)


def _check_arrays(c: SampleColumns, now: dt.datetime, default_offset: Callable[[dt.datetime], int],
                  default_source: str) -> Checks | None:
    n = len(c)
    start, offset = _ints(c.start_us), _ints(c.offset)
    if start is None or offset is None:
        return None
    if type(c.end_us) is np.ndarray:
        end = c.end_us
    else:
        missing_ends = c.end_us.count(None)
        if missing_ends == n:
            end = start
        else:  # a missing end is the start
            end = _ints(c.end_us if not missing_ends else [s if e is None else e for s, e in zip(c.start_us, c.end_us)])
            if end is None:
                return None
    value, low, high, value2 = (_floats(x) for x in (c.value, c.min, c.max, c.value2))
    meal = _ints(c.meal_context)
    strings = list(c.strings)
    first: dict[str, int] = {}
    for i, s in enumerate(strings):
        first.setdefault(s, i)

    # What a row's (type, unit) pair decides, once per pair, then spread over the rows.
    unit = _ints(c.unit)
    pairs, pair_of = np.unique(_ints(c.type) << 32 | unit, return_inverse=True)
    conversions = [_conversion(strings[int(p) >> 32], strings[int(p) & 0xFFFFFFFF]) for p in pairs]

    def per_row(of, dtype) -> np.ndarray:
        return np.array([of(x) for x in conversions], dtype=dtype)[pair_of]

    usable = per_row(lambda x: x.type_error is None and x.unit_error is None, bool)
    factor, shift = per_row(lambda x: x.factor, np.float64), per_row(lambda x: x.offset, np.float64)
    fraction = per_row(lambda x: x.fraction, bool)
    lowest = per_row(lambda x: x.spec.min_value if x.spec else 0.0, np.float64)
    highest = per_row(lambda x: x.spec.max_value if x.spec else 0.0, np.float64)
    needs_value2 = per_row(lambda x: bool(x.spec and x.spec.value2_meaning), bool)

    def canonical(raw: np.ndarray) -> np.ndarray:
        return np.where(fraction & (raw >= -1.0) & (raw <= 1.0), raw * 100.0, raw * factor + shift)

    given = _ints(c.source)
    bad_source = np.array([source_error(x) is not None for x in strings], dtype=bool)[given]

    latest = to_micros(now + ONE_DAY)
    canonical_value = canonical(value)
    with np.errstate(invalid="ignore"):  # NaN and inf compare False, which is what the rules want
        bad = (~usable | bad_source | (start < MIN_MICROS) | (start > latest) | (end < start) | (end > latest)
               | (offset < -MAX_OFFSET_MINUTES) | (offset > MAX_OFFSET_MINUTES)
               | ~((canonical_value >= lowest) & (canonical_value <= highest))
               | (needs_value2 == np.isnan(value2)) | (meal < 0) | (meal >= MEAL_CONTEXTS))
        converted = []
        for raw in (low, high, value2):
            present, x = ~np.isnan(raw), canonical(raw)
            bad |= present & ~((x >= lowest) & (x <= highest))
            converted.append(x)
        bad |= (~np.isnan(low) & (converted[0] > canonical_value)) | (~np.isnan(high) & (converted[1] < canonical_value))

    errors = []
    listed = c.as_lists() if bad.any() else c  # the row check takes None for a missing value
    for i in np.flatnonzero(bad).tolist():
        conv = conversions[pair_of[i]]
        found = conv.type_error or _check_row(listed, i, conv, latest, default_offset)
        if type(found) is not tuple and bad_source[i]:
            found = source_error(strings[given[i]])
        if type(found) is not tuple:
            return None  # the rules disagree with the row check: the row check decides
        errors.append(ItemError(i, *found))

    good = np.flatnonzero(~bad)
    type_index = np.array([first[strings[int(p) >> 32]] for p in pairs], dtype=np.int64)[pair_of][good]
    # Stored sources: trimmed, defaulted, and given string indices in the order the rows use them.
    given = given[good]
    uses, first_use = np.unique(given, return_index=True)
    stored_source: dict[int, int] = {}
    for s in uses[np.argsort(first_use)].tolist():
        name = (strings[s] or default_source).strip()
        stored_source[s] = first.setdefault(name, len(strings))
        if stored_source[s] == len(strings):
            strings.append(name)
    source = np.array([stored_source[s] for s in uses.tolist()], dtype=np.int64)[np.searchsorted(uses, given)]

    start, end, offset = start[good], end[good], offset[good]
    if len(Groups(type_index, source, start)) < len(good):
        return None  # a key given twice: the row path says which row wins
    # Kept as arrays (CheckedColumns.as_lists() gives lists): min, max and value2 NaN where none.
    low, high, value2 = (x[good] for x in converted)
    stored, meal = canonical_value[good], meal[good]
    return Checks(CheckedColumns(
        strings, row=good, type=type_index, start_us=start, source=source, end_us=end, offset=offset, value=stored,
        min=low, max=high, value2=value2, original_value=value[good], original_unit=unit[good], meal_context=meal,
        row_hash=row_hashes(start, end, offset, stored, low, high, value2, meal)), errors, [])
