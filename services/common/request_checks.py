"""Checks every public request gets before its handler runs, read from the message's descriptor
alone, so a service inherits them with its protos: no string field holds NUL (PostgreSQL refuses
0x00) or more than its maximum length, no enum field holds a number its enum does not define, no
`page_size` is negative (AIP-158), no double or float is NaN or infinite, and every
google.protobuf.Timestamp lies between EARLIEST and LATEST, so the arithmetic after it never
reaches the ends of the calendar.

Each problem is a field violation with the proto field path (`sample.source`,
`samples[3].source`, `credentials.extra["region"]`). The call interceptor runs `checked()` on each
public method's handler; a client stream's messages are checked one by one as they arrive.

This runs on every call, so what to look at is worked out once per message type (`plan_of`), and
a message is read with ListFields(): unset fields cost nothing, and a message type with nothing to
check (or nothing below it to check) is not read at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import NamedTuple

import grpc
from google.protobuf import descriptor, message

from services.common.checks import NUL, text_limit, text_problem
from services.common.errors import FieldViolation, InvalidArgument, shown

# Timestamps a request may carry. Far wider than any rule of the domain (samples start in 1900 or
# later, and a batch reports an earlier one per item, which a bound of 1900 here would stop), and
# far enough from years 1 and 9999 that a window, a day or a year either side never overflows.
EARLIEST = dt.datetime(1800, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EARLIEST_SECONDS = int((EARLIEST - _EPOCH).total_seconds())
_LATEST_SECONDS = int((LATEST - _EPOCH).total_seconds())
_MAX_NANOS = 999_999_999

MAX_VIOLATIONS = 100  # reported per request; the walk stops there (one bad batch of 10,000 says enough)

# Fields whose items the service checks one by one and answers per item (the rejected samples of
# a telemetry ack or an upload, with index and reason), so that one bad sample neither ends a
# stream nor sinks its batch: the walk leaves them to Tracking's sample checks
# (services/tracking/samples/columns.py), which apply the same rules per sample.
PER_ITEM = frozenset({"healthmesh.device.v1.TelemetryBatch.samples", "healthmesh.device.v1.TelemetryBatch.columns",
                      "healthmesh.device.v1.UploadDeviceDataRequest.samples"})

TIMESTAMP = "google.protobuf.Timestamp"


# Kinds of field worth a look.
_STRING, _ENUM, _PAGE_SIZE, _TIMESTAMP, _MESSAGE, _MAP, _FLOAT = range(7)


class _Rule(NamedTuple):
    kind: int
    name: str
    repeated: bool
    limit: int = 0  # strings: the maximum length
    enum_values: frozenset[int] = frozenset()
    plan: dict | None = None  # messages: the plan of the field's type (filled once it is known)
    map_value: _Rule | None = None  # maps: the rule of the values (the keys are strings or numbers)
    map_keys_text: bool = False


# Per message descriptor: {field descriptor: rule} for the fields worth a look; empty when nothing
# in the message, or below it, is.
_plans: dict[descriptor.Descriptor, dict[descriptor.FieldDescriptor, _Rule]] = {}


def plan_of(desc: descriptor.Descriptor) -> dict[descriptor.FieldDescriptor, _Rule]:
    plan = _plans.get(desc)
    if plan is None:
        plan = _build(desc)
    return plan


def _build(desc: descriptor.Descriptor) -> dict:
    plan: dict = {}
    _plans[desc] = plan  # before its fields: a message type that holds itself refers to this dict
    for fd in desc.fields:
        rule = _rule(fd)
        if rule is not None:
            plan[fd] = rule
    return plan


def _rule(fd: descriptor.FieldDescriptor) -> _Rule | None:
    if fd.full_name in PER_ITEM:
        return None
    repeated = fd.is_repeated
    t = fd.type
    if t == fd.TYPE_STRING:
        return _Rule(_STRING, fd.name, repeated, text_limit(fd.name))
    if t == fd.TYPE_ENUM:
        return _Rule(_ENUM, fd.name, repeated, enum_values=frozenset(fd.enum_type.values_by_number))
    if fd.name == "page_size" and fd.cpp_type in (fd.CPPTYPE_INT32, fd.CPPTYPE_INT64):
        return _Rule(_PAGE_SIZE, fd.name, repeated)
    if t in (fd.TYPE_DOUBLE, fd.TYPE_FLOAT):
        # JSON takes "NaN" and "Infinity" for a double, and every comparison with NaN is false, so a
        # domain rule such as `value < 0` would store it: no public request means either.
        return _Rule(_FLOAT, fd.name, repeated)
    if t != fd.TYPE_MESSAGE:
        return None  # integers, booleans and bytes (HttpBody's data too) are taken as they are
    sub = fd.message_type
    if sub.full_name == TIMESTAMP:
        return _Rule(_TIMESTAMP, fd.name, repeated)
    if sub.GetOptions().map_entry:
        value = _rule(sub.fields_by_name["value"])
        keys_text = sub.fields_by_name["key"].type == fd.TYPE_STRING
        if value is None and not keys_text:
            return None
        return _Rule(_MAP, fd.name, repeated, map_value=value, map_keys_text=keys_text)
    plan = plan_of(sub)
    if not plan and sub in _plans:
        return None  # nothing below it to check
    return _Rule(_MESSAGE, fd.name, repeated, plan=plan)


class _Found:
    """The violations of one request, up to MAX_VIOLATIONS."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, path: str, description: str) -> None:
        self.items.append(FieldViolation(path, description))
        if len(self.items) >= MAX_VIOLATIONS:
            raise _Enough


