"""Streaming parser for Health Auto Export payloads (REST API automation, JSON).

    parser = HaeParser()
    for chunk in body_chunks:
        for record in parser.feed(chunk):
            ...
    for record in parser.close():
        ...

The structure above the items ({"data": {"metrics": [{"name", "units", "data": [...]}], ...}})
is walked here; each item (one heart-rate point, one workout) is read whole by the standard
library's C JSON scanner, straight from the decoded text, so Python does a few steps per item
rather than one per token. A sample metric's run of items up to the last one the text holds
whole is first offered to SampleItems.add_block, which decodes usual series points in one step
(or takes none of them). The text held is what the last chunk left unfinished plus the next
chunk; an item is materialized only once all of it has arrived, and its record is returned by
the feed() call whose chunk completed it. Memory stays flat whatever the payload size.

Every item read yields exactly one record (records.py) or one row of a SampleRows: SleepRecord,
WorkoutRecord, Skipped / Rejected, with `metric` = the payload's own name for it and `path` = its
JSON path.
A problem with the payload as a whole raises records.PayloadError saying where.

If a metric object lists its "data" before its "name" or "units" (the app never does; a
re-serializer sorting keys does), its items cannot be mapped yet. The parser then reads ahead
(ahead.py): it skims the text that follows for the end of the array and the members after it,
holding the text fed meanwhile on disk, and once it has both it parses on through the held text,
mapping the items as they are read; what it reads later is checked against what it read ahead.
If the skim gives up (no name or units after the array, more "data" first), the items are
spilled, as parsed (marshal), to a temporary file and read back a block at a time once both are
known (at the latest when the metric ends). Either way the parser holds little in memory, but
that metric's records come out of the one feed() (or close()) that completes it, as an iterator
(iterate it before feeding more).

Sample items become rows of columns (records.SampleRows: a feed's or a block's rows at a time),
not a record each.
"""

from __future__ import annotations

import codecs
import itertools
import json
import json.decoder
import json.scanner
import marshal
import re
import struct
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from services.common.errors import shown
from services.ingest.records import PayloadError, Record, Rejected, Skipped

from .ahead import Ahead, Held
from .dates import kind_of
from .metrics import INVALID_ITEM, MISSING_NAME, UNSUPPORTED_METRIC, RecordItems, SampleItems, metric_items
from .workouts import METRIC as WORKOUTS, workout_record

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

SPILL_BATCH = 1000  # items written together while a metric's name or units are unknown
BLOCK_CHARS = 1024  # text of items worth trying to read in one step (SampleItems.add_block)
RETRY_CHARS = 4096  # after an unfinished step, wait for at least this much more text (or twice as much)

_WS = re.compile(r"[ \t\n\r]*")
_LITERALS = ("true", "false", "null")


class _NotJson(ValueError):
    """NaN and Infinity, which Python's scanner would accept and JSON does not."""


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON")


_scan = json.scanner.c_make_scanner(json.JSONDecoder(parse_constant=_no_constant))


class _More(Exception):
    """The text ends inside the step being read: wait for more (or, at the end, it is truncated)."""


class _Pause(Exception):
    """A metric's items come before its name or units: stop, and read ahead for them."""


# Frames of the structure above the items.
_ROOT, _DATA, _METRICS, _METRIC, _METRIC_DATA, _WORKOUTS, _OTHER = range(7)


class _Frame:
    __slots__ = ("kind", "first", "index", "key", "name")

    def __init__(self, kind: int, name: str = "") -> None:
        self.kind = kind
        self.first = True  # no member or element read yet
        self.index = -1  # arrays: the element being read
        self.key: str | None = None  # objects: the member being read
        self.name = name  # other arrays: their key under "data"


class _Metric(_Frame):
    __slots__ = ("at", "metric_name", "units", "has_name", "has_units", "hint", "items", "spill", "unspilled",
                 "count", "prefix")

    def __init__(self, at: int) -> None:
        super().__init__(_METRIC)
        self.at = at  # its index in "metrics"
        self.metric_name: str | None = None
        self.units: Any = None
        self.has_name = False
        self.has_units = False
        self.hint: tuple[Any, Any] | None = None  # (name, units), read ahead before the items
        self.items: SampleItems | RecordItems | None = None  # what reads the items, once name and units are known
        self.spill: IO[bytes] | None = None  # temporary file of the items read while name/units are unknown
        self.unspilled: list[Any] = []  # the last few, parsed, written SPILL_BATCH at a time
        self.count = -1  # index of the last data item seen
        self.prefix = f"$.data.metrics[{at}].data["  # of its items' paths

    @property
    def ready(self) -> bool:
        return self.has_name and self.has_units


