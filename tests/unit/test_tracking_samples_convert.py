"""Samples as messages, to the columns Tracking checks."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from healthmesh.tracking.v1 import sample_pb2

from services.tracking.samples import convert
from services.tracking.samples.columns import SampleColumns


def ts(t: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(t)
    return out


def test_messages_go_straight_to_the_columns_their_rows_would_make():
    at = dt.datetime(2026, 3, 1, 7, 0, 0, 123456, tzinfo=dt.UTC)
    samples = [
        sample_pb2.Sample(type="heart_rate", start_time=ts(at), value=64, unit="count/min", source="Watch",
                          utc_offset_minutes=60, min=60, max=70),
        sample_pb2.Sample(type="blood_pressure", start_time=ts(at - dt.timedelta(days=30000)),
                          end_time=ts(at + dt.timedelta(minutes=1)), value=120, value2=80, unit="mmHg"),
        sample_pb2.Sample(type="blood_glucose", value=5.5, unit="mmol/L", source="Watch", meal_context=2,
                          utc_offset_minutes=0),  # no start: the checks say so
        sample_pb2.Sample(),
    ]
    columns = convert.sample_rows(samples)
    assert columns == SampleColumns.from_rows([convert.sample_input(s) for s in samples])
    assert columns.start_us[2] is None and columns.offset[1] is None and columns.min[1] is None
    assert columns.start_us[1] < 0  # before 1970


def test_stored_samples_become_messages_with_their_name_times_and_only_the_optional_values_they_have():
    import uuid

    from healthmesh.tracking.v1 import tracking_service_pb2

    from services.tracking.samples.domain import MealContext, Sample

    user, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    start = dt.datetime(2026, 3, 1, 7, 0, 1, 250_000, tzinfo=dt.UTC)
    before_1970 = dt.datetime(1969, 7, 20, 20, 17, 40, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    samples = [
        Sample(first, user, "blood_glucose", start, start + dt.timedelta(minutes=1), 60, 5.5, 5.0, 6.0, 0.0,
               "mmol/L", 99.0, "mg/dL", "Meter", MealContext.AFTER_MEAL, before_1970, start),
        Sample(second, user, "heart_rate", start, start, -300, 0.0, None, None, None, "/min", None, "", "",
               MealContext.UNSPECIFIED, start, start),
    ]
    response = tracking_service_pb2.ListSamplesResponse()
    convert.add_samples(response.samples, samples)
    full, bare = response.samples
    assert (full.name, bare.name) == (f"users/{user}/samples/{first}", f"users/{user}/samples/{second}")
    assert (full.start_time, full.end_time) == (ts(start), ts(start + dt.timedelta(minutes=1)))
    assert (full.create_time.seconds, full.create_time.nanos) == (-14190140, 5000)  # 18:17:40.000005 UTC
    assert (full.type, full.unit, full.value, full.original_unit, full.source, full.utc_offset_minutes) == (
        "blood_glucose", "mmol/L", 5.5, "mg/dL", "Meter", 60)
    assert full.meal_context == sample_pb2.AFTER_MEAL
    assert [full.HasField(f) for f in ("min", "max", "value2", "original_value")] == [True] * 4
    assert (full.min, full.max, full.value2, full.original_value) == (5.0, 6.0, 0.0, 99.0)
    assert [bare.HasField(f) for f in ("min", "max", "value2", "original_value")] == [False] * 4
    assert (bare.utc_offset_minutes, bare.end_time) == (-300, ts(start))
    assert convert.sample(samples[1]) == bare  # made on its own, the same message


def test_buckets_become_messages_with_their_start_local_date_and_sources():
    from healthmesh.tracking.v1 import tracking_service_pb2

    from services.tracking.samples.domain import Bucket

    start = dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)
    response = tracking_service_pb2.AggregateSamplesResponse()
    convert.add_buckets(response.buckets, [Bucket(start, dt.date(2026, 3, 1), 3, 10.5, 2.0, 5.0, 3.5, ("Watch", "Phone"))])
    (only,) = response.buckets
    assert (only.start_time, only.local_date, only.count, only.sum, only.min, only.max, only.avg, list(only.sources)) == (
        ts(start), "2026-03-01", 3, 10.5, 2.0, 5.0, 3.5, ["Watch", "Phone"])
    assert convert.bucket(Bucket(start, dt.date(2026, 3, 1), 3, 10.5, 2.0, 5.0, 3.5, ("Watch", "Phone"))) == only