class _Enough(Exception):
    pass


def violations(request: message.Message) -> list[FieldViolation]:
    """Every problem of a request (up to MAX_VIOLATIONS), in field order."""
    plan = plan_of(request.DESCRIPTOR)
    if not plan or _sound(request, plan):
        return []
    found = _Found()
    try:
        _walk(request, plan, "", found)
    except _Enough:
        pass
    return found.items


def check(request: message.Message) -> None:
    """Raises InvalidArgument with a field violation per problem of the request."""
    found = violations(request)
    if found:
        raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in found), found)


def _sound(msg: message.Message, plan: dict) -> bool:
    """Whether nothing is wrong: the walk without paths, which nearly every request takes alone
    (a path string per item costs as much as the checks; _walk makes them once there is a problem)."""
    for fd, value in msg.ListFields():
        rule = plan.get(fd)
        if rule is None:
            continue
        kind = rule.kind
        if kind == _MESSAGE:
            sub = rule.plan
            if not sub:
                continue
            if not rule.repeated:
                value = (value,)
            for item in value:
                if not _sound(item, sub):
                    return False
        elif kind == _STRING:
            limit = rule.limit
            for text in value if rule.repeated else (value,):
                if len(text) > limit or NUL in text:
                    return False
        elif kind == _TIMESTAMP:
            for ts in value if rule.repeated else (value,):
                if not (_EARLIEST_SECONDS <= ts.seconds < _LATEST_SECONDS and 0 <= ts.nanos <= _MAX_NANOS):
                    return False
        elif kind == _ENUM:
            known = rule.enum_values
            for number in value if rule.repeated else (value,):
                if number not in known:
                    return False
        elif kind == _FLOAT:
            for number in value if rule.repeated else (value,):
                if number - number != 0.0:  # NaN or an infinity (x - x is NaN for both)
                    return False
        else:
            return False  # a page size or a map: rare, so the full walk decides
    return True


def _walk(msg: message.Message, plan: dict, prefix: str, found: _Found) -> None:
    for fd, value in msg.ListFields():
        rule = plan.get(fd)
        if rule is None:
            continue
        path = prefix + rule.name
        if rule.repeated and rule.kind != _MAP:
            for i, item in enumerate(value):
                _one(rule, item, f"{path}[{i}]", found)
        else:
            _one(rule, value, path, found)


def _one(rule: _Rule, value, path: str, found: _Found) -> None:
    kind = rule.kind
    if kind == _STRING:
        if len(value) > rule.limit or NUL in value:
            found.add(path, text_problem(value, rule.limit))
    elif kind == _MESSAGE:
        if rule.plan:
            _walk(value, rule.plan, path + ".", found)
    elif kind == _TIMESTAMP:
        seconds, nanos = value.seconds, value.nanos
        if not 0 <= nanos <= _MAX_NANOS:
            found.add(path, "is not a valid timestamp (nanos must lie between 0 and 999,999,999)")
        elif not _EARLIEST_SECONDS <= seconds < _LATEST_SECONDS:
            found.add(path, f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)")
    elif kind == _ENUM:
        if value not in rule.enum_values:
            found.add(path, f"{value} is not a known value")
    elif kind == _PAGE_SIZE:
        if value < 0:
            found.add(path, "must not be negative")
    elif kind == _FLOAT:
        if value - value != 0.0:
            found.add(path, f"must be a finite number, got {value}")
    elif kind == _MAP:
        _map(rule, value, path, found)


def _map(rule: _Rule, entries, path: str, found: _Found) -> None:
    inner = rule.map_value
    for key in entries:
        if rule.map_keys_text:
            problem = text_problem(key)
            if problem is not None:
                found.add(f"{path}[{shown(key)}]", f"the key {problem}")
                continue
        if inner is not None:
            _one(inner, entries[key], f"{path}[{shown(key)}]", found)


# -- in the server ---------------------------------------------------------------------------------


class _Undecodable:
    """What a request that protobuf could not decode (a string that is not UTF-8, a truncated
    field) becomes: grpc would answer UNKNOWN, with a traceback in the log, had the deserializer
    raised; as this, the request is refused like any other bad one."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _lenient(deserialize):
    def run(data: bytes):
        try:
            return deserialize(data)
        except message.DecodeError as exc:
            return _Undecodable(str(exc))
    return run


def _check(request) -> None:
    if type(request) is _Undecodable:
        raise InvalidArgument(f"the request could not be decoded: {request.why[:200]}", reason="MALFORMED_REQUEST")
    check(request)


def checked(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """The handler with its requests checked first: a unary request before the behaviour runs,
    a client stream's messages one by one as the behaviour reads them."""
    if handler.request_streaming:
        behaviour = handler.stream_unary or handler.stream_stream

        def run(requests, context):
            return behaviour(_checked_stream(requests), context)
    else:
        behaviour = handler.unary_unary or handler.unary_stream

        def run(request, context):
            _check(request)
            return behaviour(request, context)

    kind = ("stream" if handler.request_streaming else "unary") + "_" + (
        "stream" if handler.response_streaming else "unary")
    changes = {kind: run}
    if handler.request_deserializer is not None:
        changes["request_deserializer"] = _lenient(handler.request_deserializer)
    return handler._replace(**changes)


async def _checked_stream(requests) -> AsyncIterator:
    async for request in requests:
        _check(request)
        yield request