class HaeParser:
    """Incremental parser: feed(chunk) -> records completed so far; close() -> the rest.

    Raises records.PayloadError (from feed or close) for invalid JSON, a truncated body, or a
    top level that is not {"data": {...}}. After a PayloadError the parser is unusable."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._text = ""  # decoded text not yet consumed, from self._pos on
        self._pos = 0
        self._base = 0  # bytes of the input before self._text
        self._offset = 0  # bytes fed so far
        self._want = 0  # pending text needed before trying again
        self._eof = False
        self._out: list[Any] = []
        self._stack: list[_Frame] = []
        self._started = False
        self._finished = False  # the top-level object has ended
        self._saw_data = False
        self._closed = False
        self._failed = False
        self._ahead: tuple[Ahead, _Metric] | None = None  # reading ahead for this metric's name and units
        self._held: Held | None = None  # text fed meanwhile, not parsed yet

    @property
    def bytes_fed(self) -> int:
        return self._offset

    def feed(self, chunk: bytes) -> Iterable[Record]:
        """Parse one more chunk; returns the records of the items it completed."""
        if self._closed or self._failed:
            raise RuntimeError("the parser is closed" if self._closed else "the parser failed earlier")
        if not chunk:
            return []
        try:
            text = self._decoder.decode(chunk)
        except UnicodeDecodeError as e:
            self._failed = True
            raise PayloadError(self._path(), INVALID_JSON,
                               f"invalid JSON at byte {self._offset + e.start}: the body is not UTF-8") from None
        self._offset += len(chunk)
        if self._held is not None:  # reading ahead, or parsing what was held meanwhile
            return self._hold(text)
        self._append(text)
        if len(self._text) - self._pos >= self._want:
            self._run()
        if self._ahead is not None:
            self._held = Held()
        return self._take()

    def close(self) -> Iterable[Record]:
        """End of the body: the last records, or PayloadError if the body is incomplete."""
        if self._closed:
            return []
        if self._failed:
            raise RuntimeError("the parser failed earlier")
        self._closed = True
        try:
            last = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            last = ""  # a character cut short: the structure is unfinished too, which says more
        if self._held is not None:
            return self._hold(last, final=True)
        self._append(last)
        return self._end()

    def _end(self) -> Iterable[Record]:
        self._eof = True
        self._run()
        if not self._finished:
            self._failed = True
            self._out = []
            if not self._started:
                raise PayloadError("$", EMPTY_BODY, f"the body is empty (at byte {self._offset})")
            raise PayloadError(self._path(), TRUNCATED, f"the body ends before the JSON does, at byte {self._offset}")
        return self._take()

    def _append(self, text: str) -> None:
        done = self._text[:self._pos]
        self._base += len(done) if done.isascii() else len(done.encode("utf-8"))
        self._text = self._text[self._pos:] + text
        self._pos = 0

    def _take(self) -> Iterable[Record]:
        """The records so far: a list, or, when spilled items are queued, an iterator that reads
        them from disk as it goes (iterate it before feeding more)."""
        out, self._out = self._out, []
        if not any(isinstance(x, _Replay) for x in out):
            return out
        return itertools.chain.from_iterable(x if isinstance(x, _Replay) else (x,) for x in out)

    def _hold(self, text: str, final: bool = False) -> Iterable[Record]:
        """Text fed while reading ahead (or before the text held is parsed): kept and skimmed;
        once the skim is done, parsing goes on through what was held."""
        if text:
            self._held.append(text)
            if self._ahead is not None:
                self._ahead[0].add(text)
        if self._ahead is not None and not self._ahead[0].done and not final:
            return []
        return self._resume(final)

    def _resume(self, final: bool) -> Iterator[Record]:
        """Parses on from where reading ahead paused, through the text held, a piece at a time (so
        memory stays flat), as the caller iterates; stops again at a later metric whose name also
        comes after its items, until the text it needs has been fed (or, at the end, gives up)."""
        held = self._held
        while True:
            if self._ahead is not None:  # (its skim has seen all the text fed so far)
                if not self._ahead[0].done and not final:
                    return  # the rest comes with later feeds
                self._read_ahead()
                self._run()
                yield from self._take()
                continue
            if not held:
                break
            self._append(held.pop())
            if len(self._text) - self._pos >= self._want:
                self._run()
            yield from self._take()
        held.close()
        self._held = None
        if final:
            yield from self._end()

    # -- reading the text -----------------------------------------------------------------------

    def _byte(self, at: int) -> int:
        """The input byte offset of text position `at`."""
        before = self._text[:at]
        return self._base + (len(before) if before.isascii() else len(before.encode("utf-8")))

    def _invalid(self, at: int, what: str) -> PayloadError:
        self._failed = True
        return PayloadError(self._path(), INVALID_JSON, f"invalid JSON at byte {self._byte(at)}: {what}")

    def _shape(self, path: str, reason: str, what: str) -> PayloadError:
        self._failed = True
        return PayloadError(path, reason, f"{what} (near byte {self._byte(self._pos)})")

    def _kind_at(self, at: int) -> str:
        """What the value at `at` is, from its first character where that says (a container is not read whole)."""
        c = self._text[at]
        if c == "{":
            return "an object"
        if c == "[":
            return "an array"
        value, _ = self._value(at)
        return kind_of(value)

    def _next(self, at: int) -> tuple[str, int]:
        """The first character at or after `at` that is not whitespace, and its position."""
        at = _WS.match(self._text, at).end()
        if at >= len(self._text):
            raise _More
        return self._text[at], at

    def _value(self, at: int) -> tuple[Any, int]:
        """The JSON value at `at` (no whitespace before it) and where it ends."""
        text = self._text
        try:
            return _scan(text, at)
        except StopIteration as e:
            bad, what = e.value, "expected a value"
        except json.JSONDecodeError as e:
            if e.msg.startswith("Unterminated string"):
                raise _More from None
            bad, what = e.pos, e.msg[0].lower() + e.msg[1:]
        except _NotJson as e:
            raise self._invalid(at, str(e)) from None
        except RecursionError:
            raise self._invalid(at, "values nested too deeply") from None
        if self._unfinished(bad):
            raise _More
        raise self._invalid(bad, what)

    def _unfinished(self, at: int) -> bool:
        """Whether a scan that failed at `at` may only have run out of text."""
        rest = self._text[at:]
        if not rest.strip(" \t\n\r"):
            return True
        if self._eof:  # only a literal or a number cut short at the very end
            return any(word.startswith(rest) for word in _LITERALS) or rest in ("-", ".") or rest[-1:] in "eE+-."
        return len(rest) <= 6  # the longest token that can end a text unfinished: \uXXXX

    def _key(self, at: int) -> tuple[str, int]:
        """A member's key at `at` and the position after its colon."""
        if self._text[at] != '"':
            raise self._invalid(at, "expected a string key")
        try:
            key, end = json.decoder.scanstring(self._text, at + 1, True)
        except json.JSONDecodeError as e:
            if e.msg.startswith("Unterminated string") or self._unfinished(e.pos):
                raise _More from None
            raise self._invalid(e.pos, e.msg[0].lower() + e.msg[1:]) from None
        c, end = self._next(end)
        if c != ":":
            raise self._invalid(end, "expected ':' after a key")
        return key, end + 1

    def _member(self, f: _Frame) -> tuple[str | None, int]:
        """The next member of object `f`: (its key, where its value starts), or (None, after the
        closing brace)."""
        c, at = self._next(self._pos)
        if c == "}":
            return None, at + 1
        if not f.first:
            if c != ",":
                raise self._invalid(at, "expected ',' or '}'")
            c, at = self._next(at + 1)
        key, at = self._key(at)
        _, at = self._next(at)
        return key, at

    def _element(self, f: _Frame) -> int:
        """Where the next element of array `f` starts, or -1 after its closing bracket (self._pos
        then points past it)."""
        c, at = self._next(self._pos)
        if c == "]":
            self._pos = at + 1
            return -1
        if not f.first:
            if c != ",":
                raise self._invalid(at, "expected ',' or ']'")
            _, at = self._next(at + 1)
        return at

    # -- the structure ----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._finished or self._pos < len(self._text):
                self._step()
            self._want = 0
        except _Pause:
            self._want = 0
        except _More:
            pending = len(self._text) - self._pos
            self._want = pending + max(RETRY_CHARS, pending)

    def _step(self) -> None:
        stack = self._stack
        if self._finished:
            c, at = self._next(self._pos)
            raise self._invalid(at, "more than one JSON value")
        if not stack:
            c, at = self._next(self._pos)
            self._started = True
            if c != "{":
                raise self._shape("$", NOT_AN_OBJECT, f'the top level is {self._kind_at(at)}, not an object with "data"')
            self._pos = at + 1
            stack.append(_Frame(_ROOT))
            return
        f = stack[-1]
        kind = f.kind
        if kind == _METRIC_DATA:
            self._metric_data(f, stack[-2])
        elif kind in (_METRICS, _WORKOUTS, _OTHER):
            self._array_element(f)
        else:
            self._object_member(f)

    def _object_member(self, f: _Frame) -> None:
        key, at = self._member(f)
        if key is None:
            self._pos = at
            self._stack.pop()
            if f.kind == _ROOT:
                self._finished = True
                if not self._saw_data:
                    raise self._shape("$", MISSING_DATA, 'the top-level object has no "data"')
            elif f.kind == _METRIC:
                self._end_metric(f)  # type: ignore[arg-type]
            if self._stack:
                self._done(self._stack[-1], at)
            return
        c = self._text[at]
        if f.kind == _ROOT:
            if key == "data" and not self._saw_data:
                f.key = "data"
                if c != "{":
                    self._saw_data = True
                    raise self._shape("$.data", DATA_NOT_AN_OBJECT, f'"data" is {self._kind_at(at)}, not an object')
                self._saw_data = True
                self._opened(at, _Frame(_DATA))
                return
            _, end = self._value(at)  # other top-level fields carry no items
            self._done(f, end)
        elif f.kind == _DATA:
            self._data_member(f, key, c, at)
        else:
            self._metric_member(f, key, c, at)  # type: ignore[arg-type]

    def _opened(self, at: int, child: _Frame) -> None:
        """A container begins at `at` (its parent's key or index, set before, names it): its frame goes on the stack."""
        self._pos = at + 1
        self._stack.append(child)

    def _done(self, f: _Frame, end: int) -> None:
        """A member or element of `f` was read whole, up to `end`."""
        self._pos = end
        f.first = False
        f.key = None

    def _data_member(self, f: _Frame, key: str, c: str, at: int) -> None:
        path = f"$.data.{key}"
        if c == "[":
            f.key = key
            kind = _METRICS if key == "metrics" else _WORKOUTS if key == "workouts" else _OTHER
            self._opened(at, _Frame(kind, key))
            return
        if key in ("metrics", "workouts") and c != "n":
            f.key = key
            raise self._shape(path, NOT_AN_ARRAY, f'"{key}" is {self._kind_at(at)}, not an array')
        value, end = self._value(at)
        if value is not None:
            # some other field under "data" that is not an array of items: reported, not stored
            self._out.append(Skipped(key, path, UNSUPPORTED_METRIC))
        self._done(f, end)

    def _metric_member(self, m: _Metric, key: str, c: str, at: int) -> None:
        if key == "data" and c == "[":
            m.key = "data"
            self._opened(at, _Frame(_METRIC_DATA))
            if not m.ready and m.spill is None:
                ahead = Ahead(_scan, m.has_name, m.metric_name, m.has_units, m.units)
                self._ahead = (ahead, m)
                # All the text fed so far is skimmed: what this feed holds, then what is held from earlier ones.
                if not ahead.add(self._text, self._pos) and not (
                        self._held is not None and any(ahead.add(text) for text in self._held.unread())):
                    if not self._eof:
                        raise _Pause
                    ahead.give_up()
                self._read_ahead()
            if m.ready:
                m.items = m.items or self._items(m)
            return
        value, end = self._value(at)
        if key == "name" or key == "units":
            if key == "name":
                m.has_name = True
                m.metric_name = value if type(value) is str else None
            else:
                m.has_units = True
                m.units = None if isinstance(value, (dict, list)) else value
            if m.hint is not None and m.ready:
                if m.hint != (m.metric_name, m.units):
                    raise RuntimeError(f"read ahead {shown(m.hint)} for metric {m.at}, "
                                       f"then read {shown(m.metric_name)}")
                m.hint = None
            if m.spill is not None and m.ready:
                self._replay(m)  # now, so that a later "data" array cannot overtake the spilled items
        elif key == "data" and value is not None:  # "data": null is no items, no error
            self._out.append(Rejected(m.metric_name or "", f"$.data.metrics[{m.at}].data", INVALID_ITEM,
                                      f'"data" is {kind_of(value)}, not an array'))
        self._done(m, end)

    def _array_element(self, f: _Frame) -> None:
        at = self._element(f)
        if at < 0:
            self._stack.pop()
            self._done(self._stack[-1], self._pos)
            return
        index = f.index + 1
        if f.kind == _METRICS and self._text[at] == "{":
            f.index = index
            self._opened(at, _Metric(index))
            return
        value, end = self._value(at)
        f.index = index
        if f.kind == _METRICS:
            self._out.append(Rejected("", f"$.data.metrics[{index}]", INVALID_ITEM,
                                      f"a metric must be an object, not {kind_of(value)}"))
        elif f.kind == _WORKOUTS:
            path = f"$.data.workouts[{index}]"
            if type(value) is dict:
                self._out.append(workout_record(value, path))
            else:
                self._out.append(Rejected(WORKOUTS, path, INVALID_ITEM,
                                          f"a workout must be an object, not {kind_of(value)}"))
        else:
            self._out.append(Skipped(f.name, f"$.data.{f.name}[{index}]", UNSUPPORTED_METRIC))
        self._done(f, end)

    def _metric_data(self, f: _Frame, m: _Metric) -> None:
        """The items of a metric's "data" array, as many as the text holds, in one loop: the
        separator after an item ("," with no space, as the app writes it) is checked in place."""
        text, out = self._text, self._out
        ready = m.ready or m.hint is not None
        add, prefix = m.items.add if ready else None, m.prefix
        try:
            self._items_of(f, m, text, out, ready, add, prefix)
        finally:  # also when waiting for more text: the rows read so far go out with this feed
            if ready:
                rows = m.items.take()
                if rows is not None:
                    out.append(rows)
        self._stack.pop()
        self._done(m, self._pos)

    def _items_of(self, f: _Frame, m: _Metric, text: str, out: list, ready: bool, add, prefix: str) -> None:
        at = self._element(f)
        block = ready and type(m.items) is SampleItems
        while at >= 0:
            if block:  # the items up to the last one the text holds whole, in one step if they are usual points
                block = False
                last = text.rfind("},{", at)  # (the app writes no space between items)
                if last - at >= BLOCK_CHARS:
                    first = m.count + 1
                    taken = m.items.add_block(f"[{text[at:last + 1]}]", prefix, first)
                    if taken:
                        # The text up to `last` read as an array of items: so they are exactly this array's next ones.
                        m.count += taken
                        self._pos = last + 1
                        f.first = False
                        at = last + 2
                        continue
            if text[at] == "{":
                if len(text) - at <= RETRY_CHARS and not self._eof and text.find("}", at) < 0:
                    raise _More  # the text's last item, not whole yet (a scan would fail, at some cost)
                try:
                    item, end = _scan(text, at)
                except (StopIteration, ValueError, RecursionError):
                    item, end = self._value(at)  # says why (or waits for more)
            else:
                item, end = self._value(at)
            m.count += 1
            if not ready:
                self._spill(m, item)
            elif type(item) is dict:
                record = add(item, prefix + str(m.count) + "]")
                if record is not None:
                    out.append(record)
            else:
                out.append(Rejected(m.metric_name or "", f"{prefix}{m.count}]", INVALID_ITEM,
                                    f"a data item must be an object, not {kind_of(item)}"))
            self._pos = end
            f.first = False
            if text.startswith(",{", end):
                at = end + 1
            else:
                at = self._element(f)

    def _spill(self, m: _Metric, item: Any) -> None:
        """Keeps an item that cannot be mapped yet on disk rather than in memory, whatever the metric's size."""
        if m.spill is None:
            m.spill = tempfile.TemporaryFile(prefix="healthmesh-hae-")
        m.unspilled.append(item)
        if len(m.unspilled) >= SPILL_BATCH:
            _write_spill(m)

    def _read_ahead(self) -> None:
        """The skim is done: the metric's items are mapped as they are read, with the name and units
        found after them (checked once they are read); if it gave up, they are spilled."""
        ahead, m = self._ahead
        self._ahead = None
        if ahead.found is None:
            return
        m.hint = ahead.found
        m.metric_name, m.units = ahead.found
        m.items = self._items(m)

    def _items(self, m: _Metric) -> SampleItems | RecordItems:
        name = m.metric_name
        if not name:
            return RecordItems(lambda item, path: Rejected("", path, MISSING_NAME, "the metric has no name"))
        return metric_items(name, m.units)

    def _replay(self, m: _Metric) -> None:
        """Queues the spilled items, to be mapped one at a time, in their order, as the caller iterates."""
        m.items = m.items or self._items(m)
        _write_spill(m)
        self._out.append(_Replay(m.spill, m.prefix, m.metric_name or "", m.items))
        m.spill = None

    def _end_metric(self, m: _Metric) -> None:
        if m.spill is not None:
            self._replay(m)

    def _path(self) -> str:
        """The JSON path of where the parser is (for errors): the innermost array's index is the
        element being read, the one after the last read whole."""
        parts = ["$"]
        for depth, f in enumerate(self._stack):
            innermost = depth == len(self._stack) - 1
            if f.kind == _METRIC_DATA:
                parts.append(f"[{self._stack[depth - 1].count + 1}]")  # type: ignore[attr-defined]
            elif f.kind in (_METRICS, _WORKOUTS, _OTHER):
                parts.append(f"[{f.index + 1 if innermost else f.index}]")
            if f.key is not None:
                parts.append(f".{f.key}")
        return "".join(parts)


