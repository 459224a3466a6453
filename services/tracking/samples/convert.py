"""Samples: protobuf <-> domain, nothing else."""

from __future__ import annotations

from healthmesh.tracking.v1 import sample_pb2, sample_type_pb2, tracking_service_pb2

from services.common.convert import from_timestamp, timestamp
from services.tracking.samples.catalog import SampleType
from services.tracking.samples.domain import Bucket, ItemError, Sample, SampleInput


def sample_input(s: sample_pb2.Sample) -> SampleInput:
    has = s.HasField
    return SampleInput(
        type=s.type, start_time=from_timestamp(s.start_time) if has("start_time") else None,
        end_time=from_timestamp(s.end_time) if has("end_time") else None,
        utc_offset_minutes=s.utc_offset_minutes if has("utc_offset_minutes") else None, value=s.value,
        min=s.min if has("min") else None, max=s.max if has("max") else None,
        value2=s.value2 if has("value2") else None, unit=s.unit, source=s.source, meal_context=s.meal_context,
    )


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
