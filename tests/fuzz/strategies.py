"""Hypothesis strategies for any request message, built from its descriptor alone: each field by
type, nested messages to a bounded depth, repeated fields and maps of bounded size, at most one
field of each oneof. The values lean towards what breaks services: NUL, megabyte strings, strings
that are not UTF-8, the ends of int32/int64, NaN, inf and -0.0, timestamps at and past the ends of
the calendar, unknown enum numbers, mutated page tokens, and other users' resource names.

Protobuf will not serialise a lone surrogate, so a string that must not be UTF-8 is drawn as
BAD_UTF8_MARK and `wire()` swaps those bytes for invalid UTF-8 of the same length in the
serialized message (the length prefixes stay right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from google.protobuf import descriptor, message, message_factory
from hypothesis import strategies as st

MAX_DEPTH = 4
MAX_REPEATED = 3

BAD_UTF8_MARK = "\x01NOT-UTF-8\x01"
# A lone high surrogate (U+D800 as CESU-8), a stray continuation byte, a truncated sequence and an
# overlong NUL: all refused by a strict UTF-8 decoder. Same length as the mark.
_BAD_UTF8 = b"\xed\xa0\x80\x80\xe2\x82\xc0\x80\xff\xfe\xf8"
assert len(_BAD_UTF8) == len(BAD_UTF8_MARK.encode())

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
YEAR_1 = -62_135_596_800  # 0001-01-01T00:00:00Z, Timestamp's first second
YEAR_9999 = 253_402_300_799  # 9999-12-31T23:59:59Z, its last
SANE_SECONDS = 1_772_348_400  # 2026-03-01T07:00:00Z, where the seeded data lives

_EDGE_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308, -1.7976931348623157e308,
                -1.0, 1e-9, 3.4028235e38]
_EDGE_SECONDS = [YEAR_1, YEAR_1 - 1, YEAR_9999, YEAR_9999 + 1, *INT64, 0, -1, -2_208_988_800,  # 1900
                 7_258_118_400]  # 2200
_EDGE_NANOS = [-1, 1_000_000_000, *INT32, 999_999_999]


@dataclass
class Pools:
    """Values worth drawing besides random ones, filled once the users and their data exist."""

    names: list[str] = field(default_factory=lambda: ["users/me"])  # anyone's, of any kind, and garbage
    mild_names: list[str] = field(default_factory=list)  # the caller's, of the kind the RPC takes
    page_tokens: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # sample types, units, metrics, emails: deeper code paths
    field_names: list[str] = field(default_factory=list)  # for FieldMask paths
    templates: dict[str, list[message.Message]] = field(default_factory=dict)  # valid requests, by type


@dataclass(frozen=True)
class Mood:
    """How hostile one example is: the percent of values drawn from the edge cases. Most examples
    are mild, so that a good share of requests gets past the checks into the services' logic."""

    hostile: int
    pools: Pools


def moods(pools: Pools):
    return st.sampled_from([0, 2, 8, 25, 60]).map(lambda h: Mood(h, pools))


def wire(msg: message.Message) -> bytes:
    return msg.SerializeToString().replace(BAD_UTF8_MARK.encode(), _BAD_UTF8)


def _hostile(draw, mood: Mood) -> bool:
    return mood.hostile > 0 and draw(st.integers(0, 99)) < mood.hostile


