import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeviceHealth(_message.Message):
    __slots__ = ("name", "status", "battery_percent", "charging", "signal_strength_dbm", "firmware_version", "storage_used_percent", "uptime_seconds", "errors", "report_time", "update_time")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[DeviceHealth.Status]
        OK: _ClassVar[DeviceHealth.Status]
        WARNING: _ClassVar[DeviceHealth.Status]
        CRITICAL: _ClassVar[DeviceHealth.Status]
    STATUS_UNSPECIFIED: DeviceHealth.Status
    OK: DeviceHealth.Status
    WARNING: DeviceHealth.Status
    CRITICAL: DeviceHealth.Status
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BATTERY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CHARGING_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_STRENGTH_DBM_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    STORAGE_USED_PERCENT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    REPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: DeviceHealth.Status
    battery_percent: int
    charging: bool
    signal_strength_dbm: int
    firmware_version: str
    storage_used_percent: float
    uptime_seconds: int
    errors: _containers.RepeatedCompositeFieldContainer[DeviceError]
    report_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., status: _Optional[_Union[DeviceHealth.Status, str]] = ..., battery_percent: _Optional[int] = ..., charging: _Optional[bool] = ..., signal_strength_dbm: _Optional[int] = ..., firmware_version: _Optional[str] = ..., storage_used_percent: _Optional[float] = ..., uptime_seconds: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[DeviceError, _Mapping]]] = ..., report_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeviceError(_message.Message):
    __slots__ = ("code", "message", "occur_time")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OCCUR_TIME_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    occur_time: _timestamp_pb2.Timestamp
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., occur_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
