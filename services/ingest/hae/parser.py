"""Streaming parser for Health Auto Export payloads (REST API automation, JSON).

    parser = HaeParser()
    for chunk in body_chunks:
        for record in parser.feed(chunk):
            ...
    for record in parser.close():
        ...

Built on ijson's push interface (the yajl2 C backend when available): each chunk is tokenized as
it arrives, and only one data item (one heart-rate point, one workout) is ever materialized at a
time; its record is returned by the feed() call whose chunk completed it. Memory stays flat
whatever the payload size: pending output is at most the records completed within one chunk.

Every item read yields exactly one record (records.py): SampleRecord, SleepRecord, WorkoutRecord,
or Skipped / Rejected, with `metric` = the payload's own name for it and `path` = its JSON path.
A problem with the payload as a whole raises records.PayloadError saying where.

If a metric object lists its "data" before its "name" or "units" (the app never does; a
re-serializer sorting keys does), its items cannot be mapped yet: they are spilled to a temporary
file and read back one at a time once both are known (at the latest when the metric ends). The
parser itself still holds one item at a time, but that metric's records all come out of the one
feed() (or close()) that completes it.
"""

from __future__ import annotations

import itertools
import pickle
import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import ijson

from services.ingest.records import PayloadError, Record, Rejected, Skipped

from .metrics import INVALID_ITEM, MISSING_NAME, UNSUPPORTED_METRIC, item_handler
from .workouts import METRIC as WORKOUTS, workout_record

try:
    _BACKEND = ijson.get_backend("yajl2_c")
except Exception:  # pragma: no cover - C backend not built on this platform
    _BACKEND = ijson

# PayloadError reasons.
INVALID_JSON = "INVALID_JSON"
TRUNCATED = "TRUNCATED"
EMPTY_BODY = "EMPTY_BODY"
NOT_AN_OBJECT = "NOT_AN_OBJECT"
MISSING_DATA = "MISSING_DATA"
DATA_NOT_AN_OBJECT = "DATA_NOT_AN_OBJECT"
NOT_AN_ARRAY = "NOT_AN_ARRAY"

# Arrays of data besides metrics and workouts that newer app versions send; their items are
# reported as Skipped (UNSUPPORTED_METRIC) one by one, as is any other array under "data".
NEWER_ARRAYS = frozenset({"stateOfMind", "symptoms", "medications", "ecg", "heartRateNotifications",
                          "cycleTracking"})

# Frames of the structure above the items.
_ROOT, _DATA, _METRICS, _METRIC, _METRIC_DATA, _WORKOUTS, _OTHER = range(7)
_KIND = {"start_map": "an object", "start_array": "an array", "null": "null", "boolean": "a boolean",
         "number": "a number", "integer": "a number", "double": "a number", "string": "a string"}


SPILL_BATCH = 1000  # items pickled together while a metric's name or units are unknown


class _Metric:
    __slots__ = ("index", "name", "units", "has_name", "has_units", "handler", "spill", "spilled", "unspilled",
                 "count", "key", "prefix")

    def __init__(self, index: int) -> None:
        self.index = index
        self.name: str | None = None
        self.units: Any = None
        self.has_name = False
        self.has_units = False
        self.handler = None
        self.spill: IO[bytes] | None = None  # temporary file of the items read while name/units are unknown
        self.spilled = 0  # how many: always the metric's first items, data[0] .. data[spilled - 1]
        self.unspilled: list[tuple[Any, str]] = []  # the last few of them, written SPILL_BATCH at a time
        self.count = -1  # index of the last data item seen
        self.key: str | None = None
        self.prefix = ""


class _Frame:
    __slots__ = ("kind", "index", "key", "name")

    def __init__(self, kind: int, name: str = "") -> None:
        self.kind = kind
        self.index = -1
        self.key: str | None = None
        self.name = name


