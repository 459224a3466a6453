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

class SleepStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLEEP_STAGE_UNSPECIFIED: _ClassVar[SleepStage]
    AWAKE: _ClassVar[SleepStage]
    IN_BED: _ClassVar[SleepStage]
    OUT_OF_BED: _ClassVar[SleepStage]
    ASLEEP: _ClassVar[SleepStage]
    CORE: _ClassVar[SleepStage]
    LIGHT: _ClassVar[SleepStage]
    DEEP: _ClassVar[SleepStage]
    REM: _ClassVar[SleepStage]
SLEEP_STAGE_UNSPECIFIED: SleepStage
AWAKE: SleepStage
IN_BED: SleepStage
OUT_OF_BED: SleepStage
ASLEEP: SleepStage
CORE: SleepStage
LIGHT: SleepStage
DEEP: SleepStage
REM: SleepStage

class SleepSession(_message.Message):
    __slots__ = ("name", "start_time", "end_time", "utc_offset_minutes", "local_date", "stages", "time_in_bed_seconds", "asleep_seconds", "awake_seconds", "light_seconds", "deep_seconds", "rem_seconds", "unspecified_asleep_seconds", "score", "efficiency_percent", "notes", "source", "create_time", "update_time", "reported_time_in_bed_seconds", "reported_asleep_seconds")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    UTC_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    LOCAL_DATE_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_BED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ASLEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AWAKE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LIGHT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REM_SECONDS_FIELD_NUMBER: _ClassVar[int]
    UNSPECIFIED_ASLEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EFFICIENCY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REPORTED_TIME_IN_BED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REPORTED_ASLEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    utc_offset_minutes: int
    local_date: str
    stages: _containers.RepeatedCompositeFieldContainer[SleepStagePeriod]
    time_in_bed_seconds: int
    asleep_seconds: int
    awake_seconds: int
    light_seconds: int
    deep_seconds: int
    rem_seconds: int
    unspecified_asleep_seconds: int
    score: int
    efficiency_percent: float
    notes: str
    source: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    reported_time_in_bed_seconds: int
    reported_asleep_seconds: int
    def __init__(self, name: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., utc_offset_minutes: _Optional[int] = ..., local_date: _Optional[str] = ..., stages: _Optional[_Iterable[_Union[SleepStagePeriod, _Mapping]]] = ..., time_in_bed_seconds: _Optional[int] = ..., asleep_seconds: _Optional[int] = ..., awake_seconds: _Optional[int] = ..., light_seconds: _Optional[int] = ..., deep_seconds: _Optional[int] = ..., rem_seconds: _Optional[int] = ..., unspecified_asleep_seconds: _Optional[int] = ..., score: _Optional[int] = ..., efficiency_percent: _Optional[float] = ..., notes: _Optional[str] = ..., source: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reported_time_in_bed_seconds: _Optional[int] = ..., reported_asleep_seconds: _Optional[int] = ...) -> None: ...

class SleepStagePeriod(_message.Message):
    __slots__ = ("stage", "start_time", "end_time")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    stage: SleepStage
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, stage: _Optional[_Union[SleepStage, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
