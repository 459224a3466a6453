"""Small protobuf helpers shared by every service's convert.py."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
MICROSECOND = dt.timedelta(microseconds=1)


# Written out rather than Timestamp.FromDatetime/ToDatetime: these run once per sample on the
# bulk paths, and the library's versions cost several times more.

def timestamp(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    out = timestamp_pb2.Timestamp()
    set_timestamp(out, value)
    return out


def set_timestamp(out: timestamp_pb2.Timestamp, value: dt.datetime) -> None:
    """A time into a Timestamp, such as a message's own field (nothing made and copied); naive times are UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    since = value - EPOCH  # (its whole seconds as days and seconds: cheaper than // SECOND)
    out.seconds, out.nanos = since.days * 86400 + since.seconds, value.microsecond * 1000


def from_timestamp(ts: timestamp_pb2.Timestamp) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)


# Microseconds since the Unix epoch: how bulk columns (tracking.v1.SampleColumns) carry times.

def to_micros(t: dt.datetime) -> int:
    return (t - EPOCH) // MICROSECOND


def from_micros(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


class StringIndex:
    """The strings of a columnar batch (tracking.v1.SampleColumns), each given once: rows refer
    to them by the index ref() hands out, in order of first use."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    def ref(self, s: str) -> int:
        i = self._index.get(s)
        if i is None:
            i = self._index[s] = len(self._index)
        return i

    def strings(self) -> list[str]:
        return list(self._index)