class HaeParser:
    """Incremental parser: feed(chunk) -> records completed so far; close() -> the rest.

    Raises records.PayloadError (from feed or close) for invalid JSON, a truncated body, or a
    top level that is not {"data": {...}}. After a PayloadError the parser is unusable."""

    def __init__(self) -> None:
        self._events = ijson.sendable_list()
        self._coro = _BACKEND.basic_parse_coro(self._events, use_float=True)
        self._offset = 0  # bytes fed so far
        self._out: list[Record] = []
        self._stack: list[Any] = []  # _Frame / _Metric
        self._started = False
        self._finished = False  # the top-level object has ended
        self._saw_data = False
        self._closed = False
        self._failed = False
        # value being built (one item): containers from outermost to innermost
        self._build: list[Any] = []
        self._bkey: Any = None
        self._on_built = None
        self._built_path = ""
        self._skip = 0  # depth of a value being skipped
        self._fast: _Metric | None = None  # set while in the data array of a metric ready to map

    @property
    def bytes_fed(self) -> int:
        return self._offset

    def feed(self, chunk: bytes) -> Iterable[Record]:
        """Parse one more chunk; returns the records of the items it completed."""
        if self._closed or self._failed:
            raise RuntimeError("the parser is closed" if self._closed else "the parser failed earlier")
        if not chunk:
            return []
        chunk = bytes(chunk)
        try:
            self._coro.send(chunk)
        except ijson.JSONError as e:
            self._run()  # the events before the error: they say where it is (or show an earlier problem)
            self._failed = True
            self._out = []
            raise self._json_error(e, chunk) from None
        self._offset += len(chunk)
        self._run()
        return self._take()

    def close(self) -> Iterable[Record]:
        """End of the body: the last records, or PayloadError if the body is incomplete."""
        if self._closed:
            return []
        if self._failed:
            raise RuntimeError("the parser failed earlier")
        self._closed = True
        try:
            self._coro.close()
        except ijson.JSONError as e:
            self._run()
            self._failed = True
            self._out = []
            if not self._started:
                raise PayloadError("$", EMPTY_BODY, f"the body is empty (at byte {self._offset})") from None
            if "premature EOF" in _message(e) or not self._finished:
                raise PayloadError(self._path(), TRUNCATED,
                                   f"the body ends before the JSON does, at byte {self._offset}") from None
            raise self._json_error(e, b"") from None
        self._run()
        if not self._finished:
            self._failed = True
            if not self._started:
                raise PayloadError("$", EMPTY_BODY, f"the body is empty (at byte {self._offset})")
            raise PayloadError(self._path(), TRUNCATED,
                               f"the body ends before the JSON does, at byte {self._offset}")
        return self._take()

    def _take(self) -> Iterable[Record]:
        """The records so far: a list, or, when spilled items are queued, an iterator that reads
        them from disk as it goes (iterate it before feeding more)."""
        out, self._out = self._out, []
        if not any(isinstance(x, _Replay) for x in out):
            return out
        return itertools.chain.from_iterable(x if isinstance(x, _Replay) else (x,) for x in out)

    # -- errors ---------------------------------------------------------------------------------

    def _json_error(self, e: Exception, chunk: bytes) -> PayloadError:
        msg = _message(e)
        first = msg.splitlines()[0].strip() if msg else "invalid JSON"
        off = _error_offset(msg, chunk)
        # yajl stops just after the token that broke the grammar (or the invalid character): step
        # back onto it; inside a string it stops on the bad byte itself.
        if off > 0 and (first.startswith("parse error") or "invalid char in json text" in first):
            off -= 1
        at = self._offset + off
        return PayloadError(self._path(), INVALID_JSON, f"invalid JSON at byte {at}: {first}")

    def _shape(self, path: str, reason: str, what: str) -> PayloadError:
        self._failed = True
        return PayloadError(path, reason, f"{what} (near byte {self._offset})")

    def _path(self) -> str:
        """The JSON path of where the parser is (for errors)."""
        parts = ["$"]
        for f in self._stack:
            if isinstance(f, _Metric):  # its index is the _METRICS frame's
                if f.key is not None:
                    parts.append(f".{f.key}")
                continue
            if f.kind in (_METRICS, _WORKOUTS, _OTHER, _METRIC_DATA):
                if f.index >= 0:
                    parts.append(f"[{f.index}]")
            elif f.key is not None:
                parts.append(f".{f.key}")
        return "".join(parts)

    # -- the event loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        events = self._events
        if not events:
            return
        build = self._build
        bkey = self._bkey
        skip = self._skip
        fast = self._fast
        try:
            for ev, val in events:
                if build:
                    if ev == "map_key":
                        bkey = val
                    elif ev == "end_map" or ev == "end_array":
                        done = build.pop()
                        if not build:
                            self._on_built(done, self._built_path)
                    elif ev == "start_map" or ev == "start_array":
                        new: Any = {} if ev == "start_map" else []
                        top = build[-1]
                        if type(top) is dict:
                            top[bkey] = new
                        else:
                            top.append(new)
                        build.append(new)
                    else:
                        top = build[-1]
                        if type(top) is dict:
                            top[bkey] = val
                        else:
                            top.append(val)
                    continue
                if skip:
                    if ev == "start_map" or ev == "start_array":
                        skip += 1
                    elif ev == "end_map" or ev == "end_array":
                        skip -= 1
                    continue
                if fast is not None and ev == "start_map":  # the next data item of a mapped metric
                    fast.count += 1
                    build.append({})
                    continue
                self._skip = 0
                self._structural(ev, val)
                skip = self._skip
                fast = self._fast
        finally:
            del events[:]
            self._bkey = bkey
            self._skip = skip

    def _begin_build(self, ev: str, on_built, path: str) -> None:
        self._build.append({} if ev == "start_map" else [])
        self._on_built = on_built
        self._built_path = path

    def _skip_value(self, ev: str) -> None:
        if ev == "start_map" or ev == "start_array":
            self._skip = 1

    def _structural(self, ev: str, val: Any) -> None:
        stack = self._stack
        if not stack:
            if self._finished:  # cannot happen: yajl refuses trailing values
                raise self._shape("$", INVALID_JSON, "more than one JSON value")
            self._started = True
            if ev != "start_map":
                raise self._shape("$", NOT_AN_OBJECT,
                                  f"the top level is {_KIND.get(ev, ev)}, not an object with \"data\"")
            stack.append(_Frame(_ROOT))
            return
        f = stack[-1]
        if type(f) is _Metric:
            self._in_metric(f, ev, val)
            return
        kind = f.kind
        if kind == _METRIC_DATA:
            m: _Metric = stack[-2]
            if ev == "end_array":
                stack.pop()
                m.key = None
                self._fast = None
                return
            m.count += 1
            f.index = m.count
            path = f"$.data.metrics[{m.index}].data[{m.count}]"
            if ev == "start_map":
                self._begin_build(ev, self._metric_item, path)
            else:
                self._skip_value(ev)
                self._metric_item_value(m, None, path, _KIND.get(ev, ev))
            return
        if kind == _ROOT or kind == _DATA:
            if ev == "map_key":
                f.key = val
                return
            if ev == "end_map":
                stack.pop()
                if kind == _ROOT:
                    self._finished = True
                    if not self._saw_data:
                        raise self._shape("$", MISSING_DATA, 'the top-level object has no "data"')
                return
            key = f.key
            if kind == _ROOT:
                if key == "data" and not self._saw_data:
                    self._saw_data = True
                    if ev != "start_map":
                        raise self._shape("$.data", DATA_NOT_AN_OBJECT, f'"data" is {_KIND.get(ev, ev)}, not an object')
                    f.key = "data"
                    stack.append(_Frame(_DATA))
                else:
                    self._skip_value(ev)  # other top-level fields carry no items
                return
            self._data_value(f, key, ev)
            return
        # an array of items: metrics, workouts, or another (newer) array
        if ev == "end_array":
            stack.pop()
            stack[-1].key = None
            return
        f.index += 1
        if kind == _METRICS:
            if ev == "start_map":
                stack.append(_Metric(f.index))
            else:
                self._skip_value(ev)
                self._out.append(Rejected("", f"$.data.metrics[{f.index}]", INVALID_ITEM,
                                          f"a metric must be an object, not {_KIND.get(ev, ev)}"))
        elif kind == _WORKOUTS:
            path = f"$.data.workouts[{f.index}]"
            if ev == "start_map":
                self._begin_build(ev, self._workout, path)
            else:
                self._skip_value(ev)
                self._out.append(Rejected(WORKOUTS, path, INVALID_ITEM,
                                          f"a workout must be an object, not {_KIND.get(ev, ev)}"))
        else:
            self._skip_value(ev)
            self._out.append(Skipped(f.name, f"$.data.{f.name}[{f.index}]", UNSUPPORTED_METRIC))

    def _data_value(self, f: _Frame, key: str, ev: str) -> None:
        path = f"$.data.{key}"
        if ev == "null":
            f.key = None
            return
        if key == "metrics" or key == "workouts":
            if ev != "start_array":
                raise self._shape(path, NOT_AN_ARRAY, f'"{key}" is {_KIND.get(ev, ev)}, not an array')
            self._stack.append(_Frame(_METRICS if key == "metrics" else _WORKOUTS, key))
            return
        if ev == "start_array":
            self._stack.append(_Frame(_OTHER, key))
            return
        # some other field under "data" that is not an array of items: reported, not stored
        self._skip_value(ev)
        self._out.append(Skipped(key, path, UNSUPPORTED_METRIC))
        f.key = None

    def _in_metric(self, m: _Metric, ev: str, val: Any) -> None:
        if ev == "map_key":
            m.key = val
            return
        if ev == "end_map":
            self._stack.pop()
            self._end_metric(m)
            return
        key = m.key
        if key == "name" or key == "units":
            if key == "name":
                m.has_name = True
                m.name = val if ev == "string" else None
            else:
                m.has_units = True
                m.units = val if ev != "null" else None
            self._skip_value(ev)
            if m.spill is not None and m.has_name and m.has_units:
                self._replay(m)  # now, so that a later "data" array cannot overtake the spilled items
        elif key == "data":
            if ev == "start_array":
                self._stack.append(_Frame(_METRIC_DATA))
                if m.has_name and m.has_units:
                    m.handler = m.handler or self._handler(m)
                    m.prefix = f"$.data.metrics[{m.index}].data["
                    self._fast = m
                    self._on_built = self._fast_item
                return
            if ev != "null":  # "data": null is no items, no error
                self._skip_value(ev)
                self._out.append(Rejected(m.name or "", f"$.data.metrics[{m.index}].data", INVALID_ITEM,
                                          f'"data" is {_KIND.get(ev, ev)}, not an array'))
        else:
            self._skip_value(ev)
        m.key = None

    def _fast_item(self, item: dict, _: str) -> None:
        m = self._fast
        self._out.append(m.handler(item, m.prefix + str(m.count) + "]"))

    def _metric_item(self, item: dict, path: str) -> None:
        self._metric_item_value(self._stack[-2], item, path, "")

    def _metric_item_value(self, m: _Metric, item: Any, path: str, not_object: str) -> None:
        if m.handler is None and not (m.has_name and m.has_units):
            # cannot be mapped yet: on disk rather than in memory, whatever the metric's size
            if m.spill is None:
                m.spill = tempfile.TemporaryFile(prefix="healthmesh-hae-")
            m.unspilled.append((item, not_object))
            m.spilled += 1
            if len(m.unspilled) >= SPILL_BATCH:
                _spill(m)
            return
        self._map(m, item, path, not_object)

    def _map(self, m: _Metric, item: Any, path: str, not_object: str) -> None:
        m.handler = m.handler or self._handler(m)
        self._out.append(_record(m.name or "", m.handler, item, path, not_object))

    def _handler(self, m: _Metric):
        name = m.name
        if not name:
            return lambda item, path: Rejected("", path, MISSING_NAME, "the metric has no name")
        return item_handler(name, m.units)

    def _replay(self, m: _Metric) -> None:
        """Queues the spilled items, to be mapped one at a time, in their order, as the caller iterates."""
        m.handler = m.handler or self._handler(m)
        _spill(m)
        self._out.append(_Replay(m.spill, m.spilled, f"$.data.metrics[{m.index}].data[", m.name or "", m.handler))
        m.spill, m.spilled = None, 0

    def _end_metric(self, m: _Metric) -> None:
        if m.spill is not None:
            self._replay(m)

    def _workout(self, w: dict, path: str) -> None:
        self._out.append(workout_record(w, path))


