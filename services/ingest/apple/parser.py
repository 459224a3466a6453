"""A streaming parser for Apple Health's "Export All Health Data": export.zip or a bare export.xml.

export.xml is read incrementally with expat (the parser under xml.etree's XMLPullParser and
iterparse), fed bytes in chunks, so it works from a file, a zip member or an upload as it streams.
No element tree is built: only the top-level element being read and the few children that matter
(MetadataEntry, WorkoutStatistics, WorkoutRoute/FileReference, a Correlation's Records) are held,
and they are dropped as soon as that element's record is out, so memory stays flat however large
the file. Entity declarations (the billion-laughs and external-entity attacks) are refused, as
defusedxml does; export.xml's own DOCTYPE only declares elements and passes.

Every top-level element of HealthData but ExportDate yields exactly one record (records.py): a
SampleRecord, SleepRecord, WorkoutRecord or ProfileRecord, Skipped with a reason, or Rejected when
malformed. `metric` is the element's HealthKit type (or the element name: Workout, ActivitySummary,
Me), `path` its position, for example /HealthData/Record[12]. A file that cannot be read as a whole
raises ExportError, a records.PayloadError that says where.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

from services.common.errors import shown
from services.ingest.apple import types as T
from services.ingest.records import (
    PayloadError,
    ProfileRecord,
    Record,
    Rejected,
    RoutePoint,
    SampleRecord,
    Skipped,
    SleepRecord,
    SleepStage,
    WorkoutRecord,
)

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 16
ROOT = "HealthData"
# Children of a top-level element that the mapping reads; everything else (WorkoutEvent,
# HeartRateVariabilityMetadataList, ...) is passed over without being kept.
_KEPT_CHILDREN = frozenset({"MetadataEntry", "Record", "WorkoutStatistics", "WorkoutRoute", "FileReference"})
_MAX_KEPT_CHILDREN = 10_000  # per top-level element; a real one has a handful
_PER_MINUTE = frozenset({"count/min", "/min", "bpm", "beats/min"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# A route file's path -> (its points, how many could not be read), or None when it is missing or unreadable.
RouteLoader = Callable[[str], tuple[Sequence[RoutePoint], int] | None]

# A node of the element being read: (name, attributes, kept children).
_Node = tuple[str, dict[str, str], list]


class ExportError(PayloadError):
    """The export as a whole cannot be read. `path` is "<file>:<line>:<column>" for XML problems
    (1-based, as an editor shows them), or the file name; `line`/`column` are 0 when not known."""

    def __init__(self, path: str, reason: str, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(path, reason, message)
        self.line = line
        self.column = column


class _Bad(Exception):
    """A malformed element: becomes records.Rejected."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class AppleHealthParser:
    """Incremental parser for one export.xml.

    Feed it the XML's bytes in chunks of any size; each `feed` returns the records completed by
    that chunk, `close` the last ones (and raises if the document ended early). `route_loader`,
    when given, turns a WorkoutRoute's FileReference path ("/workout-routes/route_....gpx") into
    its points; parse_export passes one that reads the GPX from the zip.
    """

    def __init__(self, name: str = "export.xml", route_loader: RouteLoader | None = None) -> None:
        self.name = name
        self.export_date: dt.datetime | None = None
        self.locale = ""
        self._route_loader = route_loader
        self._out: list[Record] = []
        self._depth = 0
        self._stack: list[_Node | None] = []
        self._kept = 0
        self._counters: dict[str, int] = {}
        self._path = ""
        self._seen_root = False
        self._error: ExportError | None = None
        self._closed = False
        px = expat.ParserCreate()
        px.StartElementHandler = self._start
        px.EndElementHandler = self._end
        # Refuse what defusedxml refuses: entity declarations and external references.
        px.EntityDeclHandler = self._entity_declared
        px.UnparsedEntityDeclHandler = self._unparsed_entity_declared
        px.ExternalEntityRefHandler = self._external_entity
        px.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self._px = px

    # -- feeding ---------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[Record]:
        """Parse the next bytes; returns the records of the elements they completed."""
        self._check_usable()
        try:
            self._px.Parse(chunk, False)
        except expat.ExpatError as e:
            self._release()
            raise self._fail(T.INVALID_XML, e) from None
        except ExportError as e:
            self._error = e
            self._release()
            raise
        return self._take()

    def close(self) -> list[Record]:
        """End of input: returns the last records; raises ExportError if the document is cut short."""
        self._check_usable()
        self._closed = True
        try:
            self._px.Parse(b"", True)
        except expat.ExpatError as e:
            if not self._seen_root and e.code == expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS]:
                raise self._fail(T.EMPTY, e, "no XML element found (empty or not an export)") from None
            raise self._fail(T.TRUNCATED if self._depth > 0 else T.INVALID_XML, e) from None
        except ExportError as e:
            self._error = e
            raise
        finally:
            self._release()
        return self._take()

    def _release(self) -> None:
        """Drops the expat handlers (bound methods: a reference cycle) so the parser is freed at once."""
        px = self._px
        px.StartElementHandler = px.EndElementHandler = None
        px.EntityDeclHandler = px.UnparsedEntityDeclHandler = px.ExternalEntityRefHandler = None
        self._stack = []

    def _check_usable(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise RuntimeError("the parser is closed")

    def _take(self) -> list[Record]:
        out, self._out = self._out, []
        return out

    def _fail(self, reason: str, e: expat.ExpatError, what: str = "") -> ExportError:
        what = what or expat.errors.messages.get(e.code, str(e))
        if reason == T.TRUNCATED:
            what = f"the XML ends early ({what})"
        self._error = self._error_at(reason, what, e.lineno, e.offset)
        return self._error

    def _error_at(self, reason: str, what: str, line: int | None = None, column: int | None = None) -> ExportError:
        if line is None:
            line, column = self._px.CurrentLineNumber, self._px.CurrentColumnNumber
        column = (column or 0) + 1
        inside = f" (in {self._path})" if self._depth >= 2 and self._path else ""
        return ExportError(f"{self.name}:{line}:{column}", reason,
                           f"{self.name} line {line}, column {column}: {what}{inside}", line, column)

    def _entity_declared(self, name, is_parameter_entity, *rest) -> None:
        raise self._error_at(T.FORBIDDEN_ENTITY, f"entity declarations are not allowed (entity {shown(name)})")

    def _unparsed_entity_declared(self, name, *rest) -> None:
        raise self._error_at(T.FORBIDDEN_ENTITY, f"entity declarations are not allowed (entity {shown(name)})")

    def _external_entity(self, context, base, system_id, public_id) -> int:
        raise self._error_at(T.FORBIDDEN_ENTITY, f"external entities are not allowed ({shown(system_id)})")

    # -- expat handlers --------------------------------------------------------------------------

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        depth = self._depth = self._depth + 1
        if depth == 2:
            n = self._counters.get(name, 0) + 1
            self._counters[name] = n
            self._path = f"/{ROOT}/{name}[{n}]"
            self._stack = [(name, attrs, [])]
            self._kept = 0
        elif depth > 2:
            parent = self._stack[-1]
            if parent is not None and name in _KEPT_CHILDREN and self._kept < _MAX_KEPT_CHILDREN:
                node: _Node | None = (name, attrs, [])
                parent[2].append(node)
                self._kept += 1
            else:
                node = None
            self._stack.append(node)
        else:
            if name != ROOT:
                raise self._error_at(T.NOT_AN_EXPORT, f"the root element is <{name}>, not <{ROOT}>: "
                                                      "not an Apple Health export.xml")
            self._seen_root = True
            self.locale = attrs.get("locale", "")

    def _end(self, name: str) -> None:
        depth = self._depth
        if depth == 2:
            record = self._map(self._stack[0], self._path)
            if record is not None:
                self._out.append(record)
            self._stack = []
        elif depth > 2:
            self._stack.pop()
        self._depth = depth - 1

    # -- mapping ---------------------------------------------------------------------------------

    def _map(self, node: _Node, path: str) -> Record | None:
        name, attrs, children = node
        try:
            if name == "Record":
                return self._record(attrs, children, path)
            if name == "Correlation":
                return self._correlation(attrs, children, path)
            if name == T.WORKOUT:
                return self._workout(attrs, children, path)
            if name == T.ACTIVITY_SUMMARY:
                return Skipped(T.ACTIVITY_SUMMARY, path, T.DERIVED_SUMMARY)
            if name == T.ME:
                return self._me(attrs, path)
            if name == "ExportDate":  # about the file, not an item of data
                try:
                    self.export_date = _date(attrs, "value")
                except _Bad:
                    self.export_date = None
                return None
            return Skipped(name, path, T.UNSUPPORTED_TYPE)  # ClinicalRecord, Audiogram, ...
        except _Bad as bad:
            metric = name if name not in ("Record", "Correlation") else attrs.get("type") or name
            return Rejected(metric, path, bad.reason, bad.message)

    def _record(self, a: dict[str, str], children: list, path: str) -> Record:
        t = a.get("type")
        if not t:
            raise _Bad(T.MISSING_TYPE, "the Record has no type")
        qt = T.QUANTITY_TYPES.get(t)
        if qt is not None:
            start = _date(a, "startDate")
            # a point in time (most records) ends when it starts: its end is not parsed again
            end = start if a.get("endDate") == a["startDate"] else _date(a, "endDate")
            unit = a.get("unit", "")
            return SampleRecord(t, path, qt.key, start, end, _offset(start), _number(a, "value"),
                                T.UNIT_ALIASES.get(unit, unit), a.get("sourceName", ""),
                                meal_context=_meal_context(children) if t == T.GLUCOSE else 0)
        if t == T.SLEEP:
            value = a.get("value", "")
            stage = T.SLEEP_STAGES.get(value)
            if stage is None:
                return Skipped(t, path, T.UNSUPPORTED_VALUE)
            start, end = _date(a, "startDate"), _date(a, "endDate")
            return SleepRecord(metric=t, path=path, start_time=start, end_time=end, utc_offset_minutes=_offset(start),
                               source=a.get("sourceName", ""), stages=(SleepStage(stage, start, end),))
        if t == T.MINDFUL:
            start, end = _date(a, "startDate"), _date(a, "endDate")
            return SampleRecord(metric=t, path=path, type=T.MINDFUL_KEY, start_time=start, end_time=end,
                                utc_offset_minutes=_offset(start), value=(end - start).total_seconds() / 60.0,
                                unit="min", source=a.get("sourceName", ""))
        if t == T.STAND_HOUR:
            stood = T.STAND_HOUR_VALUES.get(a.get("value", ""))
            if stood is None:
                return Skipped(t, path, T.UNSUPPORTED_VALUE)
            start = _date(a, "startDate")
            return SampleRecord(metric=t, path=path, type=T.STAND_HOUR_KEY, start_time=start,
                                end_time=_date(a, "endDate"), utc_offset_minutes=_offset(start), value=stood,
                                unit="count", source=a.get("sourceName", ""))
        return Skipped(t, path, T.SKIPPED_RECORD_TYPES.get(t, T.UNSUPPORTED_TYPE))

    def _correlation(self, a: dict[str, str], children: list, path: str) -> Record:
        t = a.get("type")
        if not t:
            raise _Bad(T.MISSING_TYPE, "the Correlation has no type")
        if t != T.BLOOD_PRESSURE:
            return Skipped(t, path, T.UNSUPPORTED_TYPE)  # Food: its parts are listed as Records too
        parts = {c[1].get("type"): c[1] for c in children if c[0] == "Record"}
        systolic, diastolic = parts.get(T.SYSTOLIC), parts.get(T.DIASTOLIC)
        if systolic is None or diastolic is None:
            missing = "systolic" if systolic is None else "diastolic"
            raise _Bad(T.MISSING_VALUE, f"the blood pressure Correlation has no {missing} Record")
        unit, unit2 = systolic.get("unit", ""), diastolic.get("unit", "")
        if unit != unit2:
            raise _Bad(T.INCONSISTENT_UNITS, f"systolic is in {shown(unit)} but diastolic in {shown(unit2)}")
        when = a if "startDate" in a else systolic
        start = _date(when, "startDate")
        return SampleRecord(
            metric=t, path=path, type=T.BLOOD_PRESSURE_KEY, start_time=start,
            end_time=_date(when, "endDate") if "endDate" in when else start, utc_offset_minutes=_offset(start),
            value=_number(systolic, "value", "systolic value"), unit=T.UNIT_ALIASES.get(unit, unit),
            source=a.get("sourceName") or systolic.get("sourceName", ""),
            value2=_number(diastolic, "value", "diastolic value"))

    def _workout(self, a: dict[str, str], children: list, path: str) -> Record:
        activity = a.get("workoutActivityType", "")
        suffix = activity.removeprefix(T.ACTIVITY_TYPE_PREFIX)
        start, end = _date(a, "startDate"), _date(a, "endDate")
        distance = energy = steps = hr_min = hr_avg = hr_max = None
        ascent = descent = temperature = humidity = None
        extra: dict[str, float] = {}
        route: list[RoutePoint] = []
        for name, ca, cc in children:
            if name == "WorkoutStatistics":
                st, unit = ca.get("type", ""), ca.get("unit", "")
                if st in T.DISTANCE_STATISTICS and distance is None and "sum" in ca and unit in T.METERS:
                    distance = _number(ca, "sum", st) * T.METERS[unit]
                elif st == T.ACTIVE_ENERGY_STATISTIC and energy is None and "sum" in ca and unit in T.KCAL:
                    energy = _number(ca, "sum", st) * T.KCAL[unit]
                elif st == T.STEPS_STATISTIC and steps is None and "sum" in ca:
                    steps = _number(ca, "sum", st)
                elif st == T.HEART_RATE_STATISTIC and unit in _PER_MINUTE and hr_avg is None:
                    hr_min = _number(ca, "minimum", st) if "minimum" in ca else None
                    hr_avg = _number(ca, "average", st) if "average" in ca else None
                    hr_max = _number(ca, "maximum", st) if "maximum" in ca else None
                else:
                    short = st.removeprefix(T.Q)
                    for f in ("sum", "average", "minimum", "maximum"):
                        if f in ca:
                            extra[f"{short} {f} ({unit})"] = _number(ca, f, st)
            elif name == "MetadataEntry":
                key, value = ca.get("key", ""), ca.get("value", "")
                if key == "HKElevationAscended":
                    ascent = _quantity(value, T.METERS)
                elif key == "HKElevationDescended":
                    descent = _quantity(value, T.METERS)
                elif key == "HKWeatherTemperature":
                    temperature = _celsius(value)
                elif key == "HKWeatherHumidity":
                    humidity = _quantity(value, {"%": 1.0})
                    if humidity is not None and humidity > 100:  # exports write 55 % as "5500 %"
                        humidity /= 100.0
            elif name == "WorkoutRoute" and self._route_loader is not None:
                for ref in cc:
                    if ref[0] == "FileReference" and ref[1].get("path"):
                        loaded = self._route_loader(ref[1]["path"])
                        if loaded is None:
                            extra["route_files_dropped"] = extra.get("route_files_dropped", 0) + 1
                            continue
                        route.extend(loaded[0])
                        if loaded[1]:
                            extra["route_points_dropped"] = extra.get("route_points_dropped", 0) + loaded[1]
        # Exports before iOS 16 put the totals on the Workout itself.
        if distance is None and "totalDistance" in a and a.get("totalDistanceUnit") in T.METERS:
            distance = _number(a, "totalDistance") * T.METERS[a["totalDistanceUnit"]]
        if energy is None and "totalEnergyBurned" in a and a.get("totalEnergyBurnedUnit") in T.KCAL:
            energy = _number(a, "totalEnergyBurned") * T.KCAL[a["totalEnergyBurnedUnit"]]
        if "duration" in a and a.get("durationUnit", "min") in T.SECONDS:
            extra["duration_seconds"] = _number(a, "duration") * T.SECONDS[a.get("durationUnit", "min")]
        return WorkoutRecord(
            metric=T.WORKOUT, path=path, type=T.WORKOUT_TYPES.get(suffix, "other"), name=_CAMEL.sub(" ", suffix),
            start_time=start, end_time=end, utc_offset_minutes=_offset(start), source=a.get("sourceName", ""),
            distance_m=distance, active_energy_kcal=energy, steps=steps, elevation_ascent_m=ascent,
            elevation_descent_m=descent, heart_rate_min=hr_min, heart_rate_avg=hr_avg, heart_rate_max=hr_max,
            route=tuple(route), temperature_c=temperature, humidity_percent=humidity, extra=extra)

    def _me(self, a: dict[str, str], path: str) -> Record:
        born = a.get("HKCharacteristicTypeIdentifierDateOfBirth", "")
        try:
            birth_date = dt.date.fromisoformat(born) if born else None
        except ValueError:
            raise _Bad(T.INVALID_DATE, f"date of birth {shown(born)} is not a date like 1986-04-12") from None
        return ProfileRecord(T.ME, path, birth_date=birth_date,
                             sex=T.SEX.get(a.get("HKCharacteristicTypeIdentifierBiologicalSex", ""), ""))


# -- values ----------------------------------------------------------------------------------------

def _date(a: dict[str, str], key: str) -> dt.datetime:
    s = a.get(key)
    if not s:
        raise _Bad(T.INVALID_DATE, f"{key} is missing")
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        raise _Bad(T.INVALID_DATE, f"{key} {shown(s)} is not a date like 2026-03-01 08:00:00 +0100") from None
    if t.tzinfo is None:
        raise _Bad(T.INVALID_DATE, f"{key} {shown(s)} has no UTC offset")
    if not _representable(t):
        raise _Bad(T.INVALID_DATE, f"{key} {shown(s)} is out of range (years 1 to 9999 in UTC)")
    return t


def _representable(t: dt.datetime) -> bool:
    """Whether an aware time's instant is one a datetime (and a protobuf Timestamp) can hold:
    only in years 1 and 9999 can an offset take it out of range."""
    if 1 < t.year < 9999:
        return True
    try:
        t.astimezone(dt.UTC)
    except OverflowError:
        return False
    return True


_OFFSETS: dict[dt.tzinfo, int] = {}  # an export uses a handful of zones


def _offset(t: dt.datetime) -> int:
    zone = t.tzinfo
    minutes = _OFFSETS.get(zone)  # type: ignore[arg-type]
    if minutes is None:
        minutes = int(t.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
        if len(_OFFSETS) < 1024:
            _OFFSETS[zone] = minutes  # type: ignore[index]
    return minutes


def _number(a: dict[str, str], key: str, what: str = "") -> float:
    s = a.get(key)
    what = what or key
    if s is None or s == "":
        raise _Bad(T.MISSING_VALUE, f"{what} is missing")
    try:
        v = float(s)
    except ValueError:
        raise _Bad(T.INVALID_VALUE, f"{what} {shown(s)} is not a number") from None
    if not math.isfinite(v):
        raise _Bad(T.INVALID_VALUE, f"{what} {shown(s)} is not a finite number")
    return v


def _meal_context(children: list) -> int:
    for name, ca, _ in children:
        if name == "MetadataEntry" and ca.get("key") in T.MEAL_TIME_KEYS:
            return T.MEAL_CONTEXT.get(ca.get("value", "").strip(), 0)
    return 0


def _quantity(text: str, units: dict[str, float]) -> float | None:
    """A metadata quantity such as "1234 cm" in the unit table's base unit, None when unreadable."""
    number, _, unit = text.strip().partition(" ")
    factor = units.get(unit.strip())
    try:
        v = float(number)
    except ValueError:
        return None
    return v * factor if factor is not None and math.isfinite(v) else None


def _celsius(text: str) -> float | None:
    number, _, unit = text.strip().partition(" ")
    try:
        v = float(number)
    except ValueError:
        return None
    if unit in ("degC", "°C", "Cel"):
        return v
    if unit in ("degF", "°F"):
        return (v - 32.0) * 5.0 / 9.0
    return None


# -- GPX ---------------------------------------------------------------------------------------

_GPX_FIELDS = frozenset({"ele", "time", "speed", "course", "hAcc"})


def read_gpx(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> tuple[tuple[RoutePoint, ...], int]:
    """The track points of a GPX file (Apple's workout-routes/*.gpx), read incrementally, and how
    many were left out (no time or position). Raises ValueError if the GPX is unreadable."""
    points: list[RoutePoint] = []
    dropped = 0
    point: dict[str, str] | None = None
    field: str | None = None
    text: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal point, field
        local = name.rpartition(":")[2]
        if local in ("trkpt", "rtept"):
            point = {"lat": attrs.get("lat", ""), "lon": attrs.get("lon", "")}
        elif point is not None and local in _GPX_FIELDS:
            field = local
            text.clear()

    def end(name: str) -> None:
        nonlocal point, field, dropped
        local = name.rpartition(":")[2]
        if field is not None and local == field and point is not None:
            point[field] = "".join(text).strip()
            field = None
        elif local in ("trkpt", "rtept") and point is not None:
            p = _route_point(point)
            if p is not None:
                points.append(p)
            else:
                dropped += 1
            point = None

    def chars(data: str) -> None:
        if field is not None:
            text.append(data)

    def refuse(*args) -> None:
        raise ValueError("entity declarations are not allowed in a GPX file")

    px = expat.ParserCreate()
    px.buffer_text = True  # a text node in one call, not one per line or buffer boundary
    px.StartElementHandler, px.EndElementHandler, px.CharacterDataHandler = start, end, chars
    px.EntityDeclHandler = px.UnparsedEntityDeclHandler = refuse
    px.ExternalEntityRefHandler = refuse
    px.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        while chunk := stream.read(chunk_size):
            px.Parse(chunk, False)
        px.Parse(b"", True)
    except expat.ExpatError as e:
        raise ValueError(f"GPX line {e.lineno}, column {e.offset + 1}: {expat.errors.messages.get(e.code, e)}") \
            from None
    return tuple(points), dropped


def _route_point(p: dict[str, str]) -> RoutePoint | None:
    try:
        time = dt.datetime.fromisoformat(p["time"]) if p.get("time") else None
        lat, lon = float(p["lat"]), float(p["lon"])
    except ValueError:
        return None
    if time is None or time.tzinfo is None or not _representable(time):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return RoutePoint(time=time, latitude=lat, longitude=lon, altitude_m=_opt(p.get("ele")),
                      speed_mps=_opt(p.get("speed")), course_deg=_opt(p.get("course")),
                      horizontal_accuracy_m=_opt(p.get("hAcc")))


def _opt(s: str | None) -> float | None:
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


# -- files -----------------------------------------------------------------------------------------

def parse_export(source: str | os.PathLike[str] | BinaryIO, *, chunk_size: int = CHUNK_SIZE) -> Iterator[Record]:
    """Every record of an export.zip (apple_health_export/export.xml, or any */export.xml, with its
    workout-routes/*.gpx) or of a bare export.xml, as it is read. `source` is a path or a binary
    file object (seekable for a zip). Raises ExportError (a records.PayloadError) when the file as a
    whole cannot be read; records already yielded stay valid."""
    if isinstance(source, (str, os.PathLike)):
        display = Path(source).name
        with open(source, "rb") as fh:
            yield from _parse_stream(fh, display, chunk_size)
    else:
        display = Path(getattr(source, "name", "") or "upload").name
        yield from _parse_stream(source, display, chunk_size)


def _parse_stream(fh: BinaryIO, display: str, chunk_size: int) -> Iterator[Record]:
    seekable = fh.seekable()
    head = fh.read(4)
    if seekable:
        fh.seek(-len(head), os.SEEK_CUR)
    if head.startswith(b"PK"):
        if not seekable:
            raise ExportError(display, T.INVALID_ZIP, f"{display}: a zip can only be read from a file (seekable)")
        yield from _parse_zip(fh, display, chunk_size)
        return
    parser = AppleHealthParser(display)
    if not seekable:  # the bytes already read
        yield from parser.feed(head)
    while chunk := fh.read(chunk_size):
        yield from parser.feed(chunk)
    yield from parser.close()


def find_export_xml(names: Sequence[str]) -> str | None:
    """apple_health_export/export.xml if present, else the shallowest */export.xml."""
    candidates = [n for n in names if (n == "export.xml" or n.endswith("/export.xml"))
                  and not n.startswith("__MACOSX/")]
    if not candidates:
        return None
    for preferred in ("apple_health_export/export.xml", "export.xml"):
        if preferred in candidates:
            return preferred
    return min(candidates, key=lambda n: (n.count("/"), n))


def _parse_zip(fh: BinaryIO, display: str, chunk_size: int) -> Iterator[Record]:
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as e:
        raise ExportError(display, T.INVALID_ZIP, f"{display} is not a readable zip file: {e}") from None
    with zf:
        names = zf.namelist()
        member = find_export_xml(names)
        if member is None:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") if names else "nothing"
            raise ExportError(display, T.NO_EXPORT_XML,
                              f"{display} holds no export.xml (apple_health_export/export.xml or */export.xml); "
                              f"it holds {shown}")
        parser = AppleHealthParser(member, route_loader=_zip_route_loader(zf, names, posixpath.dirname(member)))
        try:
            with zf.open(member) as xml:
                while chunk := xml.read(chunk_size):
                    yield from parser.feed(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as e:
            raise ExportError(f"{display}:{member}", T.INVALID_ZIP,
                              f"{display}: cannot read {member} from the zip: {e}") from None
        yield from parser.close()


def _zip_route_loader(zf: zipfile.ZipFile, names: Sequence[str], base: str) -> RouteLoader:
    present = set(names)
    by_basename: dict[str, str] | None = None

    def load(ref: str) -> tuple[tuple[RoutePoint, ...], int] | None:
        nonlocal by_basename
        name = posixpath.normpath(posixpath.join(base, ref.lstrip("/")))
        if name not in present:
            if by_basename is None:
                by_basename = {posixpath.basename(n): n for n in names if n.lower().endswith(".gpx")}
            found = by_basename.get(posixpath.basename(ref))
            if found is None:
                log.warning("workout route file not in the export (%d routes present)", len(by_basename))
                return None
            name = found
        try:
            with zf.open(name) as gpx:
                return read_gpx(gpx)
        except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as e:
            log.warning("workout route unreadable: %s", e)
            return None

    return load
