"""A checked batch in the forms PostgreSQL takes in bulk, built with numpy (no work per row in
Python): binary COPY streams, for the input table of the upsert and for the samples table
itself, and the rollup rows a batch of new samples adds.

Binary COPY: a header, then per row a field count and each field as its int32 length and its
big-endian bytes (length -1 and nothing else for NULL), then a trailer. Times count microseconds
from 2000-01-01. Rows that share their strings and missing values share one layout, so each such
group is one numpy structured array.
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
import uuid
from dataclasses import dataclass

import numpy as np

from services.common.convert import from_micros, to_micros
from services.tracking.samples.columns import CheckedColumns

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
PG_EPOCH_MICROS = 946_684_800_000_000
MILLIS_1900_TO_1970 = 2_208_988_800_000
DAY_MICROS = 86_400_000_000
HOUR_MICROS = 3_600_000_000
MINUTE_MICROS = 60_000_000

_random = np.random.default_rng()

# The upsert's per-session input table, every value ready: ids, times and local hours in binary,
# strings as indices into the statements' $2, min/max/value2 as NaN when missing.
INPUT_COLUMNS = ("n", "ti", "start_time", "si", "end_time", "utc_offset_minutes", "value", "min", "max", "value2",
                 "original_value", "oi", "meal_context", "row_hash", "id", "local_hour")
_INPUT_TUPLE = np.dtype([("fields", ">i2")] + [
    field for name, kind in zip(INPUT_COLUMNS, (">i4", ">i4", ">i8", ">i4", ">i8", ">i2", ">f8", ">f8", ">f8", ">f8",
                                                ">f8", ">i4", ">i2", ">i8", ">u8,>u8", ">i8"))
    for field in ((f"{name}_length", ">i4"), (name, kind))])

# The samples table's columns, in the order sample_rows() writes them.
SAMPLE_COLUMNS = ("user_id", "type", "start_time", "source", "id", "end_time", "utc_offset_minutes", "value", "min",
                  "max", "value2", "original_value", "original_unit", "meal_context", "row_hash", "origin",
                  "create_time", "update_time")


class Arrays:
    """A checked batch's columns as arrays, with what every form needs (made once per batch)."""

    def __init__(self, rows: CheckedColumns) -> None:
        n = len(rows)
        for column in (rows.type, rows.start_us, rows.source, rows.end_us, rows.offset, rows.value, rows.min,
                       rows.max, rows.value2, rows.original_value, rows.original_unit, rows.meal_context,
                       rows.row_hash):
            if len(column) != n:
                raise ValueError("every column of a batch needs one entry per row")
        self.n = n
        self.strings = rows.strings
        # (The bulk checks give arrays already: these take them as they are.)
        self.start = np.asarray(rows.start_us, dtype=np.int64)
        self.end = np.asarray(rows.end_us, dtype=np.int64)
        self.offset = np.asarray(rows.offset, dtype=np.int64)
        local = self.start + self.offset * MINUTE_MICROS
        self.local_hour = local - local % HOUR_MICROS
        self.value = np.asarray(rows.value, dtype=np.float64)
        self.low, self.high, self.value2 = (np.asarray(x, dtype=np.float64) for x in (rows.min, rows.max, rows.value2))
        self.type = np.asarray(rows.type, dtype=np.int64)
        self.source = np.asarray(rows.source, dtype=np.int64)
        self.original_unit = np.asarray(rows.original_unit, dtype=np.int64)
        self.original_value = np.asarray(rows.original_value, dtype=np.float64)
        self.meal_context = np.asarray(rows.meal_context, dtype=np.int64)
        self.row_hash = np.asarray(rows.row_hash, dtype=np.int64)

    @functools.cached_property
    def ids(self) -> np.ndarray:
        """UUIDv8: the start's milliseconds since 1900 (see domain.start_of_sample_id), then random
        bits (unique, not secret). Made for the rows that are written only."""
        ids = np.empty(self.n, dtype=">u8,>u8")
        ids["f0"] = ((self.start // 1000 + MILLIS_1900_TO_1970).astype(np.uint64) << np.uint64(16)
                     | np.uint64(0x8000) | _random.integers(0, 1 << 12, self.n, dtype=np.uint64))
        ids["f1"] = _random.integers(0, 1 << 62, self.n, dtype=np.uint64) | np.uint64(1 << 63)  # RFC 4122 variant
        return ids

    def hours(self) -> Groups:
        """The rows by hourly rollup bucket: (type, source, local hour, offset)."""
        return Groups(self.type, self.source, self.local_hour, self.offset)


class Groups:
    """Rows grouped by equal keys (integer columns): sorted once, then reduced per group."""

    def __init__(self, *keys: np.ndarray) -> None:
        self.order = np.lexsort(keys[::-1])
        n = len(self.order)
        new = np.zeros(n, dtype=bool)
        if n:
            new[0] = True
            for key in keys:
                ordered = key[self.order]
                new[1:] |= ordered[1:] != ordered[:-1]
        self.starts = np.flatnonzero(new)
        self.first = self.order[self.starts]  # one row of each group, for its keys
        self.of = np.empty(n, dtype=np.int64)  # each row's group
        self.of[self.order] = np.cumsum(new) - 1

    def __len__(self) -> int:
        return len(self.starts)

    def count(self) -> np.ndarray:
        return np.diff(np.append(self.starts, len(self.order)))

    def sum(self, x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x[self.order], self.starts) if len(self) else x[:0]

    def min(self, x: np.ndarray) -> np.ndarray:
        return np.minimum.reduceat(x[self.order], self.starts) if len(self) else x[:0]

    def max(self, x: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(x[self.order], self.starts) if len(self) else x[:0]


def input_rows(rows: CheckedColumns) -> bytes:
    """The batch for the upsert's input table (INPUT_COLUMNS), as one binary COPY stream."""
    a = Arrays(rows)
    out = np.empty(a.n, dtype=_INPUT_TUPLE)
    out["fields"] = len(INPUT_COLUMNS)
    values = (np.arange(a.n), a.type, a.start - PG_EPOCH_MICROS, a.source, a.end - PG_EPOCH_MICROS, a.offset,
              a.value, a.low, a.high, a.value2, a.original_value, a.original_unit, a.meal_context, a.row_hash, a.ids,
              a.local_hour - PG_EPOCH_MICROS)
    for name, column in zip(INPUT_COLUMNS, values):
        out[f"{name}_length"] = out.dtype[name].itemsize
        out[name] = column
    return COPY_HEADER + out.tobytes() + COPY_TRAILER


def sample_rows(a: Arrays, user_id: uuid.UUID, origin: int | None, now: dt.datetime) -> bytes:
    """The batch as rows of the samples table (SAMPLE_COLUMNS), as one binary COPY stream."""
    missing = [np.isnan(x) for x in (a.low, a.high, a.value2)]
    layouts = Groups(a.type, a.source, a.original_unit, *missing)
    user = user_id.bytes
    stamp = to_micros(now) - PG_EPOCH_MICROS
    parts = [COPY_HEADER]
    ends = layouts.starts + layouts.count()
    for k, row in enumerate(layouts.first.tolist()):
        t, s, o = a.type[row], a.source[row], a.original_unit[row]
        no_low, no_high, no_value2 = (bool(m[row]) for m in missing)
        at = layouts.order[layouts.starts[k]:ends[k]]
        fields: list[tuple[str, str]] = [("fields", ">i2")]
        values: dict[str, object] = {"fields": len(SAMPLE_COLUMNS)}

        def field(name: str, kind: str | None, value: object = None) -> None:
            """A column of this layout: its length, then its value (none when NULL)."""
            size = -1 if kind is None else np.dtype(kind).itemsize
            fields.append((f"{name}_length", ">i4"))
            values[f"{name}_length"] = size
            if size > 0:
                fields.append((name, kind))
                values[name] = value

        def text(name: str, data: bytes) -> None:
            fields.append((f"{name}_length", ">i4"))
            values[f"{name}_length"] = len(data)
            if data:
                fields.append((name, f"S{len(data)}"))
                values[name] = data

        field("user_id", "S16", user)
        text("type", a.strings[t].encode("utf-8"))
        field("start_time", ">i8", a.start[at] - PG_EPOCH_MICROS)
        text("source", a.strings[s].encode("utf-8"))
        field("id", ">u8,>u8", a.ids[at])
        field("end_time", ">i8", a.end[at] - PG_EPOCH_MICROS)
        field("utc_offset_minutes", ">i2", a.offset[at])
        field("value", ">f8", a.value[at])
        for name, none, column in (("min", no_low, a.low), ("max", no_high, a.high), ("value2", no_value2, a.value2)):
            field(name, None if none else ">f8", column[at])
        field("original_value", ">f8", a.original_value[at])
        text("original_unit", a.strings[o].encode("utf-8"))
        field("meal_context", ">i2", a.meal_context[at])
        field("row_hash", ">i8", a.row_hash[at])
        field("origin", None if origin is None else ">i4", origin)
        field("create_time", ">i8", stamp)
        field("update_time", ">i8", stamp)
        out = np.empty(len(at), dtype=fields)
        for name, value in values.items():
            out[name] = value
        parts.append(out.tobytes())
    parts.append(COPY_TRAILER)
    return b"".join(parts)


@dataclass(frozen=True)
class RollupRows:
    """What a batch of new samples adds to the hourly and daily rollups: one entry per bucket
    and column, ready to be passed as arrays."""

    hours: tuple[list, ...]  # type, source, local hour, offset, count, sum, min, max, hash sum
    days: tuple[list, ...]  # type, source, local date, offset, count, sum, min, max


def rollup_rows(a: Arrays) -> RollupRows:
    hours = a.hours()
    h = hours.first
    hour_sums = (hours.count(), hours.sum(a.value), hours.min(np.where(np.isnan(a.low), a.value, a.low)),
                 hours.max(np.where(np.isnan(a.high), a.value, a.high)))
    hash_sums = hours.sum(a.row_hash)  # 40-bit hashes: no hour's sum overflows
    day_of_hour = a.local_hour[h] // DAY_MICROS
    days = Groups(a.type[h], a.source[h], day_of_hour, a.offset[h])
    d = h[days.first]
    day_sums = (days.sum(hour_sums[0]), days.sum(hour_sums[1]), days.min(hour_sums[2]), days.max(hour_sums[3]))
    strings = a.strings
    return RollupRows(
        hours=([strings[t] for t in a.type[h].tolist()], [strings[s] for s in a.source[h].tolist()],
               [from_micros(x).replace(tzinfo=None) for x in a.local_hour[h].tolist()], a.offset[h].tolist(),
               *(x.tolist() for x in hour_sums), [str(x) for x in hash_sums.tolist()]),
        days=([strings[t] for t in a.type[d].tolist()], [strings[s] for s in a.source[d].tolist()],
              [from_micros(x * DAY_MICROS).date() for x in day_of_hour[days.first].tolist()], a.offset[d].tolist(),
              *(x.tolist() for x in day_sums)))
