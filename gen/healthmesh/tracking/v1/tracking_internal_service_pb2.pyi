from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from healthmesh.tracking.v1 import activity_pb2 as _activity_pb2
from healthmesh.tracking.v1 import sample_pb2 as _sample_pb2
from healthmesh.tracking.v1 import sleep_session_pb2 as _sleep_session_pb2
from healthmesh.tracking.v1 import tracking_service_pb2 as _tracking_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchAggregateSamplesRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[_tracking_service_pb2.AggregateSamplesRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[_tracking_service_pb2.AggregateSamplesRequest, _Mapping]]] = ...) -> None: ...

class BatchAggregateSamplesResponse(_message.Message):
    __slots__ = ("responses",)
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[_tracking_service_pb2.AggregateSamplesResponse]
    def __init__(self, responses: _Optional[_Iterable[_Union[_tracking_service_pb2.AggregateSamplesResponse, _Mapping]]] = ...) -> None: ...

class ImportRecordsRequest(_message.Message):
    __slots__ = ("user", "records")
    USER_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    user: str
    records: _containers.RepeatedCompositeFieldContainer[ImportedRecord]
    def __init__(self, user: _Optional[str] = ..., records: _Optional[_Iterable[_Union[ImportedRecord, _Mapping]]] = ...) -> None: ...

class ImportedRecord(_message.Message):
    __slots__ = ("request_id", "activity", "sleep_session")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    SLEEP_SESSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    activity: _activity_pb2.Activity
    sleep_session: _sleep_session_pb2.SleepSession
    def __init__(self, request_id: _Optional[str] = ..., activity: _Optional[_Union[_activity_pb2.Activity, _Mapping]] = ..., sleep_session: _Optional[_Union[_sleep_session_pb2.SleepSession, _Mapping]] = ...) -> None: ...

class ImportRecordsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ImportResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ImportResult, _Mapping]]] = ...) -> None: ...

class ImportResult(_message.Message):
    __slots__ = ("outcome", "message")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[ImportResult.Outcome]
        ACCEPTED: _ClassVar[ImportResult.Outcome]
        DUPLICATE: _ClassVar[ImportResult.Outcome]
        REJECTED: _ClassVar[ImportResult.Outcome]
        UPDATED: _ClassVar[ImportResult.Outcome]
    OUTCOME_UNSPECIFIED: ImportResult.Outcome
    ACCEPTED: ImportResult.Outcome
    DUPLICATE: ImportResult.Outcome
    REJECTED: ImportResult.Outcome
    UPDATED: ImportResult.Outcome
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    outcome: ImportResult.Outcome
    message: str
    def __init__(self, outcome: _Optional[_Union[ImportResult.Outcome, str]] = ..., message: _Optional[str] = ...) -> None: ...

class WriteSamplesRequest(_message.Message):
    __slots__ = ("sequence", "user", "samples", "ingest_id", "default_source", "columns")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    INGEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    user: str
    samples: _containers.RepeatedCompositeFieldContainer[_sample_pb2.Sample]
    ingest_id: str
    default_source: str
    columns: SampleColumns
    def __init__(self, sequence: _Optional[int] = ..., user: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[_sample_pb2.Sample, _Mapping]]] = ..., ingest_id: _Optional[str] = ..., default_source: _Optional[str] = ..., columns: _Optional[_Union[SampleColumns, _Mapping]] = ...) -> None: ...

class SampleColumns(_message.Message):
    __slots__ = ("strings", "type", "unit", "source", "start_time_micros", "end_time_micros", "utc_offset_minutes", "value", "min", "max", "value2", "meal_context")
    STRINGS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_MICROS_FIELD_NUMBER: _ClassVar[int]
    END_TIME_MICROS_FIELD_NUMBER: _ClassVar[int]
    UTC_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    VALUE2_FIELD_NUMBER: _ClassVar[int]
    MEAL_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    strings: _containers.RepeatedScalarFieldContainer[str]
    type: _containers.RepeatedScalarFieldContainer[int]
    unit: _containers.RepeatedScalarFieldContainer[int]
    source: _containers.RepeatedScalarFieldContainer[int]
    start_time_micros: _containers.RepeatedScalarFieldContainer[int]
    end_time_micros: _containers.RepeatedScalarFieldContainer[int]
    utc_offset_minutes: _containers.RepeatedScalarFieldContainer[int]
    value: _containers.RepeatedScalarFieldContainer[float]
    min: _containers.RepeatedScalarFieldContainer[float]
    max: _containers.RepeatedScalarFieldContainer[float]
    value2: _containers.RepeatedScalarFieldContainer[float]
    meal_context: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, strings: _Optional[_Iterable[str]] = ..., type: _Optional[_Iterable[int]] = ..., unit: _Optional[_Iterable[int]] = ..., source: _Optional[_Iterable[int]] = ..., start_time_micros: _Optional[_Iterable[int]] = ..., end_time_micros: _Optional[_Iterable[int]] = ..., utc_offset_minutes: _Optional[_Iterable[int]] = ..., value: _Optional[_Iterable[float]] = ..., min: _Optional[_Iterable[float]] = ..., max: _Optional[_Iterable[float]] = ..., value2: _Optional[_Iterable[float]] = ..., meal_context: _Optional[_Iterable[int]] = ...) -> None: ...

class WriteSamplesResponse(_message.Message):
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
