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

class Ingestion(_message.Message):
    __slots__ = ("name", "state", "format", "counts", "errors", "errors_truncated", "payload_digest", "payload_size_bytes", "processed_bytes", "content_type", "request_headers", "request_id", "api_key", "parser_version", "reprocess_count", "data_start_time", "data_end_time", "create_time", "update_time", "complete_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Ingestion.State]
        PENDING: _ClassVar[Ingestion.State]
        RUNNING: _ClassVar[Ingestion.State]
        SUCCEEDED: _ClassVar[Ingestion.State]
        FAILED: _ClassVar[Ingestion.State]
    STATE_UNSPECIFIED: Ingestion.State
    PENDING: Ingestion.State
    RUNNING: Ingestion.State
    SUCCEEDED: Ingestion.State
    FAILED: Ingestion.State
    class Format(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FORMAT_UNSPECIFIED: _ClassVar[Ingestion.Format]
        HEALTH_AUTO_EXPORT: _ClassVar[Ingestion.Format]
        APPLE_HEALTH_EXPORT: _ClassVar[Ingestion.Format]
        BATCH: _ClassVar[Ingestion.Format]
    FORMAT_UNSPECIFIED: Ingestion.Format
    HEALTH_AUTO_EXPORT: Ingestion.Format
    APPLE_HEALTH_EXPORT: Ingestion.Format
    BATCH: Ingestion.Format
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ItemCounts
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ItemCounts, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_DIGEST_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_BYTES_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_HEADERS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PARSER_VERSION_FIELD_NUMBER: _ClassVar[int]
    REPROCESS_COUNT_FIELD_NUMBER: _ClassVar[int]
    DATA_START_TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_END_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: Ingestion.State
    format: Ingestion.Format
    counts: _containers.MessageMap[str, ItemCounts]
    errors: _containers.RepeatedCompositeFieldContainer[ItemError]
    errors_truncated: int
    payload_digest: str
    payload_size_bytes: int
    processed_bytes: int
    content_type: str
    request_headers: RequestHeaders
    request_id: str
    api_key: str
    parser_version: str
    reprocess_count: int
    data_start_time: _timestamp_pb2.Timestamp
    data_end_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    complete_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[Ingestion.State, str]] = ..., format: _Optional[_Union[Ingestion.Format, str]] = ..., counts: _Optional[_Mapping[str, ItemCounts]] = ..., errors: _Optional[_Iterable[_Union[ItemError, _Mapping]]] = ..., errors_truncated: _Optional[int] = ..., payload_digest: _Optional[str] = ..., payload_size_bytes: _Optional[int] = ..., processed_bytes: _Optional[int] = ..., content_type: _Optional[str] = ..., request_headers: _Optional[_Union[RequestHeaders, _Mapping]] = ..., request_id: _Optional[str] = ..., api_key: _Optional[str] = ..., parser_version: _Optional[str] = ..., reprocess_count: _Optional[int] = ..., data_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ItemCounts(_message.Message):
    __slots__ = ("accepted", "duplicate", "updated", "rejected", "skipped")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicate: int
    updated: int
    rejected: int
    skipped: int
    def __init__(self, accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ..., skipped: _Optional[int] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("path", "reason", "message")
    PATH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    path: str
    reason: str
    message: str
    def __init__(self, path: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class RequestHeaders(_message.Message):
    __slots__ = ("automation_name", "automation_id", "automation_aggregation", "automation_period", "session_id", "user_agent")
    AUTOMATION_NAME_FIELD_NUMBER: _ClassVar[int]
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    AUTOMATION_AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    AUTOMATION_PERIOD_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    automation_name: str
    automation_id: str
    automation_aggregation: str
    automation_period: str
    session_id: str
    user_agent: str
    def __init__(self, automation_name: _Optional[str] = ..., automation_id: _Optional[str] = ..., automation_aggregation: _Optional[str] = ..., automation_period: _Optional[str] = ..., session_id: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...
