import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthmesh.tracking.v1 import sample_pb2 as _sample_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sync(_message.Message):
    __slots__ = ("name", "state", "trigger", "data_start_time", "data_end_time", "accepted", "duplicate", "updated", "rejected", "errors", "failure_reason", "failure_message", "retry_of", "create_time", "start_time", "end_time", "update_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Sync.State]
        PENDING: _ClassVar[Sync.State]
        RUNNING: _ClassVar[Sync.State]
        SUCCEEDED: _ClassVar[Sync.State]
        FAILED: _ClassVar[Sync.State]
        CANCELLED: _ClassVar[Sync.State]
    STATE_UNSPECIFIED: Sync.State
    PENDING: Sync.State
    RUNNING: Sync.State
    SUCCEEDED: Sync.State
    FAILED: Sync.State
    CANCELLED: Sync.State
    class Trigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TRIGGER_UNSPECIFIED: _ClassVar[Sync.Trigger]
        MANUAL: _ClassVar[Sync.Trigger]
        SCHEDULED: _ClassVar[Sync.Trigger]
        RETRY: _ClassVar[Sync.Trigger]
    TRIGGER_UNSPECIFIED: Sync.Trigger
    MANUAL: Sync.Trigger
    SCHEDULED: Sync.Trigger
    RETRY: Sync.Trigger
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    DATA_START_TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_END_TIME_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: Sync.State
    trigger: Sync.Trigger
    data_start_time: _timestamp_pb2.Timestamp
    data_end_time: _timestamp_pb2.Timestamp
    accepted: int
    duplicate: int
    updated: int
    rejected: int
    errors: _containers.RepeatedCompositeFieldContainer[_sample_pb2.SampleError]
    failure_reason: str
    failure_message: str
    retry_of: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[Sync.State, str]] = ..., trigger: _Optional[_Union[Sync.Trigger, str]] = ..., data_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[_sample_pb2.SampleError, _Mapping]]] = ..., failure_reason: _Optional[str] = ..., failure_message: _Optional[str] = ..., retry_of: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
