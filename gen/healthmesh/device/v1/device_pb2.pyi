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

class DeviceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_TYPE_UNSPECIFIED: _ClassVar[DeviceType]
    WATCH: _ClassVar[DeviceType]
    BAND: _ClassVar[DeviceType]
    RING: _ClassVar[DeviceType]
    PHONE: _ClassVar[DeviceType]
    SCALE: _ClassVar[DeviceType]
    BLOOD_PRESSURE_MONITOR: _ClassVar[DeviceType]
    GLUCOSE_METER: _ClassVar[DeviceType]
    CONTINUOUS_GLUCOSE_MONITOR: _ClassVar[DeviceType]
    PULSE_OXIMETER: _ClassVar[DeviceType]
    THERMOMETER: _ClassVar[DeviceType]
    HEART_RATE_MONITOR: _ClassVar[DeviceType]
    SPORTS_COMPUTER: _ClassVar[DeviceType]
    OTHER: _ClassVar[DeviceType]
DEVICE_TYPE_UNSPECIFIED: DeviceType
WATCH: DeviceType
BAND: DeviceType
RING: DeviceType
PHONE: DeviceType
SCALE: DeviceType
BLOOD_PRESSURE_MONITOR: DeviceType
GLUCOSE_METER: DeviceType
CONTINUOUS_GLUCOSE_MONITOR: DeviceType
PULSE_OXIMETER: DeviceType
THERMOMETER: DeviceType
HEART_RATE_MONITOR: DeviceType
SPORTS_COMPUTER: DeviceType
OTHER: DeviceType

class Device(_message.Message):
    __slots__ = ("name", "display_name", "manufacturer", "model", "device_type", "hardware_id", "firmware_version", "capabilities", "sample_source", "sync_settings", "credentials", "has_credentials", "state", "last_sync_time", "last_seen_time", "battery_percent", "create_time", "update_time", "integration")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Device.State]
        ACTIVE: _ClassVar[Device.State]
        PAUSED: _ClassVar[Device.State]
        ERROR: _ClassVar[Device.State]
    STATE_UNSPECIFIED: Device.State
    ACTIVE: Device.State
    PAUSED: Device.State
    ERROR: Device.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    MANUFACTURER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_ID_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    SYNC_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    HAS_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNC_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    BATTERY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    manufacturer: str
    model: str
    device_type: DeviceType
    hardware_id: str
    firmware_version: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    sample_source: str
    sync_settings: SyncSettings
    credentials: DeviceCredentials
    has_credentials: bool
    state: Device.State
    last_sync_time: _timestamp_pb2.Timestamp
    last_seen_time: _timestamp_pb2.Timestamp
    battery_percent: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    integration: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., manufacturer: _Optional[str] = ..., model: _Optional[str] = ..., device_type: _Optional[_Union[DeviceType, str]] = ..., hardware_id: _Optional[str] = ..., firmware_version: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., sample_source: _Optional[str] = ..., sync_settings: _Optional[_Union[SyncSettings, _Mapping]] = ..., credentials: _Optional[_Union[DeviceCredentials, _Mapping]] = ..., has_credentials: _Optional[bool] = ..., state: _Optional[_Union[Device.State, str]] = ..., last_sync_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., battery_percent: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., integration: _Optional[str] = ...) -> None: ...

class SyncSettings(_message.Message):
    __slots__ = ("auto_sync", "sync_interval_seconds", "sample_types", "backfill_days")
    AUTO_SYNC_FIELD_NUMBER: _ClassVar[int]
    SYNC_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_TYPES_FIELD_NUMBER: _ClassVar[int]
    BACKFILL_DAYS_FIELD_NUMBER: _ClassVar[int]
    auto_sync: bool
    sync_interval_seconds: int
    sample_types: _containers.RepeatedScalarFieldContainer[str]
    backfill_days: int
    def __init__(self, auto_sync: _Optional[bool] = ..., sync_interval_seconds: _Optional[int] = ..., sample_types: _Optional[_Iterable[str]] = ..., backfill_days: _Optional[int] = ...) -> None: ...

class DeviceCredentials(_message.Message):
    __slots__ = ("access_token", "refresh_token", "expire_time", "api_key", "extra")
    class ExtraEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    refresh_token: str
    expire_time: _timestamp_pb2.Timestamp
    api_key: str
    extra: _containers.ScalarMap[str, str]
    def __init__(self, access_token: _Optional[str] = ..., refresh_token: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., api_key: _Optional[str] = ..., extra: _Optional[_Mapping[str, str]] = ...) -> None: ...
