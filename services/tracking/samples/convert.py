"""Samples: protobuf <-> domain, nothing else."""

from __future__ import annotations

import math

import numpy as np
from healthmesh.tracking.v1 import sample_pb2, sample_type_pb2, tracking_internal_service_pb2, tracking_service_pb2

from services.common.convert import StringIndex, from_timestamp, set_timestamp, timestamp
from services.tracking.samples.catalog import SampleType
from services.common.errors import InvalidArgument
from services.tracking.samples.columns import ItemError, SampleColumns, SampleInput
from services.tracking.samples.domain import Bucket, Sample


def sample_input(s: sample_pb2.Sample) -> SampleInput:
    has = s.HasField
    return SampleInput(
        type=s.type, start_time=from_timestamp(s.start_time) if has("start_time") else None,
        end_time=from_timestamp(s.end_time) if has("end_time") else None,
        utc_offset_minutes=s.utc_offset_minutes if has("utc_offset_minutes") else None, value=s.value,
        min=s.min if has("min") else None, max=s.max if has("max") else None,
        value2=s.value2 if has("value2") else None, unit=s.unit, source=s.source, meal_context=s.meal_context,
    )


def sample_rows(samples) -> SampleColumns:
    """Samples given as messages, straight to columns: what SampleColumns.from_rows makes of
    their sample_input()s, with no datetime made and unmade per row."""
    strings = StringIndex()
    ref = strings.ref

    type_, unit, source = [ref(s.type) for s in samples], [ref(s.unit) for s in samples], [ref(s.source) for s in samples]
    start, end, offset, low, high, value2 = [], [], [], [], [], []
    for s in samples:
        has = s.HasField
        start.append(_micros(s.start_time) if has("start_time") else None)
        end.append(_micros(s.end_time) if has("end_time") else None)
        offset.append(s.utc_offset_minutes if has("utc_offset_minutes") else None)
        low.append(_given(s.min) if has("min") else None)
        high.append(_given(s.max) if has("max") else None)
        value2.append(_given(s.value2) if has("value2") else None)
    return SampleColumns(strings=strings.strings(), type=type_, unit=unit, source=source, start_us=start, end_us=end,
                         offset=offset, value=[s.value for s in samples], min=low, max=high, value2=value2,
                         meal_context=[s.meal_context for s in samples])


def _given(x: float) -> float:
    """An optional value that was sent. The checks read NaN in these columns as none, so a NaN
    sent is passed on as infinity, to be refused as not finite rather than dropped."""
    return x if x == x else math.inf


def _micros(t) -> int:
    return t.seconds * 1_000_000 + t.nanos // 1000  # as to_micros(from_timestamp(t))


def sample_columns(c: tracking_internal_service_pb2.SampleColumns) -> SampleColumns:
    """The columnar batch as arrays (SampleColumns' bulk form: numpy reads a repeated number
    field as it is, with no Python object per value), its shape checked: a malformed batch is
    the sender's bug, so it fails whole."""
    n = len(c.start_time_micros)
    strings = list(c.strings)
    for name in ("end_time_micros", "utc_offset_minutes", "min", "max", "value2", "meal_context"):
        column = getattr(c, name)
        if len(column) not in (0, n):
            raise InvalidArgument.field(f"columns.{name}", f"has {len(column)} entries for {n} rows (give 0 or {n})")
    for name in ("type", "unit", "source", "value"):
        column = getattr(c, name)
        if len(column) != n:
            raise InvalidArgument.field(f"columns.{name}", f"has {len(column)} entries for {n} rows")
        if name != "value" and n and (largest := int(np.max(column))) >= len(strings):
            raise InvalidArgument.field(f"columns.{name}", f"refers to string {largest} of {len(strings)}")

    def given(name: str, dtype: type, absent):
        column = getattr(c, name)
        return np.array(column, dtype=dtype) if len(column) else absent

    start = np.array(c.start_time_micros, dtype=np.int64)
    nan = np.full(n, np.nan)
    return SampleColumns(
        strings=strings, type=np.array(c.type, dtype=np.int64), unit=np.array(c.unit, dtype=np.int64),
        source=np.array(c.source, dtype=np.int64), start_us=start, end_us=given("end_time_micros", np.int64, start),
        offset=given("utc_offset_minutes", np.int64, [None] * n), value=np.array(c.value, dtype=np.float64),
        min=given("min", np.float64, nan), max=given("max", np.float64, nan), value2=given("value2", np.float64, nan),
        meal_context=given("meal_context", np.int64, np.zeros(n, dtype=np.int64)))


