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

class ActivityView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVITY_VIEW_UNSPECIFIED: _ClassVar[ActivityView]
    BASIC: _ClassVar[ActivityView]
    FULL: _ClassVar[ActivityView]
ACTIVITY_VIEW_UNSPECIFIED: ActivityView
BASIC: ActivityView
FULL: ActivityView

class Activity(_message.Message):
    __slots__ = ("name", "type", "display_name", "start_time", "end_time", "utc_offset_minutes", "duration_seconds", "distance_meters", "active_energy_kcal", "total_energy_kcal", "steps", "elevation_ascent_meters", "elevation_descent_meters", "pace_seconds_per_km", "speed_meters_per_second", "heart_rate", "heart_rate_series", "route", "indoor", "weather", "notes", "source", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    UTC_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_METERS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ENERGY_KCAL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ENERGY_KCAL_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ELEVATION_ASCENT_METERS_FIELD_NUMBER: _ClassVar[int]
    ELEVATION_DESCENT_METERS_FIELD_NUMBER: _ClassVar[int]
    PACE_SECONDS_PER_KM_FIELD_NUMBER: _ClassVar[int]
    SPEED_METERS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    HEART_RATE_SERIES_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    INDOOR_FIELD_NUMBER: _ClassVar[int]
    WEATHER_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    display_name: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    utc_offset_minutes: int
    duration_seconds: int
    distance_meters: float
    active_energy_kcal: float
    total_energy_kcal: float
    steps: int
    elevation_ascent_meters: float
    elevation_descent_meters: float
    pace_seconds_per_km: float
    speed_meters_per_second: float
    heart_rate: HeartRateSummary
    heart_rate_series: _containers.RepeatedCompositeFieldContainer[HeartRatePoint]
    route: _containers.RepeatedCompositeFieldContainer[RoutePoint]
    indoor: bool
    weather: Weather
    notes: str
    source: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., display_name: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., utc_offset_minutes: _Optional[int] = ..., duration_seconds: _Optional[int] = ..., distance_meters: _Optional[float] = ..., active_energy_kcal: _Optional[float] = ..., total_energy_kcal: _Optional[float] = ..., steps: _Optional[int] = ..., elevation_ascent_meters: _Optional[float] = ..., elevation_descent_meters: _Optional[float] = ..., pace_seconds_per_km: _Optional[float] = ..., speed_meters_per_second: _Optional[float] = ..., heart_rate: _Optional[_Union[HeartRateSummary, _Mapping]] = ..., heart_rate_series: _Optional[_Iterable[_Union[HeartRatePoint, _Mapping]]] = ..., route: _Optional[_Iterable[_Union[RoutePoint, _Mapping]]] = ..., indoor: _Optional[bool] = ..., weather: _Optional[_Union[Weather, _Mapping]] = ..., notes: _Optional[str] = ..., source: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HeartRateSummary(_message.Message):
    __slots__ = ("min_bpm", "avg_bpm", "max_bpm")
    MIN_BPM_FIELD_NUMBER: _ClassVar[int]
    AVG_BPM_FIELD_NUMBER: _ClassVar[int]
    MAX_BPM_FIELD_NUMBER: _ClassVar[int]
    min_bpm: float
    avg_bpm: float
    max_bpm: float
    def __init__(self, min_bpm: _Optional[float] = ..., avg_bpm: _Optional[float] = ..., max_bpm: _Optional[float] = ...) -> None: ...

class HeartRatePoint(_message.Message):
    __slots__ = ("time", "bpm", "min_bpm", "max_bpm")
    TIME_FIELD_NUMBER: _ClassVar[int]
    BPM_FIELD_NUMBER: _ClassVar[int]
    MIN_BPM_FIELD_NUMBER: _ClassVar[int]
    MAX_BPM_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    bpm: float
    min_bpm: float
    max_bpm: float
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bpm: _Optional[float] = ..., min_bpm: _Optional[float] = ..., max_bpm: _Optional[float] = ...) -> None: ...

class RoutePoint(_message.Message):
    __slots__ = ("time", "latitude", "longitude", "altitude_meters", "speed_meters_per_second", "course_degrees", "horizontal_accuracy_meters", "vertical_accuracy_meters")
    TIME_FIELD_NUMBER: _ClassVar[int]
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    ALTITUDE_METERS_FIELD_NUMBER: _ClassVar[int]
    SPEED_METERS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    COURSE_DEGREES_FIELD_NUMBER: _ClassVar[int]
    HORIZONTAL_ACCURACY_METERS_FIELD_NUMBER: _ClassVar[int]
    VERTICAL_ACCURACY_METERS_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    latitude: float
    longitude: float
    altitude_meters: float
    speed_meters_per_second: float
    course_degrees: float
    horizontal_accuracy_meters: float
    vertical_accuracy_meters: float
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latitude: _Optional[float] = ..., longitude: _Optional[float] = ..., altitude_meters: _Optional[float] = ..., speed_meters_per_second: _Optional[float] = ..., course_degrees: _Optional[float] = ..., horizontal_accuracy_meters: _Optional[float] = ..., vertical_accuracy_meters: _Optional[float] = ...) -> None: ...

class Weather(_message.Message):
    __slots__ = ("temperature_celsius", "humidity_percent", "conditions")
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    HUMIDITY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    temperature_celsius: float
    humidity_percent: float
    conditions: str
    def __init__(self, temperature_celsius: _Optional[float] = ..., humidity_percent: _Optional[float] = ..., conditions: _Optional[str] = ...) -> None: ...
