import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthmesh.device.v1 import device_pb2 as _device_pb2
from healthmesh.device.v1 import device_health_pb2 as _device_health_pb2
from healthmesh.device.v1 import sync_pb2 as _sync_pb2
from healthmesh.tracking.v1 import sample_pb2 as _sample_pb2
from healthmesh.tracking.v1 import tracking_internal_service_pb2 as _tracking_internal_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetDeviceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDevicesRequest(_message.Message):
    __slots__ = ("parent", "state", "device_type", "page_size", "page_token", "stale")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    state: _device_pb2.Device.State
    device_type: _device_pb2.DeviceType
    page_size: int
    page_token: str
    stale: bool
    def __init__(self, parent: _Optional[str] = ..., state: _Optional[_Union[_device_pb2.Device.State, str]] = ..., device_type: _Optional[_Union[_device_pb2.DeviceType, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., stale: _Optional[bool] = ...) -> None: ...

class ListDevicesResponse(_message.Message):
    __slots__ = ("devices", "next_page_token")
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[_device_pb2.Device]
    next_page_token: str
    def __init__(self, devices: _Optional[_Iterable[_Union[_device_pb2.Device, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateDeviceRequest(_message.Message):
    __slots__ = ("parent", "device", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    device: _device_pb2.Device
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., device: _Optional[_Union[_device_pb2.Device, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateDeviceRequest(_message.Message):
    __slots__ = ("device", "update_mask")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    device: _device_pb2.Device
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, device: _Optional[_Union[_device_pb2.Device, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteDeviceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class StreamTelemetryRequest(_message.Message):
    __slots__ = ("open", "batch", "heartbeat")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    open: TelemetryOpen
    batch: TelemetryBatch
    heartbeat: TelemetryHeartbeat
    def __init__(self, open: _Optional[_Union[TelemetryOpen, _Mapping]] = ..., batch: _Optional[_Union[TelemetryBatch, _Mapping]] = ..., heartbeat: _Optional[_Union[TelemetryHeartbeat, _Mapping]] = ...) -> None: ...

class StreamTelemetryResponse(_message.Message):
    __slots__ = ("ack", "heartbeat", "resume_point", "sync_request")
    ACK_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    RESUME_POINT_FIELD_NUMBER: _ClassVar[int]
    SYNC_REQUEST_FIELD_NUMBER: _ClassVar[int]
    ack: TelemetryAck
    heartbeat: TelemetryHeartbeat
    resume_point: TelemetryResumePoint
    sync_request: TelemetrySyncRequest
    def __init__(self, ack: _Optional[_Union[TelemetryAck, _Mapping]] = ..., heartbeat: _Optional[_Union[TelemetryHeartbeat, _Mapping]] = ..., resume_point: _Optional[_Union[TelemetryResumePoint, _Mapping]] = ..., sync_request: _Optional[_Union[TelemetrySyncRequest, _Mapping]] = ...) -> None: ...

class TelemetryOpen(_message.Message):
    __slots__ = ("device", "resume")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    device: str
    resume: bool
    def __init__(self, device: _Optional[str] = ..., resume: _Optional[bool] = ...) -> None: ...

class TelemetryBatch(_message.Message):
    __slots__ = ("sequence", "samples", "columns", "sync", "sync_complete")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    SYNC_FIELD_NUMBER: _ClassVar[int]
    SYNC_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    samples: _containers.RepeatedCompositeFieldContainer[_sample_pb2.Sample]
    columns: _tracking_internal_service_pb2.SampleColumns
    sync: str
    sync_complete: bool
    def __init__(self, sequence: _Optional[int] = ..., samples: _Optional[_Iterable[_Union[_sample_pb2.Sample, _Mapping]]] = ..., columns: _Optional[_Union[_tracking_internal_service_pb2.SampleColumns, _Mapping]] = ..., sync: _Optional[str] = ..., sync_complete: _Optional[bool] = ...) -> None: ...

class TelemetryHeartbeat(_message.Message):
    __slots__ = ("send_time",)
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    send_time: _timestamp_pb2.Timestamp
    def __init__(self, send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TelemetryAck(_message.Message):
    __slots__ = ("sequence", "accepted", "duplicate", "updated", "rejected", "errors")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    accepted: int
    duplicate: int
    updated: int
    rejected: int
    errors: _containers.RepeatedCompositeFieldContainer[_sample_pb2.SampleError]
    def __init__(self, sequence: _Optional[int] = ..., accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[_sample_pb2.SampleError, _Mapping]]] = ...) -> None: ...

class TelemetryResumePoint(_message.Message):
    __slots__ = ("last_sequence",)
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    last_sequence: int
    def __init__(self, last_sequence: _Optional[int] = ...) -> None: ...

class TelemetrySyncRequest(_message.Message):
    __slots__ = ("sync", "start_time", "end_time", "sample_types")
    SYNC_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_TYPES_FIELD_NUMBER: _ClassVar[int]
    sync: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    sample_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sync: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sample_types: _Optional[_Iterable[str]] = ...) -> None: ...

class UploadDeviceDataRequest(_message.Message):
    __slots__ = ("name", "samples", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    samples: _containers.RepeatedCompositeFieldContainer[_sample_pb2.Sample]
    request_id: str
    def __init__(self, name: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[_sample_pb2.Sample, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UploadDeviceDataResponse(_message.Message):
    __slots__ = ("accepted", "duplicate", "updated", "rejected", "errors")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicate: int
    updated: int
    rejected: int
    errors: _containers.RepeatedCompositeFieldContainer[_sample_pb2.SampleError]
    def __init__(self, accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[_sample_pb2.SampleError, _Mapping]]] = ...) -> None: ...

class ReportDeviceHealthRequest(_message.Message):
    __slots__ = ("name", "battery_percent", "charging", "signal_strength_dbm", "firmware_version", "storage_used_percent", "uptime_seconds", "errors", "report_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BATTERY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CHARGING_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_STRENGTH_DBM_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    STORAGE_USED_PERCENT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    REPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    battery_percent: int
    charging: bool
    signal_strength_dbm: int
    firmware_version: str
    storage_used_percent: float
    uptime_seconds: int
    errors: _containers.RepeatedCompositeFieldContainer[_device_health_pb2.DeviceError]
    report_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., battery_percent: _Optional[int] = ..., charging: _Optional[bool] = ..., signal_strength_dbm: _Optional[int] = ..., firmware_version: _Optional[str] = ..., storage_used_percent: _Optional[float] = ..., uptime_seconds: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[_device_health_pb2.DeviceError, _Mapping]]] = ..., report_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDeviceHealthRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TriggerSyncRequest(_message.Message):
    __slots__ = ("name", "start_time", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_time: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, name: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetSyncRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSyncsRequest(_message.Message):
    __slots__ = ("parent", "state", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    state: _sync_pb2.Sync.State
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., state: _Optional[_Union[_sync_pb2.Sync.State, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSyncsResponse(_message.Message):
    __slots__ = ("syncs", "next_page_token")
    SYNCS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    syncs: _containers.RepeatedCompositeFieldContainer[_sync_pb2.Sync]
    next_page_token: str
    def __init__(self, syncs: _Optional[_Iterable[_Union[_sync_pb2.Sync, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetrySyncRequest(_message.Message):
    __slots__ = ("name", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