_ALPHABET = st.characters(codec="utf-8", exclude_categories=["Cs"])  # surrogates go through the mark
_MILD_ALPHABET = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def _mutated(draw, token: str) -> str:
    how = draw(st.sampled_from(["flip", "truncate", "extend", "swap", "as_is"]))
    if not token or how == "as_is":
        return token
    chars = list(token)
    i = draw(st.integers(0, len(chars) - 1))
    if how == "flip":
        chars[i] = chr(ord(chars[i]) ^ draw(st.integers(1, 0x7F))) or "A"
    elif how == "truncate":
        chars = chars[:i]
    elif how == "extend":
        chars.append(draw(st.text(_ALPHABET, min_size=1, max_size=8)))
    else:
        j = draw(st.integers(0, len(chars) - 1))
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def _text(draw, name: str, mood: Mood) -> str:
    pools = mood.pools
    if _hostile(draw, mood):
        roll = draw(st.integers(0, 99))
        if roll < 8:  # a huge string, up to ~1 MB
            return draw(st.sampled_from(["x", "\x00", "é", "😀"])) * draw(st.integers(257, 1 << 20))
        if roll < 30:
            return BAD_UTF8_MARK
        if roll < 55:
            return draw(st.sampled_from(["\x00", "a\x00b", "", " ", "\u202e", "%00", "..", "/", "users/me/../x"]))
        if name in ("name", "parent"):
            return draw(st.sampled_from(pools.names))  # another user's, or of another kind
        if name == "page_token" and pools.page_tokens:
            return _mutated(draw, draw(st.sampled_from(pools.page_tokens)))
        return draw(st.text(_ALPHABET, max_size=300))
    if name in ("name", "parent"):
        return draw(st.sampled_from(pools.mild_names or pools.names))
    if name == "page_token" and pools.page_tokens:
        return draw(st.sampled_from(pools.page_tokens))
    if name == "request_id" and pools.request_ids and _hostile(draw, Mood(30, pools)):
        return draw(st.sampled_from(pools.request_ids))  # another user's: never their answer
    if name == "paths" and pools.field_names:
        return draw(st.sampled_from(pools.field_names))
    if pools.words and draw(st.booleans()):
        return draw(st.sampled_from(pools.words))
    return draw(st.text(_MILD_ALPHABET, max_size=24))


