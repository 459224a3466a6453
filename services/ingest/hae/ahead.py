"""Reading ahead for a metric's name and units when its "data" comes first (a re-serializer that
sorts keys puts "data" before "name" and "units"), so that its items can be mapped as they are
read instead of being spilled and read back.

The text after the array's "[" is skimmed, without parsing its items, for the bracket that closes
it: quotes are counted and brackets found with str methods (C speed), escapes taken into account.
The members after it are then read for "name" and "units", exactly as the parser will read them.
Meanwhile the parser keeps the text it was fed on disk (Held), and parses it once the skim is done.
The skim gives up (and the parser spills the items, as without it) when the metric ends without
both, when another "data" comes first, or when the members before them are too long to hold.
"""

from __future__ import annotations

import json
import json.decoder
import re
import struct
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

TAIL_CHARS = 65536  # text after the array read for its name and units before giving up

_WS = re.compile(r"[ \t\n\r]*")
_ESCAPE = re.compile(r"\\.", re.DOTALL)  # a backslash and the character it escapes
_TOKEN = re.compile(r'\\.|["\[\]]', re.DOTALL)  # what matters to where an array ends


class Ahead:
    """Skims a metric's data array for what follows it: add(text) with the text from just after
    the "[" on, piece by piece, until it returns True; `found` is then (name, units), or None if
    it gave up. `scan` reads one JSON value (the parser's scanner)."""

    def __init__(self, scan: Callable[[str, int], tuple[Any, int]], has_name: bool, name: Any, has_units: bool,
                 units: Any) -> None:
        self._scan = scan
        self._metric = (has_name, name, has_units, units)  # as the parser has them at the "["
        self._in_string = False
        self._escaping = False  # the last piece ended with a backslash that escapes the next character
        self._depth = 1  # arrays open, the data array included
        self._tail: str | None = None  # the text after the array's "]", once found
        self.done = False
        self.found: tuple[Any, Any] | None = None

    def add(self, text: str, start: int = 0) -> bool:
        """Skims text[start:]; True once done."""
        if self.done:
            return True
        if start >= len(text):
            return False
        if self._tail is not None:
            self._tail += text[start:]
            return self._read_tail()
        if self._escaping:
            start += 1
            self._escaping = False
        if text.find("[", start) >= 0 or text.find("]", start) >= 0:
            return self._walk(text, start) if "\\" in text else self._brackets(text, start)
        plain = _ESCAPE.sub("", text[start:]) if "\\" in text else text[start:]
        if plain.endswith("\\"):  # (escaped backslashes went with the other escapes just above)
            self._escaping = True
            plain = plain[:-1]
        if plain.count('"') & 1:
            self._in_string = not self._in_string
        return False

    def give_up(self) -> None:
        self.done = True
        self.found = None

    def _brackets(self, text: str, start: int) -> bool:
        """Where the array may end, in a piece with no escapes: from bracket to bracket, the
        quotes between them say whether it is inside a string."""
        in_string, depth, at = self._in_string, self._depth, start
        opening, closing = text.find("[", at), text.find("]", at)
        while opening >= 0 or closing >= 0:
            if closing < 0 or 0 <= opening < closing:
                b, opens = opening, True
                opening = text.find("[", b + 1)
            else:
                b, opens = closing, False
                closing = text.find("]", b + 1)
            if text.count('"', at, b) & 1:
                in_string = not in_string
            at = b + 1
            if in_string:
                continue
            if opens:
                depth += 1
                continue
            depth -= 1
            if depth == 0:
                self._tail = text[at:]
                return self._read_tail()
        if text.count('"', at) & 1:
            in_string = not in_string
        self._in_string, self._depth = in_string, depth
        return False

    def _walk(self, text: str, start: int) -> bool:
        """Where the array may end, in a piece with escapes: token by token."""
        in_string, depth = self._in_string, self._depth
        for m in _TOKEN.finditer(text, start):
            c = m.group()
            if c == '"':
                in_string = not in_string
            elif len(c) == 2 or in_string:
                continue  # an escape, or a bracket inside a string
            elif c == "[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    self._tail = text[m.end():]
                    return self._read_tail()
        self._in_string, self._depth = in_string, depth
        rest = text[start:]
        self._escaping = (len(rest) - len(rest.rstrip("\\"))) & 1 == 1
        return False

    def _read_tail(self) -> bool:
        """Reads the members after the array as the parser will: the name and units the metric has
        once it has both."""
        t = self._tail
        has_name, name, has_units, units = self._metric
        at = 0
        while True:
            at = _WS.match(t, at).end()
            if at >= len(t):
                return self._more()
            if t[at] != ",":  # the metric ends ("}") without both, or the JSON is invalid (the parser says where)
                return self._stop()
            at = _WS.match(t, at + 1).end()
            if at >= len(t):
                return self._more()
            if t[at] != '"':
                return self._stop()
            try:
                key, at = json.decoder.scanstring(t, at + 1, True)
            except json.JSONDecodeError:
                return self._more()
            at = _WS.match(t, at).end()
            if at >= len(t):
                return self._more()
            if t[at] != ":":
                return self._stop()
            at = _WS.match(t, at + 1).end()
            try:
                value, at = self._scan(t, at)
            except (StopIteration, ValueError, RecursionError):
                return self._more()
            if at >= len(t):  # a number may go on in the next piece
                return self._more()
            if key == "data":  # items the parser would spill before the name is known
                return self._stop()
            if key == "name":
                has_name, name = True, value if type(value) is str else None
            elif key == "units":
                has_units, units = True, None if isinstance(value, (dict, list)) else value
            if has_name and has_units:
                self.done, self.found = True, (name, units)
                return True

    def _more(self) -> bool:
        if len(self._tail) > TAIL_CHARS:
            return self._stop()
        return False

    def _stop(self) -> bool:
        self.give_up()
        return True


_LENGTH = struct.Struct(">I")


class Held:
    """Text fed while reading ahead, kept on disk (memory stays flat) until the parser gets to it:
    append(text), pop() the oldest, unread() to skim what is left without taking it."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="healthmesh-hae-ahead-")
        self._end = 0
        self._read = 0

    def __bool__(self) -> bool:
        return self._read < self._end

    def append(self, text: str) -> None:
        data = text.encode("utf-8")
        self._file.seek(self._end)
        self._file.write(_LENGTH.pack(len(data)) + data)
        self._end = self._file.tell()

    def pop(self) -> str:
        text, self._read = self._at(self._read)
        return text

    def unread(self) -> Iterator[str]:
        at = self._read
        while at < self._end:
            text, at = self._at(at)
            yield text

    def _at(self, at: int) -> tuple[str, int]:
        self._file.seek(at)
        (length,) = _LENGTH.unpack(self._file.read(_LENGTH.size))
        return self._file.read(length).decode("utf-8"), at + _LENGTH.size + length

    def close(self) -> None:
        self._file.close()
