from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from healthmesh.tracking.v1 import sample_pb2 as _sample_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WriteSamplesRequest(_message.Message):
    __slots__ = ("sequence", "user", "samples", "ingest_id", "default_source")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    INGEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    user: str
    samples: _containers.RepeatedCompositeFieldContainer[_sample_pb2.Sample]
    ingest_id: str
    default_source: str
    def __init__(self, sequence: _Optional[int] = ..., user: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[_sample_pb2.Sample, _Mapping]]] = ..., ingest_id: _Optional[str] = ..., default_source: _Optional[str] = ...) -> None: ...

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
