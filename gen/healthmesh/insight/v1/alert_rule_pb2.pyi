import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthmesh.insight.v1 import severity_pb2 as _severity_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlertRule(_message.Message):
    __slots__ = ("name", "display_name", "sample_type", "condition", "threshold", "unit", "duration_seconds", "severity", "disabled", "last_trigger_time", "create_time", "update_time", "use_value2", "unless_active", "built_in")
    class Condition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CONDITION_UNSPECIFIED: _ClassVar[AlertRule.Condition]
        ABOVE: _ClassVar[AlertRule.Condition]
        BELOW: _ClassVar[AlertRule.Condition]
        AT_OR_ABOVE: _ClassVar[AlertRule.Condition]
        AT_OR_BELOW: _ClassVar[AlertRule.Condition]
    CONDITION_UNSPECIFIED: AlertRule.Condition
    ABOVE: AlertRule.Condition
    BELOW: AlertRule.Condition
    AT_OR_ABOVE: AlertRule.Condition
    AT_OR_BELOW: AlertRule.Condition
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    LAST_TRIGGER_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    USE_VALUE2_FIELD_NUMBER: _ClassVar[int]
    UNLESS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    BUILT_IN_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    sample_type: str
    condition: AlertRule.Condition
    threshold: float
    unit: str
    duration_seconds: int
    severity: _severity_pb2.Severity
    disabled: bool
    last_trigger_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    use_value2: bool
    unless_active: bool
    built_in: bool
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., sample_type: _Optional[str] = ..., condition: _Optional[_Union[AlertRule.Condition, str]] = ..., threshold: _Optional[float] = ..., unit: _Optional[str] = ..., duration_seconds: _Optional[int] = ..., severity: _Optional[_Union[_severity_pb2.Severity, str]] = ..., disabled: _Optional[bool] = ..., last_trigger_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., use_value2: _Optional[bool] = ..., unless_active: _Optional[bool] = ..., built_in: _Optional[bool] = ...) -> None: ...
