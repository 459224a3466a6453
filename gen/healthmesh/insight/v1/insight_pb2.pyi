import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthmesh.insight.v1 import category_pb2 as _category_pb2
from healthmesh.insight.v1 import severity_pb2 as _severity_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Insight(_message.Message):
    __slots__ = ("name", "kind", "rule", "category", "severity", "title", "body", "sample_type", "start_date", "end_date", "read", "read_time", "create_time", "update_time")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Insight.Kind]
        RECOMMENDATION: _ClassVar[Insight.Kind]
        TREND: _ClassVar[Insight.Kind]
        ANOMALY: _ClassVar[Insight.Kind]
        CORRELATION: _ClassVar[Insight.Kind]
        ACHIEVEMENT: _ClassVar[Insight.Kind]
        SUMMARY: _ClassVar[Insight.Kind]
    KIND_UNSPECIFIED: Insight.Kind
    RECOMMENDATION: Insight.Kind
    TREND: Insight.Kind
    ANOMALY: Insight.Kind
    CORRELATION: Insight.Kind
    ACHIEVEMENT: Insight.Kind
    SUMMARY: Insight.Kind
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    READ_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: Insight.Kind
    rule: str
    category: _category_pb2.Category
    severity: _severity_pb2.Severity
    title: str
    body: str
    sample_type: str
    start_date: str
    end_date: str
    read: bool
    read_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[Insight.Kind, str]] = ..., rule: _Optional[str] = ..., category: _Optional[_Union[_category_pb2.Category, str]] = ..., severity: _Optional[_Union[_severity_pb2.Severity, str]] = ..., title: _Optional[str] = ..., body: _Optional[str] = ..., sample_type: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., read: _Optional[bool] = ..., read_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