def _spill(m: _Metric) -> None:
    if m.unspilled:
        pickle.dump(m.unspilled, m.spill, pickle.HIGHEST_PROTOCOL)  # a list at a time: far cheaper per item
        m.unspilled = []


def _record(name: str, handler, item: Any, path: str, not_object: str) -> Record:
    if not_object:
        return Rejected(name, path, INVALID_ITEM, f"a data item must be an object, not {not_object}")
    return handler(item, path)


class _Replay:
    """Spilled items of one metric, read back and mapped one at a time when iterated."""

    def __init__(self, spill, count: int, prefix: str, name: str, handler) -> None:
        self._spill, self._count, self._prefix, self._name, self._handler = spill, count, prefix, name, handler

    def __iter__(self) -> Iterator[Record]:
        with self._spill:
            self._spill.seek(0)
            i = 0
            while i < self._count:
                for item, not_object in pickle.load(self._spill):
                    yield _record(self._name, self._handler, item, f"{self._prefix}{i}]", not_object)
                    i += 1


def parse_bytes(data: bytes, chunk_size: int = 65536) -> list[Record]:
    """All records of a whole payload (tests, small payloads)."""
    p = HaeParser()
    out: list[Record] = []
    for i in range(0, len(data), chunk_size):
        out.extend(p.feed(data[i:i + chunk_size]))
    out.extend(p.close())
    return out


# -- locating yajl's errors ------------------------------------------------------------------------

def _message(e: Exception) -> str:
    arg = e.args[0] if e.args else ""
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    s = str(arg)
    if s.startswith(("b'", 'b"')):
        try:
            import ast

            return ast.literal_eval(s).decode("utf-8", "replace")
        except (ValueError, SyntaxError):
            return s
    return s


_CONTEXT = re.compile(r"\n( *)([^\n]*)\n +\(right here\) -+\^")


def _error_offset(msg: str, chunk: bytes) -> int:
    """The error's offset within `chunk`, read from yajl's verbose message: its context line shows
    up to 30 bytes either side of the error, indented so that the error sits at column 40."""
    m = _CONTEXT.search(msg)
    if m is None or not chunk:
        return 0
    indent, text = len(m.group(1)), m.group(2)
    if indent > 10:  # the error is at offset 40 - indent: fewer than 30 bytes precede it
        return max(0, min(len(chunk), 40 - indent))
    before = text.encode("utf-8", "replace")[:30]
    hay = chunk.replace(b"\n", b" ").replace(b"\r", b" ")
    pos = hay.find(before)
    return pos + len(before) if pos >= 0 else 0
