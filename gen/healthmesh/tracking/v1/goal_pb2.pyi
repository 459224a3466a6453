import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Goal(_message.Message):
    __slots__ = ("name", "display_name", "metric", "target_value", "unit", "comparison", "period", "start_date", "target_date", "state", "create_time", "update_time")
    class Period(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PERIOD_UNSPECIFIED: _ClassVar[Goal.Period]
        DAILY: _ClassVar[Goal.Period]
        WEEKLY: _ClassVar[Goal.Period]
        MONTHLY: _ClassVar[Goal.Period]
    PERIOD_UNSPECIFIED: Goal.Period
    DAILY: Goal.Period
    WEEKLY: Goal.Period
    MONTHLY: Goal.Period
    class Comparison(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        COMPARISON_UNSPECIFIED: _ClassVar[Goal.Comparison]
        AT_LEAST: _ClassVar[Goal.Comparison]
        AT_MOST: _ClassVar[Goal.Comparison]
    COMPARISON_UNSPECIFIED: Goal.Comparison
    AT_LEAST: Goal.Comparison
    AT_MOST: Goal.Comparison
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Goal.State]
        ACTIVE: _ClassVar[Goal.State]
        PAUSED: _ClassVar[Goal.State]
        ACHIEVED: _ClassVar[Goal.State]
        EXPIRED: _ClassVar[Goal.State]
        ARCHIVED: _ClassVar[Goal.State]
    STATE_UNSPECIFIED: Goal.State
    ACTIVE: Goal.State
    PAUSED: Goal.State
    ACHIEVED: Goal.State
    EXPIRED: Goal.State
    ARCHIVED: Goal.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    metric: str
    target_value: float
    unit: str
    comparison: Goal.Comparison
    period: Goal.Period
    start_date: str
    target_date: str
    state: Goal.State
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., metric: _Optional[str] = ..., target_value: _Optional[float] = ..., unit: _Optional[str] = ..., comparison: _Optional[_Union[Goal.Comparison, str]] = ..., period: _Optional[_Union[Goal.Period, str]] = ..., start_date: _Optional[str] = ..., target_date: _Optional[str] = ..., state: _Optional[_Union[Goal.State, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
