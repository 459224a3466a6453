import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthmesh.tracking.v1 import achievement_pb2 as _achievement_pb2
from healthmesh.tracking.v1 import activity_pb2 as _activity_pb2
from healthmesh.tracking.v1 import goal_pb2 as _goal_pb2
from healthmesh.tracking.v1 import nutrition_entry_pb2 as _nutrition_entry_pb2
from healthmesh.tracking.v1 import sample_pb2 as _sample_pb2
from healthmesh.tracking.v1 import sample_type_pb2 as _sample_type_pb2
from healthmesh.tracking.v1 import sleep_session_pb2 as _sleep_session_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Interval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERVAL_UNSPECIFIED: _ClassVar[Interval]
    HOUR: _ClassVar[Interval]
    DAY: _ClassVar[Interval]
    WEEK: _ClassVar[Interval]
    MONTH: _ClassVar[Interval]

class MaxHeartRateBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MAX_HEART_RATE_BASIS_UNSPECIFIED: _ClassVar[MaxHeartRateBasis]
    GIVEN: _ClassVar[MaxHeartRateBasis]
    AGE: _ClassVar[MaxHeartRateBasis]
    MEASURED: _ClassVar[MaxHeartRateBasis]
INTERVAL_UNSPECIFIED: Interval
HOUR: Interval
DAY: Interval
WEEK: Interval
MONTH: Interval
MAX_HEART_RATE_BASIS_UNSPECIFIED: MaxHeartRateBasis
GIVEN: MaxHeartRateBasis
AGE: MaxHeartRateBasis
MEASURED: MaxHeartRateBasis

class ListSampleTypesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSampleTypesResponse(_message.Message):
    __slots__ = ("sample_types", "next_page_token")
    SAMPLE_TYPES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sample_types: _containers.RepeatedCompositeFieldContainer[_sample_type_pb2.SampleType]
    next_page_token: str
    def __init__(self, sample_types: _Optional[_Iterable[_Union[_sample_type_pb2.SampleType, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSampleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSamplesRequest(_message.Message):
    __slots__ = ("parent", "type", "start_time", "end_time", "source", "page_size", "page_token", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    type: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    source: str
    page_size: int
    page_token: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., type: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListSamplesResponse(_message.Message):
    __slots__ = ("samples", "next_page_token")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[_sample_pb2.Sample]
    next_page_token: str
    def __init__(self, samples: _Optional[_Iterable[_Union[_sample_pb2.Sample, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateSampleRequest(_message.Message):
    __slots__ = ("parent", "sample", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    sample: _sample_pb2.Sample
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., sample: _Optional[_Union[_sample_pb2.Sample, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteSampleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class BatchCreateSamplesRequest(_message.Message):
    __slots__ = ("parent", "samples", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    samples: _containers.RepeatedCompositeFieldContainer[_sample_pb2.Sample]
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[_sample_pb2.Sample, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class BatchCreateSamplesResponse(_message.Message):
    __slots__ = ("samples", "errors", "accepted", "duplicate", "updated", "rejected")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[_sample_pb2.Sample]
    errors: _containers.RepeatedCompositeFieldContainer[_sample_pb2.SampleError]
    accepted: int
    duplicate: int
    updated: int
    rejected: int
    def __init__(self, samples: _Optional[_Iterable[_Union[_sample_pb2.Sample, _Mapping]]] = ..., errors: _Optional[_Iterable[_Union[_sample_pb2.SampleError, _Mapping]]] = ..., accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ...) -> None: ...

class AggregateSamplesRequest(_message.Message):
    __slots__ = ("parent", "type", "interval", "start_time", "end_time", "source")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    type: str
    interval: Interval
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, parent: _Optional[str] = ..., type: _Optional[str] = ..., interval: _Optional[_Union[Interval, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class AggregateSamplesResponse(_message.Message):
    __slots__ = ("type", "unit", "aggregation", "buckets")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    type: str
    unit: str
    aggregation: _sample_type_pb2.Aggregation
    buckets: _containers.RepeatedCompositeFieldContainer[AggregateBucket]
    def __init__(self, type: _Optional[str] = ..., unit: _Optional[str] = ..., aggregation: _Optional[_Union[_sample_type_pb2.Aggregation, str]] = ..., buckets: _Optional[_Iterable[_Union[AggregateBucket, _Mapping]]] = ...) -> None: ...

class AggregateBucket(_message.Message):
    __slots__ = ("start_time", "local_date", "count", "sum", "min", "max", "avg", "sources")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    LOCAL_DATE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SUM_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    AVG_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    local_date: str
    count: int
    sum: float
    min: float
    max: float
    avg: float
    sources: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., local_date: _Optional[str] = ..., count: _Optional[int] = ..., sum: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., avg: _Optional[float] = ..., sources: _Optional[_Iterable[str]] = ...) -> None: ...

class GetLatestSamplesRequest(_message.Message):
    __slots__ = ("parent", "types")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    parent: str
    types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, parent: _Optional[str] = ..., types: _Optional[_Iterable[str]] = ...) -> None: ...

class GetLatestSamplesResponse(_message.Message):
    __slots__ = ("samples",)
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[_sample_pb2.Sample]
    def __init__(self, samples: _Optional[_Iterable[_Union[_sample_pb2.Sample, _Mapping]]] = ...) -> None: ...

class GetActivityRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: _activity_pb2.ActivityView
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[_activity_pb2.ActivityView, str]] = ...) -> None: ...

class ListActivitiesRequest(_message.Message):
    __slots__ = ("parent", "type", "start_time", "end_time", "source", "view", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    type: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    source: str
    view: _activity_pb2.ActivityView
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., type: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., view: _Optional[_Union[_activity_pb2.ActivityView, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListActivitiesResponse(_message.Message):
    __slots__ = ("activities", "next_page_token")
    ACTIVITIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    activities: _containers.RepeatedCompositeFieldContainer[_activity_pb2.Activity]
    next_page_token: str
    def __init__(self, activities: _Optional[_Iterable[_Union[_activity_pb2.Activity, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateActivityRequest(_message.Message):
    __slots__ = ("parent", "activity", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    activity: _activity_pb2.Activity
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., activity: _Optional[_Union[_activity_pb2.Activity, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateActivityRequest(_message.Message):
    __slots__ = ("activity", "update_mask")
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    activity: _activity_pb2.Activity
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, activity: _Optional[_Union[_activity_pb2.Activity, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteActivityRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetSleepSessionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSleepSessionsRequest(_message.Message):
    __slots__ = ("parent", "start_time", "end_time", "source", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    source: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSleepSessionsResponse(_message.Message):
    __slots__ = ("sleep_sessions", "next_page_token")
    SLEEP_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sleep_sessions: _containers.RepeatedCompositeFieldContainer[_sleep_session_pb2.SleepSession]
    next_page_token: str
    def __init__(self, sleep_sessions: _Optional[_Iterable[_Union[_sleep_session_pb2.SleepSession, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateSleepSessionRequest(_message.Message):
    __slots__ = ("parent", "sleep_session", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SLEEP_SESSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    sleep_session: _sleep_session_pb2.SleepSession
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., sleep_session: _Optional[_Union[_sleep_session_pb2.SleepSession, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateSleepSessionRequest(_message.Message):
    __slots__ = ("sleep_session", "update_mask")
    SLEEP_SESSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    sleep_session: _sleep_session_pb2.SleepSession
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, sleep_session: _Optional[_Union[_sleep_session_pb2.SleepSession, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteSleepSessionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class AnalyzeSleepRequest(_message.Message):
    __slots__ = ("parent", "start_time", "end_time", "target_sleep_seconds")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TARGET_SLEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    target_sleep_seconds: int
    def __init__(self, parent: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., target_sleep_seconds: _Optional[int] = ...) -> None: ...

class AnalyzeSleepResponse(_message.Message):
    __slots__ = ("start_time", "end_time", "night_count", "target_sleep_seconds", "avg_asleep_seconds", "avg_time_in_bed_seconds", "avg_awake_seconds", "avg_light_seconds", "avg_deep_seconds", "avg_rem_seconds", "avg_efficiency_percent", "avg_score", "avg_bedtime", "avg_wake_time", "bedtime_stddev_minutes", "wake_time_stddev_minutes", "consistency_score", "sleep_debt_seconds", "nights")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    NIGHT_COUNT_FIELD_NUMBER: _ClassVar[int]
    TARGET_SLEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AVG_ASLEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AVG_TIME_IN_BED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AVG_AWAKE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AVG_LIGHT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AVG_DEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AVG_REM_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AVG_EFFICIENCY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    AVG_SCORE_FIELD_NUMBER: _ClassVar[int]
    AVG_BEDTIME_FIELD_NUMBER: _ClassVar[int]
    AVG_WAKE_TIME_FIELD_NUMBER: _ClassVar[int]
    BEDTIME_STDDEV_MINUTES_FIELD_NUMBER: _ClassVar[int]
    WAKE_TIME_STDDEV_MINUTES_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_SCORE_FIELD_NUMBER: _ClassVar[int]
    SLEEP_DEBT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NIGHTS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    night_count: int
    target_sleep_seconds: int
    avg_asleep_seconds: int
    avg_time_in_bed_seconds: int
    avg_awake_seconds: int
    avg_light_seconds: int
    avg_deep_seconds: int
    avg_rem_seconds: int
    avg_efficiency_percent: float
    avg_score: float
    avg_bedtime: str
    avg_wake_time: str
    bedtime_stddev_minutes: float
    wake_time_stddev_minutes: float
    consistency_score: int
    sleep_debt_seconds: int
    nights: _containers.RepeatedCompositeFieldContainer[SleepNight]
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., night_count: _Optional[int] = ..., target_sleep_seconds: _Optional[int] = ..., avg_asleep_seconds: _Optional[int] = ..., avg_time_in_bed_seconds: _Optional[int] = ..., avg_awake_seconds: _Optional[int] = ..., avg_light_seconds: _Optional[int] = ..., avg_deep_seconds: _Optional[int] = ..., avg_rem_seconds: _Optional[int] = ..., avg_efficiency_percent: _Optional[float] = ..., avg_score: _Optional[float] = ..., avg_bedtime: _Optional[str] = ..., avg_wake_time: _Optional[str] = ..., bedtime_stddev_minutes: _Optional[float] = ..., wake_time_stddev_minutes: _Optional[float] = ..., consistency_score: _Optional[int] = ..., sleep_debt_seconds: _Optional[int] = ..., nights: _Optional[_Iterable[_Union[SleepNight, _Mapping]]] = ...) -> None: ...

class SleepNight(_message.Message):
    __slots__ = ("local_date", "asleep_seconds", "time_in_bed_seconds", "debt_seconds")
    LOCAL_DATE_FIELD_NUMBER: _ClassVar[int]
    ASLEEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_BED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DEBT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    local_date: str
    asleep_seconds: int
    time_in_bed_seconds: int
    debt_seconds: int
    def __init__(self, local_date: _Optional[str] = ..., asleep_seconds: _Optional[int] = ..., time_in_bed_seconds: _Optional[int] = ..., debt_seconds: _Optional[int] = ...) -> None: ...

class GetHeartRateZonesRequest(_message.Message):
    __slots__ = ("parent", "start_time", "end_time", "basis", "max_heart_rate")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    MAX_HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    basis: MaxHeartRateBasis
    max_heart_rate: float
    def __init__(self, parent: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., basis: _Optional[_Union[MaxHeartRateBasis, str]] = ..., max_heart_rate: _Optional[float] = ...) -> None: ...

class GetHeartRateZonesResponse(_message.Message):
    __slots__ = ("max_heart_rate", "basis", "age", "resting_heart_rate", "start_time", "end_time", "zones", "below_zones_seconds", "total_seconds")
    MAX_HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    RESTING_HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ZONES_FIELD_NUMBER: _ClassVar[int]
    BELOW_ZONES_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_heart_rate: float
    basis: MaxHeartRateBasis
    age: int
    resting_heart_rate: float
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    zones: _containers.RepeatedCompositeFieldContainer[HeartRateZone]
    below_zones_seconds: int
    total_seconds: int
    def __init__(self, max_heart_rate: _Optional[float] = ..., basis: _Optional[_Union[MaxHeartRateBasis, str]] = ..., age: _Optional[int] = ..., resting_heart_rate: _Optional[float] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., zones: _Optional[_Iterable[_Union[HeartRateZone, _Mapping]]] = ..., below_zones_seconds: _Optional[int] = ..., total_seconds: _Optional[int] = ...) -> None: ...

class HeartRateZone(_message.Message):
    __slots__ = ("zone", "display_name", "min_percent", "max_percent", "min_bpm", "max_bpm", "time_in_zone_seconds", "percent_of_time")
    ZONE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    MIN_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MIN_BPM_FIELD_NUMBER: _ClassVar[int]
    MAX_BPM_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_ZONE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    zone: int
    display_name: str
    min_percent: float
    max_percent: float
    min_bpm: float
    max_bpm: float
    time_in_zone_seconds: int
    percent_of_time: float
    def __init__(self, zone: _Optional[int] = ..., display_name: _Optional[str] = ..., min_percent: _Optional[float] = ..., max_percent: _Optional[float] = ..., min_bpm: _Optional[float] = ..., max_bpm: _Optional[float] = ..., time_in_zone_seconds: _Optional[int] = ..., percent_of_time: _Optional[float] = ...) -> None: ...

class GetNutritionEntryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListNutritionEntriesRequest(_message.Message):
    __slots__ = ("parent", "start_time", "end_time", "meal_type", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    MEAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    meal_type: _nutrition_entry_pb2.MealType
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., meal_type: _Optional[_Union[_nutrition_entry_pb2.MealType, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNutritionEntriesResponse(_message.Message):
    __slots__ = ("nutrition_entries", "next_page_token")
    NUTRITION_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    nutrition_entries: _containers.RepeatedCompositeFieldContainer[_nutrition_entry_pb2.NutritionEntry]
    next_page_token: str
    def __init__(self, nutrition_entries: _Optional[_Iterable[_Union[_nutrition_entry_pb2.NutritionEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateNutritionEntryRequest(_message.Message):
    __slots__ = ("parent", "nutrition_entry", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    NUTRITION_ENTRY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    nutrition_entry: _nutrition_entry_pb2.NutritionEntry
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., nutrition_entry: _Optional[_Union[_nutrition_entry_pb2.NutritionEntry, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateNutritionEntryRequest(_message.Message):
    __slots__ = ("nutrition_entry", "update_mask")
    NUTRITION_ENTRY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    nutrition_entry: _nutrition_entry_pb2.NutritionEntry
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, nutrition_entry: _Optional[_Union[_nutrition_entry_pb2.NutritionEntry, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteNutritionEntryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class SummarizeNutritionRequest(_message.Message):
    __slots__ = ("parent", "start_date", "end_date")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    start_date: str
    end_date: str
    def __init__(self, parent: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class SummarizeNutritionResponse(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[DailyNutrition]
    def __init__(self, days: _Optional[_Iterable[_Union[DailyNutrition, _Mapping]]] = ...) -> None: ...

class DailyNutrition(_message.Message):
    __slots__ = ("local_date", "entry_count", "calories_kcal", "protein_grams", "carbs_grams", "fat_grams", "fiber_grams", "sugar_grams", "water_ml", "caffeine_mg")
    LOCAL_DATE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    CALORIES_KCAL_FIELD_NUMBER: _ClassVar[int]
    PROTEIN_GRAMS_FIELD_NUMBER: _ClassVar[int]
    CARBS_GRAMS_FIELD_NUMBER: _ClassVar[int]
    FAT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    FIBER_GRAMS_FIELD_NUMBER: _ClassVar[int]
    SUGAR_GRAMS_FIELD_NUMBER: _ClassVar[int]
    WATER_ML_FIELD_NUMBER: _ClassVar[int]
    CAFFEINE_MG_FIELD_NUMBER: _ClassVar[int]
    local_date: str
    entry_count: int
    calories_kcal: float
    protein_grams: float
    carbs_grams: float
    fat_grams: float
    fiber_grams: float
    sugar_grams: float
    water_ml: float
    caffeine_mg: float
    def __init__(self, local_date: _Optional[str] = ..., entry_count: _Optional[int] = ..., calories_kcal: _Optional[float] = ..., protein_grams: _Optional[float] = ..., carbs_grams: _Optional[float] = ..., fat_grams: _Optional[float] = ..., fiber_grams: _Optional[float] = ..., sugar_grams: _Optional[float] = ..., water_ml: _Optional[float] = ..., caffeine_mg: _Optional[float] = ...) -> None: ...

class GetGoalRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListGoalsRequest(_message.Message):
    __slots__ = ("parent", "state", "metric", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    state: _goal_pb2.Goal.State
    metric: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., state: _Optional[_Union[_goal_pb2.Goal.State, str]] = ..., metric: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGoalsResponse(_message.Message):
    __slots__ = ("goals", "next_page_token")
    GOALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    goals: _containers.RepeatedCompositeFieldContainer[_goal_pb2.Goal]
    next_page_token: str
    def __init__(self, goals: _Optional[_Iterable[_Union[_goal_pb2.Goal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateGoalRequest(_message.Message):
    __slots__ = ("parent", "goal", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    goal: _goal_pb2.Goal
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., goal: _Optional[_Union[_goal_pb2.Goal, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateGoalRequest(_message.Message):
    __slots__ = ("goal", "update_mask")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    goal: _goal_pb2.Goal
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, goal: _Optional[_Union[_goal_pb2.Goal, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteGoalRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetGoalProgressRequest(_message.Message):
    __slots__ = ("name", "history_periods")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HISTORY_PERIODS_FIELD_NUMBER: _ClassVar[int]
    name: str
    history_periods: int
    def __init__(self, name: _Optional[str] = ..., history_periods: _Optional[int] = ...) -> None: ...

class GoalProgress(_message.Message):
    __slots__ = ("goal", "metric", "unit", "period_start_date", "period_end_date", "current_value", "target_value", "percent", "met", "current_streak", "best_streak", "history", "achievements")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_DATE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VALUE_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STREAK_FIELD_NUMBER: _ClassVar[int]
    BEST_STREAK_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    ACHIEVEMENTS_FIELD_NUMBER: _ClassVar[int]
    goal: str
    metric: str
    unit: str
    period_start_date: str
    period_end_date: str
    current_value: float
    target_value: float
    percent: float
    met: bool
    current_streak: int
    best_streak: int
    history: _containers.RepeatedCompositeFieldContainer[GoalPeriodProgress]
    achievements: _containers.RepeatedCompositeFieldContainer[_achievement_pb2.Achievement]
    def __init__(self, goal: _Optional[str] = ..., metric: _Optional[str] = ..., unit: _Optional[str] = ..., period_start_date: _Optional[str] = ..., period_end_date: _Optional[str] = ..., current_value: _Optional[float] = ..., target_value: _Optional[float] = ..., percent: _Optional[float] = ..., met: _Optional[bool] = ..., current_streak: _Optional[int] = ..., best_streak: _Optional[int] = ..., history: _Optional[_Iterable[_Union[GoalPeriodProgress, _Mapping]]] = ..., achievements: _Optional[_Iterable[_Union[_achievement_pb2.Achievement, _Mapping]]] = ...) -> None: ...

class GoalPeriodProgress(_message.Message):
    __slots__ = ("start_date", "end_date", "value", "percent", "met")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    value: float
    percent: float
    met: bool
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., value: _Optional[float] = ..., percent: _Optional[float] = ..., met: _Optional[bool] = ...) -> None: ...
