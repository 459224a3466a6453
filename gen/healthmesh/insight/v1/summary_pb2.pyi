import datetime

from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Summary(_message.Message):
    __slots__ = ("period", "start_date", "end_date", "metrics", "goals", "generate_time")
    class Period(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PERIOD_UNSPECIFIED: _ClassVar[Summary.Period]
        DAY: _ClassVar[Summary.Period]
        WEEK: _ClassVar[Summary.Period]
        MONTH: _ClassVar[Summary.Period]
    PERIOD_UNSPECIFIED: Summary.Period
    DAY: Summary.Period
    WEEK: Summary.Period
    MONTH: Summary.Period
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    GOALS_FIELD_NUMBER: _ClassVar[int]
    GENERATE_TIME_FIELD_NUMBER: _ClassVar[int]
    period: Summary.Period
    start_date: str
    end_date: str
    metrics: _containers.RepeatedCompositeFieldContainer[MetricSummary]
    goals: _containers.RepeatedCompositeFieldContainer[GoalResult]
    generate_time: _timestamp_pb2.Timestamp
    def __init__(self, period: _Optional[_Union[Summary.Period, str]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[MetricSummary, _Mapping]]] = ..., goals: _Optional[_Iterable[_Union[GoalResult, _Mapping]]] = ..., generate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MetricSummary(_message.Message):
    __slots__ = ("type", "unit", "total", "average", "min", "max", "sample_count", "days_with_data", "previous_average", "change_percent")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    DAYS_WITH_DATA_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_AVERAGE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    type: str
    unit: str
    total: float
    average: float
    min: float
    max: float
    sample_count: int
    days_with_data: int
    previous_average: float
    change_percent: float
    def __init__(self, type: _Optional[str] = ..., unit: _Optional[str] = ..., total: _Optional[float] = ..., average: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., sample_count: _Optional[int] = ..., days_with_data: _Optional[int] = ..., previous_average: _Optional[float] = ..., change_percent: _Optional[float] = ...) -> None: ...

class GoalResult(_message.Message):
    __slots__ = ("goal", "sample_type", "target_value", "actual_value", "met_days", "met")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    MET_DAYS_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    goal: str
    sample_type: str
    target_value: float
    actual_value: float
    met_days: int
    met: bool
    def __init__(self, goal: _Optional[str] = ..., sample_type: _Optional[str] = ..., target_value: _Optional[float] = ..., actual_value: _Optional[float] = ..., met_days: _Optional[int] = ..., met: _Optional[bool] = ...) -> None: ...
