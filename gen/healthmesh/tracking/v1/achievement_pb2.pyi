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

class Achievement(_message.Message):
    __slots__ = ("name", "kind", "title", "description", "period_start_date", "value", "streak_length", "create_time")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Achievement.Kind]
        FIRST_TARGET_MET: _ClassVar[Achievement.Kind]
        STREAK: _ClassVar[Achievement.Kind]
        GOAL_ACHIEVED: _ClassVar[Achievement.Kind]
    KIND_UNSPECIFIED: Achievement.Kind
    FIRST_TARGET_MET: Achievement.Kind
    STREAK: Achievement.Kind
    GOAL_ACHIEVED: Achievement.Kind
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_DATE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STREAK_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: Achievement.Kind
    title: str
    description: str
    period_start_date: str
    value: float
    streak_length: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[Achievement.Kind, str]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., period_start_date: _Optional[str] = ..., value: _Optional[float] = ..., streak_length: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