def _write_spill(m: _Metric) -> None:
    if m.unspilled:
        # As parsed, not as text: reading back with marshal costs half of scanning the text again.
        # Items that all have the same keys (a series) are kept as their keys and value tuples.
        items = m.unspilled
        keys = _same_keys(items)
        block = marshal.dumps((keys, [tuple(item.values()) for item in items] if keys else items))
        m.spill.write(_LENGTH.pack(len(block)) + block)
        m.unspilled = []


def _same_keys(items: list[Any]) -> tuple[str, ...] | None:
    """The keys, in order, that every item (an object each) has, or None when they differ."""
    first = items[0]
    if type(first) is not dict:
        return None
    keys = tuple(first)
    for item in items:
        if type(item) is not dict or tuple(item) != keys:
            return None
    return keys


_LENGTH = struct.Struct(">Q")  # of each marshalled block of spilled items


class _Replay:
    """Spilled items of one metric, read back and mapped when iterated: a block of a series
    (SampleItems.add_series) at once, any other item one at a time."""

    def __init__(self, spill, prefix: str, name: str, items: SampleItems | RecordItems) -> None:
        self._spill, self._prefix, self._name, self._items = spill, prefix, name, items

    def __iter__(self) -> Iterator[Record]:
        with self._spill:
            self._spill.seek(0)
            i = 0
            while header := self._spill.read(_LENGTH.size):
                keys, block = marshal.loads(self._spill.read(_LENGTH.unpack(header)[0]))
                if keys is not None:
                    if isinstance(self._items, SampleItems) and self._items.add_series(keys, block, self._prefix, i):
                        i += len(block)
                        yield self._items.take()
                        continue
                    block = [dict(zip(keys, values)) for values in block]
                for item in block:
                    record = self._record(item, i)
                    if record is not None:
                        yield record
                    i += 1
                rows = self._items.take()  # a block's rows at a time (SPILL_BATCH)
                if rows is not None:
                    yield rows

    def _record(self, item: Any, i: int) -> Record | None:
        path = f"{self._prefix}{i}]"
        if type(item) is not dict:
            return Rejected(self._name, path, INVALID_ITEM, f"a data item must be an object, not {kind_of(item)}")
        return self._items.add(item, path)


def parse_bytes(data: bytes, chunk_size: int = 65536) -> list[Record]:
    """All records of a whole payload (tests, small payloads)."""
    p = HaeParser()
    out: list[Record] = []
    for i in range(0, len(data), chunk_size):
        out.extend(p.feed(data[i:i + chunk_size]))
    out.extend(p.close())
    return out
