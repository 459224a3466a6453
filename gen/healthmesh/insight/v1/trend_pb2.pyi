from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Trend(_message.Message):
    __slots__ = ("type", "unit", "direction", "slope_per_day", "change_percent", "average", "days_with_data", "start_date", "end_date", "points", "slope_low_per_day", "slope_high_per_day")
    class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        DIRECTION_UNSPECIFIED: _ClassVar[Trend.Direction]
        UP: _ClassVar[Trend.Direction]
        DOWN: _ClassVar[Trend.Direction]
        FLAT: _ClassVar[Trend.Direction]
    DIRECTION_UNSPECIFIED: Trend.Direction
    UP: Trend.Direction
    DOWN: Trend.Direction
    FLAT: Trend.Direction
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    SLOPE_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_FIELD_NUMBER: _ClassVar[int]
    DAYS_WITH_DATA_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SLOPE_LOW_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    SLOPE_HIGH_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    type: str
    unit: str
    direction: Trend.Direction
    slope_per_day: float
    change_percent: float
    average: float
    days_with_data: int
    start_date: str
    end_date: str
    points: _containers.RepeatedCompositeFieldContainer[TrendPoint]
    slope_low_per_day: float
    slope_high_per_day: float
    def __init__(self, type: _Optional[str] = ..., unit: _Optional[str] = ..., direction: _Optional[_Union[Trend.Direction, str]] = ..., slope_per_day: _Optional[float] = ..., change_percent: _Optional[float] = ..., average: _Optional[float] = ..., days_with_data: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., points: _Optional[_Iterable[_Union[TrendPoint, _Mapping]]] = ..., slope_low_per_day: _Optional[float] = ..., slope_high_per_day: _Optional[float] = ...) -> None: ...

class TrendPoint(_message.Message):
    __slots__ = ("local_date", "value", "sample_count")
    LOCAL_DATE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    local_date: str
    value: float
    sample_count: int
    def __init__(self, local_date: _Optional[str] = ..., value: _Optional[float] = ..., sample_count: _Optional[int] = ...) -> None: ...
