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