def sample(x: Sample, out: sample_pb2.Sample | None = None, parent: str = "") -> sample_pb2.Sample:
    """A sample as its message; filled into `out` when given (a repeated field's new element, so
    a page of samples is built in place, with no message made and copied per sample or time).
    `parent` is the `users/{user}/samples/` its name starts with, when the caller made it already."""
    if out is None:
        out = sample_pb2.Sample()
    out.name = f"{parent or f'users/{x.user_id}/samples/'}{x.id}"
    out.type, out.utc_offset_minutes, out.value, out.unit = x.type, x.utc_offset_minutes, x.value, x.unit
    out.original_unit, out.source, out.meal_context = x.original_unit, x.source, x.meal_context
    # Written out, not a loop over (field, value) pairs: this runs for every sample of a page.
    set_timestamp(out.start_time, x.start_time)
    set_timestamp(out.end_time, x.end_time)
    set_timestamp(out.create_time, x.create_time)
    set_timestamp(out.update_time, x.update_time)
    if x.min is not None:
        out.min = x.min
    if x.max is not None:
        out.max = x.max
    if x.value2 is not None:
        out.value2 = x.value2
    if x.original_value is not None:
        out.original_value = x.original_value
    return out


def add_samples(field, samples: list[Sample]) -> None:
    """Samples into a response's repeated Sample field, each built in place; the names' common
    start made once per user (a page is one user's)."""
    add, parents = field.add, {}
    for x in samples:
        parent = parents.get(x.user_id)
        if parent is None:
            parent = parents[x.user_id] = f"users/{x.user_id}/samples/"
        sample(x, add(), parent)


def sample_error(e: ItemError) -> sample_pb2.SampleError:
    return sample_pb2.SampleError(index=e.index, field=e.field, reason=e.reason, message=e.message)


def sample_type(t: SampleType) -> sample_type_pb2.SampleType:
    return sample_type_pb2.SampleType(
        type=t.key, unit=t.unit, loinc=t.loinc, aggregation=sample_type_pb2.Aggregation.Value(t.aggregation),
        min_value=t.min_value, max_value=t.max_value, description=t.description, display_name=t.display_name,
        input_units=sorted(u for u in t.units if u), value2_meaning=t.value2_meaning,
        unit_conversions=[sample_type_pb2.UnitConversion(unit=u, factor=c.factor, offset=c.offset)
                          for u, c in sorted(t.units.items()) if u],
    )


def bucket(b: Bucket, out: tracking_service_pb2.AggregateBucket | None = None) -> tracking_service_pb2.AggregateBucket:
    """A bucket as its message; filled into `out` when given (a repeated field's new element)."""
    if out is None:
        out = tracking_service_pb2.AggregateBucket()
    set_timestamp(out.start_time, b.start_time)
    out.local_date, out.count, out.sum, out.min, out.max, out.avg = (b.local_date.isoformat(), b.count, b.sum, b.min,
                                                                     b.max, b.avg)
    out.sources.extend(b.sources)
    return out


def add_buckets(field, buckets: list[Bucket]) -> None:
    """Buckets into a response's repeated AggregateBucket field, each built in place."""
    add = field.add
    for b in buckets:
        bucket(b, add())
