"""Samples on their way in: the row form clients send (SampleInput), the columnar form bulk
writers send (SampleColumns), and the checks that turn either into canonical columns ready to
store (CheckedColumns). No grpc, protobuf or SQL.

The checks run once per row on every import, so they work on plain lists and resolve what
depends only on a row's type and unit (the catalog entry, the conversion) once per pair.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from services.common.convert import StringIndex, from_micros, to_micros
from services.common.checks import text_problem
from services.common.errors import shown
from services.tracking.samples.catalog import CATALOG, SampleType

MIN_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
ONE_DAY = dt.timedelta(days=1)
MAX_OFFSET_MINUTES = 18 * 60
MAX_BATCH = 10_000
MEAL_CONTEXTS = 5  # tracking.v1.MealContext numbers are 0..4
VALUE_FIELDS = ("value", "min", "max", "value2")


MIN_MICROS = to_micros(MIN_TIME)


@dataclass(slots=True)  # not frozen: built once per sample on the row path, where frozen costs
class SampleInput:
    """A sample as a client sent it, before checks and unit conversion."""

    type: str
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    utc_offset_minutes: int | None
    value: float
    min: float | None
    max: float | None
    value2: float | None
    unit: str
    source: str
    meal_context: int = 0


@dataclass(slots=True)
class SampleColumns:
    """Samples as columns: row i is the i-th entry of every list. type, unit and source are
    indices into `strings`; None marks what a row lacks.

    A bulk writer's batch comes as numpy arrays instead (see convert.sample_columns), taken
    from the message without a Python object per value: there a missing min, max or value2 is
    NaN, every row has an end (its start when it had none), and `offset` is None on every row
    or on none. as_lists() gives the list form, which the row checks take."""

    strings: list[str]
    type: list[int]
    unit: list[int]
    source: list[int]
    start_us: list[int | None]  # microseconds since the Unix epoch, UTC
    end_us: list[int | None]  # None: the same as the start
    offset: list[int | None]  # None: the user's time zone decides
    value: list[float]
    min: list[float | None]
    max: list[float | None]
    value2: list[float | None]
    meal_context: list[int]

    def __len__(self) -> int:
        return len(self.start_us)

    def offsets_given(self) -> bool:
        """Whether every row has its UTC offset (else the user's time zone decides the missing ones)."""
        return type(self.offset) is np.ndarray or None not in self.offset

    def as_lists(self) -> SampleColumns:
        if type(self.start_us) is not np.ndarray:
            return self
        return SampleColumns(self.strings, *(_listed(getattr(self, f.name), f.name in VALUE_FIELDS[1:])
                                             for f in fields(self)[1:]))

    @classmethod
    def from_rows(cls, rows: list[SampleInput]) -> SampleColumns:
        strings = StringIndex()
        ref = strings.ref
        return cls(
            type=[ref(r.type) for r in rows], unit=[ref(r.unit) for r in rows], source=[ref(r.source) for r in rows],
            start_us=[None if r.start_time is None else to_micros(r.start_time) for r in rows],
            end_us=[None if r.end_time is None else to_micros(r.end_time) for r in rows],
            offset=[r.utc_offset_minutes for r in rows], value=[r.value for r in rows], min=[r.min for r in rows],
            max=[r.max for r in rows], value2=[r.value2 for r in rows], meal_context=[r.meal_context for r in rows],
            strings=strings.strings())


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    reason: str
    message: str


@dataclass(slots=True)
class CheckedColumns:
    """Rows that passed the checks, in canonical units, one natural key each. `row` is each one's
    index in the input; original_value and original_unit keep what the client sent."""

    strings: list[str]
    row: list[int] = field(default_factory=list)
    type: list[int] = field(default_factory=list)
    start_us: list[int] = field(default_factory=list)
    source: list[int] = field(default_factory=list)
    end_us: list[int] = field(default_factory=list)
    offset: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    min: list[float | None] = field(default_factory=list)
    max: list[float | None] = field(default_factory=list)
    value2: list[float | None] = field(default_factory=list)
    original_value: list[float] = field(default_factory=list)
    original_unit: list[int] = field(default_factory=list)
    meal_context: list[int] = field(default_factory=list)
    row_hash: list[int] = field(default_factory=list)  # of values_of(k) and the start: see row_hashes()

    def __len__(self) -> int:
        return len(self.row)

    def as_lists(self) -> CheckedColumns:
        """The list form (the bulk checks give numpy arrays, with NaN for a missing min, max or value2)."""
        if type(self.row) is not np.ndarray:
            return self
        return CheckedColumns(self.strings, *(_listed(getattr(self, f.name), f.name in VALUE_FIELDS[1:])
                                              for f in fields(self)[1:]))

    def values_of(self, k: int) -> tuple:
        """What an update compares: everything but the natural key and the original form."""
        return (self.end_us[k], self.offset[k], self.value[k], self.min[k], self.max[k], self.value2[k],
                self.meal_context[k])

    def keep(self, positions: list[int]) -> CheckedColumns:
        if type(self.row) is np.ndarray:
            return CheckedColumns(self.strings, *(column[positions] for column in _columns(self)))
        out = CheckedColumns(self.strings)
        for mine, theirs in zip(_columns(self), _columns(out)):
            theirs.extend(mine[k] for k in positions)
        return out


def _listed(column, nan_is_none: bool = False) -> list:
    """A column as a list of Python values (None for NaN in the columns where NaN marks none)."""
    if type(column) is not np.ndarray:
        return column
    values = column.tolist()
    return [None if x != x else x for x in values] if nan_is_none else values


@dataclass(frozen=True)
class Checks:
    """The outcome of checking a batch."""

    rows: CheckedColumns
    errors: list[ItemError]
    # A natural key given twice: (earlier row, the later row that wins, whether the values are the same).
    superseded: list[tuple[int, int, bool]]


@dataclass(frozen=True)
class _Conversion:
    """What a row's (type, unit) pair decides, resolved once per pair."""

    spec: SampleType | None
    type_error: tuple[str, str, str] | None  # (field, reason, message)
    unit_error: tuple[str, str, str] | None
    factor: float = 1.0
    offset: float = 0.0
    fraction: bool = False  # HealthKit's percent fractions: a value <= 1 is scaled by 100


def _conversion(type_: str, unit: str) -> _Conversion:
    spec = CATALOG.get(type_)
    if not type_:
        return _Conversion(None, ("type", "MISSING_FIELD", "type is required"), None)
    if spec is None:
        return _Conversion(None, ("type", "UNKNOWN_TYPE",
                                  f"{shown(type_)} is not a sample type; see GET /v1/sampleTypes"), None)
    if not unit:
        return _Conversion(spec, None, ("unit", "MISSING_FIELD",
                                        f"unit is required (the canonical unit of {type_} is {spec.unit})"))
    known = spec.units.get(unit.strip())
    if known is None:
        return _Conversion(spec, None, ("unit", "UNKNOWN_UNIT", f"{shown(unit)} is not a unit of {type_}; accepted: "
                                        + ", ".join(sorted(u for u in spec.units if u))))
    return _Conversion(spec, None, None, known.factor, known.offset,
                       spec.fraction_percent and unit in ("%", ""))


def source_error(source: str) -> tuple[str, str, str] | None:
    """(field, reason, message) for a source no row may carry (NUL, too long): batches that skip
    the request walk (a telemetry stream's, an upload's) have it checked here, per sample."""
    problem = text_problem(source)
    return None if problem is None else ("source", "INVALID_TEXT", f"source {problem}")


def check_rows(c: SampleColumns, now: dt.datetime, default_offset: Callable[[dt.datetime], int],
               default_source: str = "") -> Checks:
    """Checks every row and converts it to its type's canonical unit, one row at a time (bulk.py
    does the same for large batches with arrays). A bad row is reported with its field and
    reason and never sinks the others."""
    strings = list(c.strings)
    first: dict[str, int] = {}
    for i, s in enumerate(strings):
        first.setdefault(s, i)
    conversions: dict[int, _Conversion] = {}
    sources: dict[int, int] = {}  # input source index -> stored source index (trimmed, defaulted)
    latest = to_micros(now + ONE_DAY)
    out = CheckedColumns(strings)
    errors: list[ItemError] = []
    kept: dict[tuple[int, int, int], int] = {}  # natural key -> position in out
    superseded: list[tuple[int, int, bool]] = []
    appends = tuple(column.append for column in _columns(out)[:-1])  # the hashes come last, for the final rows
    for i in range(len(c.start_us)):
        ti, ui = c.type[i], c.unit[i]
        conv = conversions.get(ti << 32 | ui)
        if conv is None:
            conv = conversions[ti << 32 | ui] = _conversion(strings[ti], strings[ui])
        good = conv.type_error or _check_row(c, i, conv, latest, default_offset)
        if type(good) is not tuple and c.source[i] not in sources:
            good = source_error(strings[c.source[i]]) or good  # once per source string
        if type(good) is tuple:
            errors.append(ItemError(i, *good))
            continue
        si = sources.get(c.source[i])
        if si is None:
            name = (strings[c.source[i]] or default_source).strip()
            si = sources[c.source[i]] = first.setdefault(name, len(strings))
            if si == len(strings):
                strings.append(name)
        start, end = c.start_us[i], c.end_us[i]
        end = start if end is None else end
        row = (i, first[strings[ti]], start, si, end, good[0], good[1], good[2], good[3], good[4], c.value[i], ui,
               c.meal_context[i])
        key = row[1:4]
        position = kept.get(key)
        if position is None:
            kept[key] = len(out.row)
            for append, x in zip(appends, row):
                append(x)
            continue
        # The same key again: the later row wins; the earlier counts as a duplicate or an update.
        earlier, before = out.row[position], out.values_of(position)
        for column, x in zip(_columns(out), row):
            column[position] = x
        superseded.append((earlier, i, before == out.values_of(position)))
    out.row_hash.extend(row_hashes(out.start_us, out.end_us, out.offset, out.value, out.min, out.max, out.value2,
                                   out.meal_context).tolist())
    return Checks(out, errors, superseded)


def _check_row(c: SampleColumns, i: int, conv: _Conversion, latest: int,
               default_offset: Callable[[dt.datetime], int]) -> tuple:
    """[offset, value, min, max, value2] (canonical) for a good row, else (field, reason, message)."""
    if conv.unit_error and conv.unit_error[1] == "MISSING_FIELD":
        return conv.unit_error
    start = c.start_us[i]
    if start is None:
        return ("start_time", "MISSING_FIELD", "start_time is required")
    if not MIN_MICROS <= start <= latest:
        return ("start_time", "TIME_OUT_OF_RANGE", "start_time must lie between 1900-01-01 and a day from now")
    end = c.end_us[i]
    if end is not None:
        if end < start:
            return ("end_time", "END_BEFORE_START", "end_time is before start_time")
        if end > latest:
            return ("end_time", "TIME_OUT_OF_RANGE", "end_time lies more than a day in the future")
    offset = c.offset[i]
    if offset is None:
        offset = default_offset(from_micros(start))
    if not -MAX_OFFSET_MINUTES <= offset <= MAX_OFFSET_MINUTES:
        return ("utc_offset_minutes", "OFFSET_OUT_OF_RANGE", "utc_offset_minutes must lie between -1080 and 1080")
    if conv.unit_error:
        return conv.unit_error
    spec = conv.spec
    lowest, highest, factor, shift, fraction = spec.min_value, spec.max_value, conv.factor, conv.offset, conv.fraction
    converted = [offset]
    for raw in (c.value[i], c.min[i], c.max[i], c.value2[i]):
        if raw is None:
            converted.append(None)
            continue
        value = raw * 100.0 if fraction and -1.0 <= raw <= 1.0 else raw * factor + shift
        if not lowest <= value <= highest:
            name = VALUE_FIELDS[len(converted) - 1]
            if not math.isfinite(raw):
                return (name, "INVALID_VALUE", f"{name} must be a finite number")
            return (name, "VALUE_OUT_OF_RANGE", f"{name} {value:g} {spec.unit} is outside the valid range "
                    f"{lowest:g} to {highest:g} {spec.unit} of {spec.key}")
        converted.append(value)
    _, value, low, high, value2 = converted
    if spec.value2_meaning and value2 is None:
        return ("value2", "MISSING_FIELD", f"{spec.key} needs value2 ({spec.value2_meaning})")
    if not spec.value2_meaning and value2 is not None:
        return ("value2", "INVALID_VALUE", f"{spec.key} has no second value")
    if (low is not None and low > value) or (high is not None and high < value):
        return ("value", "INVALID_VALUE", "value must lie between min and max")
    if not 0 <= c.meal_context[i] < MEAL_CONTEXTS:
        return ("meal_context", "INVALID_VALUE", "meal_context is not a known value")
    return converted


def _columns(out: CheckedColumns) -> tuple[list, ...]:
    """The columns in the order check_rows builds a row."""
    return (out.row, out.type, out.start_us, out.source, out.end_us, out.offset, out.value, out.min, out.max,
            out.value2, out.original_value, out.original_unit, out.meal_context, out.row_hash)


def row_hashes(start_us, end_us, offset, value, low, high, value2, meal_context) -> np.ndarray:
    """A 40-bit hash per row (columns as lists or arrays) of what makes a stored row what it is
    beyond its rollup bucket (type, source, hour, offset): its start and values_of(). Each
    hourly rollup keeps the sum of its rows' hashes, so a bulk writer can tell an hour it would
    leave as it is; 40 bits keep any hour's sum within int64. A missing value hashes as -inf."""
    h = np.zeros(len(start_us), dtype=np.uint64)
    for column in (start_us, end_us, offset, meal_context):
        h = _mix(h ^ np.asarray(column, dtype=np.int64).view(np.uint64))
    for column in (value, low, high, value2):
        values = np.asarray(column, dtype=np.float64)  # None becomes NaN
        h = _mix(h ^ np.where(np.isnan(values), -np.inf, values).view(np.uint64))
    return (h >> np.uint64(24)).astype(np.int64)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit reaches every output bit (uint64 wraps around)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
