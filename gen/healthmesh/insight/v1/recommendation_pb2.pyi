import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthmesh.insight.v1 import category_pb2 as _category_pb2
from healthmesh.insight.v1 import severity_pb2 as _severity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Recommendation(_message.Message):
    __slots__ = ("id", "title", "category", "severity", "reason", "action_steps", "evidence", "generate_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTION_STEPS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    GENERATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    category: _category_pb2.Category
    severity: _severity_pb2.Severity
    reason: str
    action_steps: _containers.RepeatedScalarFieldContainer[str]
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    generate_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., category: _Optional[_Union[_category_pb2.Category, str]] = ..., severity: _Optional[_Union[_severity_pb2.Severity, str]] = ..., reason: _Optional[str] = ..., action_steps: _Optional[_Iterable[str]] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ..., generate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Evidence(_message.Message):
    __slots__ = ("metric", "value", "unit", "threshold", "days_with_data", "window_days", "comparison")
    class Comparison(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        COMPARISON_UNSPECIFIED: _ClassVar[Evidence.Comparison]
        BELOW: _ClassVar[Evidence.Comparison]
        ABOVE: _ClassVar[Evidence.Comparison]
    COMPARISON_UNSPECIFIED: Evidence.Comparison
    BELOW: Evidence.Comparison
    ABOVE: Evidence.Comparison
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DAYS_WITH_DATA_FIELD_NUMBER: _ClassVar[int]
    WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    metric: str
    value: float
    unit: str
    threshold: float
    days_with_data: int
    window_days: int
    comparison: Evidence.Comparison
    def __init__(self, metric: _Optional[str] = ..., value: _Optional[float] = ..., unit: _Optional[str] = ..., threshold: _Optional[float] = ..., days_with_data: _Optional[int] = ..., window_days: _Optional[int] = ..., comparison: _Optional[_Union[Evidence.Comparison, str]] = ...) -> None: ...
