import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthmesh.insight.v1 import severity_pb2 as _severity_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Anomaly(_message.Message):
    __slots__ = ("type", "unit", "local_date", "start_time", "end_time", "value", "expected_min", "expected_max", "z_score", "severity", "description", "baseline_median", "baseline_days")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    LOCAL_DATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_MIN_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_MAX_FIELD_NUMBER: _ClassVar[int]
    Z_SCORE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BASELINE_MEDIAN_FIELD_NUMBER: _ClassVar[int]
    BASELINE_DAYS_FIELD_NUMBER: _ClassVar[int]
    type: str
    unit: str
    local_date: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    value: float
    expected_min: float
    expected_max: float
    z_score: float
    severity: _severity_pb2.Severity
    description: str
    baseline_median: float
    baseline_days: int
    def __init__(self, type: _Optional[str] = ..., unit: _Optional[str] = ..., local_date: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[float] = ..., expected_min: _Optional[float] = ..., expected_max: _Optional[float] = ..., z_score: _Optional[float] = ..., severity: _Optional[_Union[_severity_pb2.Severity, str]] = ..., description: _Optional[str] = ..., baseline_median: _Optional[float] = ..., baseline_days: _Optional[int] = ...) -> None: ...
