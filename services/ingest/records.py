"""What the import parsers produce, whatever the input format: records ready for Tracking, and
the items they read but could not or would not store. Every item read yields exactly one of
these (or one row of a SampleRows), so the counts per input metric add up to the input.

`metric` is the input's own name for what the item is (the key the Ingestion counts it under:
`heart_rate` for Health Auto Export, `HKQuantityTypeIdentifierHeartRate` for Apple Health);
`path` says where it was (`$.data.metrics[0].data[3]` or `/HealthData/Record[12]`).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from services.common.convert import from_micros, to_micros


@dataclass(slots=True)  # not frozen: one per imported point, and a frozen init costs several times more
class SampleRecord:
    """One Tracking sample (types and units as Tracking's catalog and its input units accept)."""

    metric: str
    path: str
    type: str
    start_time: dt.datetime
    end_time: dt.datetime | None
    utc_offset_minutes: int | None
    value: float
    unit: str
    source: str = ""
    min: float | None = None
    max: float | None = None
    value2: float | None = None
    meal_context: int = 0  # tracking.v1.MealContext


NAN = float("nan")  # "not given" in SampleRows' min, max and value2


class ItemPaths:
    """The input paths of a batch's rows, in order. A series' points are runs of
    `prefix` + index + "]" over consecutive indices, kept as (prefix, first index, count): no
    string is made per point, as only the paths of rejected rows are ever read. Other paths are
    kept as they are given, consecutive ones in one list."""

    __slots__ = ("_runs", "_ends")

    def __init__(self) -> None:
        self._runs: list[tuple[str, int, int] | list[str]] = []
        self._ends: list[int] = []  # the row after each run

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def append(self, path: str) -> None:
        if self._runs and type(self._runs[-1]) is list:
            self._runs[-1].append(path)
            self._ends[-1] += 1
        else:
            self._add([path])

    def add_run(self, prefix: str, first: int, count: int) -> None:
        """The paths `prefix`first`]` to `prefix`first + count - 1`]`."""
        if count <= 0:
            return
        last = self._runs[-1] if self._runs else None
        if type(last) is tuple and last[0] == prefix and last[1] + last[2] == first:
            self._runs[-1] = (prefix, last[1], last[2] + count)
            self._ends[-1] += count
        else:
            self._add((prefix, first, count))

    def extend(self, other: ItemPaths) -> None:
        for run in other._runs:
            if type(run) is not list:
                self.add_run(*run)
            elif self._runs and type(self._runs[-1]) is list:
                self._runs[-1].extend(run)
                self._ends[-1] += len(run)
            else:
                self._add(list(run))  # (a copy: the other's list stays its own)

    def _add(self, run: tuple[str, int, int] | list[str]) -> None:
        self._ends.append(len(self) + (run[2] if type(run) is tuple else len(run)))
        self._runs.append(run)

    def __getitem__(self, i: int) -> str:
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = bisect.bisect_right(self._ends, i)
        run, start = self._runs[k], self._ends[k - 1] if k else 0
        return run[i - start] if type(run) is list else f"{run[0]}{run[1] + i - start}]"

    def split(self, n: int) -> tuple[ItemPaths, ItemPaths]:
        """(the first n paths, the rest)."""
        head, tail = ItemPaths(), ItemPaths()
        start = 0
        for run, end in zip(self._runs, self._ends):
            cut = min(max(n - start, 0), end - start)  # how many of this run go to the head
            if type(run) is list:
                if cut:
                    head._add(run[:cut])
                if cut < len(run):
                    tail._add(run[cut:])
            else:
                prefix, first, count = run
                if cut:
                    head._add((prefix, first, cut))
                if cut < count:
                    tail._add((prefix, first + cut, count - cut))
            start = end
        return head, tail

    def __iter__(self) -> Iterator[str]:
        for run in self._runs:
            if type(run) is list:
                yield from run
            else:
                prefix, first, count = run
                for i in range(first, first + count):
                    yield f"{prefix}{i}]"


@dataclass(slots=True)
class SampleRows:
    """Samples of one input metric in columns, the form they travel to Tracking in: long series
    are read into these without an object per sample. Row i is the i-th entry of every list.
    Offsets are given on every row or on none (`offset` is then None). The optional columns
    (end_us, min, max, value2, meal_context) are empty when no row has them, else one entry per
    row: a point in time ends at its start, NaN means not given, meal context 0 unspecified."""

    metric: str
    offset: list[int] | None
    paths: ItemPaths = field(default_factory=ItemPaths)
    type: list[str] = field(default_factory=list)
    unit: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    start_us: list[int] = field(default_factory=list)  # microseconds since the Unix epoch
    value: list[float] = field(default_factory=list)
    end_us: list[int] = field(default_factory=list)
    min: list[float] = field(default_factory=list)
    max: list[float] = field(default_factory=list)
    value2: list[float] = field(default_factory=list)
    meal_context: list[int] = field(default_factory=list)  # tracking.v1.MealContext

    def __len__(self) -> int:
        return len(self.start_us)

    def add(self, r: SampleRecord) -> None:
        """One more row, from a record (whose offset is given if and only if this batch's are)."""
        n = len(self.start_us)
        start = to_micros(r.start_time)
        self.paths.append(r.path)
        self.type.append(r.type)
        self.unit.append(r.unit)
        self.source.append(r.source)
        self.start_us.append(start)
        self.value.append(r.value)
        if self.offset is not None:
            self.offset.append(r.utc_offset_minutes)
        # (a point in time often has its start as its end: the same object, not converted twice)
        end = start if r.end_time is None or r.end_time is r.start_time else to_micros(r.end_time)
        if end != start or self.end_us:
            self._put("end_us", n, end, end != start)
        # Most rows have none of the optional columns, and nor has the batch.
        if r.min is not None or self.min:
            self._put("min", n, r.min, r.min is not None)
        if r.max is not None or self.max:
            self._put("max", n, r.max, r.max is not None)
        if r.value2 is not None or self.value2:
            self._put("value2", n, r.value2, r.value2 is not None)
        if r.meal_context != 0 or self.meal_context:
            self._put("meal_context", n, r.meal_context, r.meal_context != 0)

    def _put(self, name: str, n: int, value, given: bool) -> None:
        column = getattr(self, name)
        if column:
            column.append(value if given else self._absent(name, n, n + 1)[0])
        elif given:
            column.extend(self._absent(name, 0, n))
            column.append(value)

    def _absent(self, name: str, lo: int, hi: int) -> list:
        """What an optional column holds for rows lo..hi that lack it."""
        if name == "end_us":
            return self.start_us[lo:hi]
        return [0 if name == "meal_context" else NAN] * (hi - lo)

    def extend(self, other: SampleRows) -> None:
        n, m = len(self), len(other)
        for name in _OPTIONAL_COLUMNS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine or theirs:
                if not mine:
                    mine.extend(self._absent(name, 0, n))
                mine.extend(theirs or other._absent(name, 0, m))
        for name in _COLUMNS:
            getattr(self, name).extend(getattr(other, name))
        if self.offset is not None:
            self.offset.extend(other.offset)

    def split(self, n: int) -> tuple[SampleRows, SampleRows]:
        """(the first n rows, the rest)."""
        head, tail = SampleRows(self.metric, None), SampleRows(self.metric, None)
        for name in (*_COLUMNS, *_OPTIONAL_COLUMNS, "offset"):
            column = getattr(self, name)
            if column is not None:
                parts = column.split(n) if name == "paths" else (column[:n], column[n:])
                setattr(head, name, parts[0])
                setattr(tail, name, parts[1])
        return head, tail

    def records(self) -> list[SampleRecord]:
        """The rows one by one, as records (for reading them in tests and tools)."""
        n = len(self)
        full = {name: getattr(self, name) or self._absent(name, 0, n) for name in _OPTIONAL_COLUMNS}
        return [SampleRecord(self.metric, path, type_, from_micros(start), None if end == start else from_micros(end),
                             offset, value, unit, source, _given(lo), _given(hi), _given(v2), meal)
                for path, type_, unit, source, start, end, offset, value, lo, hi, v2, meal in zip(
                    self.paths, self.type, self.unit, self.source, self.start_us, full["end_us"],
                    self.offset or [None] * n, self.value, full["min"], full["max"], full["value2"],
                    full["meal_context"])]


_COLUMNS = ("paths", "type", "unit", "source", "start_us", "value")
_OPTIONAL_COLUMNS = ("end_us", "min", "max", "value2", "meal_context")


def _given(x: float) -> float | None:
    return None if x != x else x


@dataclass(frozen=True)
class RoutePoint:
    time: dt.datetime
    latitude: float
    longitude: float
    altitude_m: float | None = None
    speed_mps: float | None = None
    course_deg: float | None = None
    horizontal_accuracy_m: float | None = None


@dataclass(frozen=True)
class HeartRatePoint:
    time: dt.datetime
    bpm: float
    min_bpm: float | None = None
    max_bpm: float | None = None


@dataclass(frozen=True)
class WorkoutRecord:
    """One activity (Tracking's Activity); amounts in canonical units, None when not given."""

    metric: str
    path: str
    type: str  # Tracking's workout type key
    name: str  # the input's own name for it, for example "Outdoor Walk"
    start_time: dt.datetime
    end_time: dt.datetime
    utc_offset_minutes: int | None
    source: str = ""
    distance_m: float | None = None
    active_energy_kcal: float | None = None
    steps: float | None = None
    elevation_ascent_m: float | None = None
    elevation_descent_m: float | None = None
    heart_rate_min: float | None = None
    heart_rate_avg: float | None = None
    heart_rate_max: float | None = None
    heart_rate_series: tuple[HeartRatePoint, ...] = ()
    route: tuple[RoutePoint, ...] = ()
    temperature_c: float | None = None
    humidity_percent: float | None = None
    notes: str = ""
    app_id: str = ""  # the app's own id of the workout (Health Auto Export's "id"): its identity when given
    indoor: bool | None = None
    duration_s: float | None = None  # time moving, without pauses; None: end minus start
    total_energy_kcal: float | None = None
    speed_mps: float | None = None  # the app's average speed
    # Other per-workout figures, by name; "<what>_dropped" counts parts that could not be read
    # (route points, route files), which the Ingestion reports.
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SleepStage:
    stage: str  # AWAKE, CORE, DEEP, REM, IN_BED, ASLEEP (tracking.v1.SleepStage names)
    start_time: dt.datetime
    end_time: dt.datetime


@dataclass(frozen=True)
class SleepRecord:
    """One night (Tracking's SleepSession), or one stage segment to be joined into a night."""

    metric: str
    path: str
    start_time: dt.datetime
    end_time: dt.datetime
    utc_offset_minutes: int | None
    source: str = ""
    stages: tuple[SleepStage, ...] = ()
    asleep_seconds: int | None = None
    in_bed_seconds: int | None = None


@dataclass(frozen=True)
class ProfileRecord:
    """What an export says about its owner (Apple Health's Me element)."""

    metric: str
    path: str
    birth_date: dt.date | None = None
    sex: str = ""  # FEMALE, MALE, OTHER or ""


@dataclass(frozen=True)
class Skipped:
    """An item read and understood but not stored (no mapping yet); a reprocess may store it."""

    metric: str
    path: str
    reason: str  # UPPER_SNAKE, for example UNSUPPORTED_METRIC


@dataclass(frozen=True)
class Rejected:
    """An item that is malformed (bad date, missing value); the rest of the input goes on."""

    metric: str
    path: str
    reason: str  # UPPER_SNAKE, for example INVALID_DATE
    message: str


Record = SampleRecord | SampleRows | WorkoutRecord | SleepRecord | ProfileRecord | Skipped | Rejected


class PayloadError(Exception):
    """The input as a whole cannot be read: invalid JSON, a truncated body, a wrong top-level
    shape, a zip without export.xml. Says where."""

    def __init__(self, path: str, reason: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = reason
        self.message = message