_T = descriptor.FieldDescriptor
_INT_RANGES = {
    _T.TYPE_INT32: INT32, _T.TYPE_SINT32: INT32, _T.TYPE_SFIXED32: INT32,
    _T.TYPE_INT64: INT64, _T.TYPE_SINT64: INT64, _T.TYPE_SFIXED64: INT64,
    _T.TYPE_UINT32: (0, 2**32 - 1), _T.TYPE_FIXED32: (0, 2**32 - 1),
    _T.TYPE_UINT64: (0, 2**64 - 1), _T.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(draw, fd: descriptor.FieldDescriptor, mood: Mood):
    t = fd.type
    if t == _T.TYPE_STRING:
        return _text(draw, fd.name, mood)
    hostile = _hostile(draw, mood)
    if t == _T.TYPE_BYTES:
        return draw(st.one_of(st.just(b"\x00" * 70_000), st.binary(max_size=8)) if hostile else st.binary(max_size=64))
    if t == _T.TYPE_BOOL:
        return draw(st.booleans())
    if t in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        width = 64 if t == _T.TYPE_DOUBLE else 32
        if hostile:
            return draw(st.one_of(st.sampled_from(_EDGE_FLOATS), st.floats(width=width)))
        return draw(st.floats(0, 500, width=width))
    if t == _T.TYPE_ENUM:
        known = sorted(fd.enum_type.values_by_number)
        if hostile:
            return draw(st.one_of(st.sampled_from([-1, max(known) + 1, *INT32]), st.integers(*INT32)))
        return draw(st.sampled_from(known))
    lo, hi = _INT_RANGES[t]
    if hostile:
        edges = sorted({v for v in (lo, hi, 0, -1, *INT32, 2**32 - 1, 2**53) if lo <= v <= hi})
        return draw(st.one_of(st.sampled_from(edges), st.integers(lo, hi)))
    return draw(st.integers(max(lo, -600), min(hi, 600)))


def _timestamp(draw, cls, mood: Mood):
    if not _hostile(draw, mood):
        return cls(seconds=SANE_SECONDS + draw(st.integers(-30 * 86_400, 30 * 86_400)),
                   nanos=draw(st.sampled_from([0, 500_000_000, 999_999_999])))
    seconds = draw(st.one_of(st.sampled_from(_EDGE_SECONDS), st.integers(*INT64)))
    nanos = draw(st.sampled_from(_EDGE_NANOS)) if draw(st.booleans()) else draw(st.integers(0, 999_999_999))
    return cls(seconds=seconds, nanos=nanos)


def _set(msg, fd: descriptor.FieldDescriptor, draw, mood: Mood, depth: int) -> None:
    if fd.type == _T.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
        key_fd, value_fd = fd.message_type.fields_by_name["key"], fd.message_type.fields_by_name["value"]
        target = getattr(msg, fd.name)
        for _ in range(draw(st.integers(0, MAX_REPEATED))):
            key = _scalar(draw, key_fd, mood)
            if value_fd.type == _T.TYPE_MESSAGE:
                target[key].CopyFrom(_message(draw, value_fd.message_type, mood, depth + 1))
            else:
                target[key] = _scalar(draw, value_fd, mood)
        return
    count = draw(st.integers(0, MAX_REPEATED)) if fd.is_repeated else 1
    if fd.type == _T.TYPE_MESSAGE:
        if depth >= MAX_DEPTH:
            return
        values = [_message(draw, fd.message_type, mood, depth + 1) for _ in range(count)]
        if fd.is_repeated:
            getattr(msg, fd.name).extend(values)
        else:
            getattr(msg, fd.name).CopyFrom(values[0])
    elif fd.is_repeated:
        getattr(msg, fd.name).extend(_scalar(draw, fd, mood) for _ in range(count))
    else:
        setattr(msg, fd.name, _scalar(draw, fd, mood))


def _message(draw, desc: descriptor.Descriptor, mood: Mood, depth: int):
    cls = message_factory.GetMessageClass(desc)
    if desc.full_name == "google.protobuf.Timestamp":
        return _timestamp(draw, cls, mood)
    msg = cls()
    in_oneof = set()
    for oneof in desc.oneofs:
        if len(oneof.fields) == 1 and oneof.fields[0].has_presence and oneof.name.startswith("_"):
            continue  # proto3 `optional`: a field of its own, below
        in_oneof.update(oneof.fields)
        chosen = draw(st.sampled_from([None, *oneof.fields]))
        if chosen is not None:
            _set(msg, chosen, draw, mood, depth)
    for fd in desc.fields:
        # The name or parent nearly always: without one nearly every call ends at the first check.
        if fd not in in_oneof and draw(st.integers(0, 99)) < (95 if fd.name in ("name", "parent") else 60):
            _set(msg, fd, draw, mood, depth)
    return msg


def _mutate(draw, msg: message.Message, mood: Mood, depth: int) -> None:
    """Redraws a field or two of msg, and goes on into some of the messages it holds."""
    fields = list(msg.DESCRIPTOR.fields)
    for fd in draw(st.lists(st.sampled_from(fields), max_size=2, unique=True)) if fields else ():
        msg.ClearField(fd.name)
        if draw(st.booleans()):
            _set(msg, fd, draw, mood, depth)
    for fd, value in msg.ListFields():
        if fd.type != _T.TYPE_MESSAGE or fd.message_type.GetOptions().map_entry or not draw(st.booleans()):
            continue
        for item in value if fd.is_repeated else (value,):
            if item.DESCRIPTOR.full_name != "google.protobuf.Timestamp":
                _mutate(draw, item, mood, depth + 1)
            elif _hostile(draw, mood):
                item.CopyFrom(_timestamp(draw, type(item), mood))


@st.composite
def messages(draw, desc: descriptor.Descriptor, pools: Pools):
    """A request of type desc, as mild or as hostile as the example's mood: drawn field by field,
    or (where there is one) a valid request with a few fields redrawn."""
    mood = draw(moods(pools))
    templates = pools.templates.get(desc.full_name)
    if templates and draw(st.booleans()):
        msg = type(templates[0])()
        msg.CopyFrom(draw(st.sampled_from(templates)))
        _mutate(draw, msg, mood, 0)
        return msg
    return _message(draw, desc, mood, 0)
