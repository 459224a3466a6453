"""Samples: protobuf <-> domain, nothing else."""

from __future__ import annotations

from healthmesh.tracking.v1 import sample_pb2, sample_type_pb2, tracking_internal_service_pb2, tracking_service_pb2

from services.common.convert import StringIndex, from_timestamp, timestamp
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
        low.append(s.min if has("min") else None)
        high.append(s.max if has("max") else None)
        value2.append(s.value2 if has("value2") else None)
    return SampleColumns(strings=strings.strings(), type=type_, unit=unit, source=source, start_us=start, end_us=end,
                         offset=offset, value=[s.value for s in samples], min=low, max=high, value2=value2,
                         meal_context=[s.meal_context for s in samples])


def _micros(t) -> int:
    return t.seconds * 1_000_000 + t.nanos // 1000  # as to_micros(from_timestamp(t))


def sample_columns(c: tracking_internal_service_pb2.SampleColumns) -> SampleColumns:
    """The columnar batch, its shape checked: a malformed batch is the sender's bug, so it fails whole."""
    n = len(c.start_time_micros)
    strings = list(c.strings)
    optional = {}
    for name in ("end_time_micros", "utc_offset_minutes", "min", "max", "value2", "meal_context"):
        column = getattr(c, name)
        if len(column) not in (0, n):
            raise InvalidArgument.field(f"columns.{name}", f"has {len(column)} entries for {n} rows (give 0 or {n})")
        optional[name] = list(column) if column else None
    for name in ("type", "unit", "source", "value"):
        column = getattr(c, name)
        if len(column) != n:
            raise InvalidArgument.field(f"columns.{name}", f"has {len(column)} entries for {n} rows")
        if name != "value" and n and max(column) >= len(strings):
            raise InvalidArgument.field(f"columns.{name}", f"refers to string {max(column)} of {len(strings)}")
    none = [None] * n
    return SampleColumns(
        strings=strings, type=list(c.type), unit=list(c.unit), source=list(c.source),
        start_us=list(c.start_time_micros), end_us=optional["end_time_micros"] or none,
        offset=optional["utc_offset_minutes"] or none, value=list(c.value),
        min=_absent_as_none(optional["min"]) or none, max=_absent_as_none(optional["max"]) or none,
        value2=_absent_as_none(optional["value2"]) or none, meal_context=optional["meal_context"] or [0] * n)


def _absent_as_none(column: list[float] | None) -> list[float | None] | None:
    return None if column is None else [None if x != x else x for x in column]  # NaN marks "none"


def sample(x: Sample) -> sample_pb2.Sample:
    out = sample_pb2.Sample(
        name=f"users/{x.user_id}/samples/{x.id}", type=x.type, start_time=timestamp(x.start_time),
        end_time=timestamp(x.end_time), utc_offset_minutes=x.utc_offset_minutes, value=x.value, unit=x.unit,
        original_unit=x.original_unit, source=x.source, meal_context=int(x.meal_context),
        create_time=timestamp(x.create_time), update_time=timestamp(x.update_time),
    )
    for name in ("min", "max", "value2", "original_value"):
        value = getattr(x, name)
        if value is not None:
            setattr(out, name, value)
    return out


def sample_error(e: ItemError) -> sample_pb2.SampleError:
    return sample_pb2.SampleError(index=e.index, field=e.field, reason=e.reason, message=e.message)


def sample_type(t: SampleType) -> sample_type_pb2.SampleType:
    return sample_type_pb2.SampleType(
        type=t.key, unit=t.unit, loinc=t.loinc, aggregation=sample_type_pb2.Aggregation.Value(t.aggregation),
        min_value=t.min_value, max_value=t.max_value, description=t.description, display_name=t.display_name,
        input_units=sorted(u for u in t.units if u), value2_meaning=t.value2_meaning,
    )


def bucket(b: Bucket) -> tracking_service_pb2.AggregateBucket:
    return tracking_service_pb2.AggregateBucket(
        start_time=timestamp(b.start_time), local_date=b.local_date.isoformat(), count=b.count, sum=b.sum,
        min=b.min, max=b.max, avg=b.avg, sources=list(b.sources),
    )
