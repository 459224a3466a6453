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

    names: list[str] = field(default_factory=lambda: ["users/me"])
    page_tokens: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # sample types, units, metrics, emails: deeper code paths
    field_names: list[str] = field(default_factory=list)  # for FieldMask paths


def wire(msg: message.Message) -> bytes:
    return msg.SerializeToString().replace(BAD_UTF8_MARK.encode(), _BAD_UTF8)


def _chance(draw, percent: int) -> bool:
    return draw(st.integers(0, 99)) < percent


_ALPHABET = st.characters(codec="utf-8", exclude_categories=["Cs"])  # surrogates go through the mark


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


@st.composite
def text(draw, name: str, pools: Pools) -> str:
    roll = draw(st.integers(0, 99))
    if roll < 2:  # rarely: a huge string, up to ~1 MB
        return draw(st.sampled_from(["x", "\x00", "é", "😀"])) * draw(st.integers(257, 1 << 20))
    if roll < 7:
        return BAD_UTF8_MARK
    if roll < 12:
        return draw(st.sampled_from(["\x00", "a\x00b", "", " ", "\u202e", "%00", "..", "/", "users/me/../x"]))
    if name in ("name", "parent") and roll < 75:
        return draw(st.sampled_from(pools.names))
    if name == "page_token" and pools.page_tokens and roll < 75:
        return _mutated(draw, draw(st.sampled_from(pools.page_tokens)))
    if name == "request_id" and pools.request_ids and roll < 40:
        return draw(st.sampled_from(pools.request_ids))
    if name == "paths" and pools.field_names and roll < 75:
        return draw(st.sampled_from(pools.field_names))
    if pools.words and roll < 55:
        return draw(st.sampled_from(pools.words))
    return draw(st.text(_ALPHABET, max_size=300))


def _integers(lo: int, hi: int):
    edges = sorted({v for v in (lo, hi, 0, 1, -1, *INT32, 2**32 - 1, 2**53) if lo <= v <= hi})
    return st.one_of(st.sampled_from(edges), st.integers(max(lo, -1000), min(hi, 100_000)), st.integers(lo, hi))


_T = descriptor.FieldDescriptor
_INT_RANGES = {
    _T.TYPE_INT32: INT32, _T.TYPE_SINT32: INT32, _T.TYPE_SFIXED32: INT32,
    _T.TYPE_INT64: INT64, _T.TYPE_SINT64: INT64, _T.TYPE_SFIXED64: INT64,
    _T.TYPE_UINT32: (0, 2**32 - 1), _T.TYPE_FIXED32: (0, 2**32 - 1),
    _T.TYPE_UINT64: (0, 2**64 - 1), _T.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(fd: descriptor.FieldDescriptor, pools: Pools):
    t = fd.type
    if t == _T.TYPE_STRING:
        return text(fd.name, pools)
    if t == _T.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.just(b"\x00" * 70_000), st.binary(min_size=1, max_size=8))
    if t == _T.TYPE_BOOL:
        return st.booleans()
    if t in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        width = 64 if t == _T.TYPE_DOUBLE else 32
        return st.one_of(st.sampled_from(_EDGE_FLOATS), st.floats(-1000, 100_000, width=width),
                         st.floats(width=width))
    if t == _T.TYPE_ENUM:
        known = sorted(fd.enum_type.values_by_number)
        return st.one_of(st.sampled_from(known), st.sampled_from([-1, max(known) + 1, *INT32]), st.integers(*INT32))
    return _integers(*_INT_RANGES[t])


@st.composite
def timestamps(draw, cls):
    roll = draw(st.integers(0, 99))
    if roll < 40:
        seconds = SANE_SECONDS + draw(st.integers(-400 * 86_400, 30 * 86_400))
    elif roll < 80:
        seconds = draw(st.sampled_from(_EDGE_SECONDS))
    else:
        seconds = draw(st.integers(*INT64))
    nanos = draw(st.sampled_from(_EDGE_NANOS)) if _chance(draw, 15) else draw(st.integers(0, 999_999_999))
    return cls(seconds=seconds, nanos=nanos)


def _set(msg, fd: descriptor.FieldDescriptor, draw, pools: Pools, depth: int) -> None:
    if fd.type == _T.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
        key_fd, value_fd = fd.message_type.fields_by_name["key"], fd.message_type.fields_by_name["value"]
        target = getattr(msg, fd.name)
        for _ in range(draw(st.integers(0, MAX_REPEATED))):
            key = draw(_scalar(key_fd, pools))
            if value_fd.type == _T.TYPE_MESSAGE:
                target[key].CopyFrom(draw(messages(value_fd.message_type, pools, depth + 1)))
            else:
                target[key] = draw(_scalar(value_fd, pools))
        return
    count = draw(st.integers(0, MAX_REPEATED)) if fd.is_repeated else 1
    if fd.type == _T.TYPE_MESSAGE:
        if depth >= MAX_DEPTH:
            return
        values = [draw(messages(fd.message_type, pools, depth + 1)) for _ in range(count)]
        if fd.is_repeated:
            getattr(msg, fd.name).extend(values)
        else:
            getattr(msg, fd.name).CopyFrom(values[0])
    elif fd.is_repeated:
        getattr(msg, fd.name).extend(draw(_scalar(fd, pools)) for _ in range(count))
    else:
        setattr(msg, fd.name, draw(_scalar(fd, pools)))


@st.composite
def messages(draw, desc: descriptor.Descriptor, pools: Pools, depth: int = 0):
    cls = message_factory.GetMessageClass(desc)
    if desc.full_name == "google.protobuf.Timestamp":
        return draw(timestamps(cls))
    msg = cls()
    in_oneof = set()
    for oneof in desc.oneofs:
        if len(oneof.fields) == 1 and oneof.fields[0].has_presence and oneof.name.startswith("_"):
            continue  # proto3 `optional`: a field of its own, below
        in_oneof.update(oneof.fields)
        chosen = draw(st.sampled_from([None, *oneof.fields]))
        if chosen is not None:
            _set(msg, chosen, draw, pools, depth)
    for fd in desc.fields:
        if fd not in in_oneof and _chance(draw, 60):
            _set(msg, fd, draw, pools, depth)
    return msg
