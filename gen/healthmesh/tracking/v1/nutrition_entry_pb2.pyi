import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MealType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEAL_TYPE_UNSPECIFIED: _ClassVar[MealType]
    BREAKFAST: _ClassVar[MealType]
    LUNCH: _ClassVar[MealType]
    DINNER: _ClassVar[MealType]
    SNACK: _ClassVar[MealType]
    DRINK: _ClassVar[MealType]
MEAL_TYPE_UNSPECIFIED: MealType
BREAKFAST: MealType
LUNCH: MealType
DINNER: MealType
SNACK: MealType
DRINK: MealType

class NutritionEntry(_message.Message):
    __slots__ = ("name", "meal_type", "consume_time", "utc_offset_minutes", "food_name", "calories_kcal", "protein_grams", "carbs_grams", "fat_grams", "fiber_grams", "sugar_grams", "water_ml", "caffeine_mg", "notes", "source", "local_date", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONSUME_TIME_FIELD_NUMBER: _ClassVar[int]
    UTC_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    FOOD_NAME_FIELD_NUMBER: _ClassVar[int]
    CALORIES_KCAL_FIELD_NUMBER: _ClassVar[int]
    PROTEIN_GRAMS_FIELD_NUMBER: _ClassVar[int]
    CARBS_GRAMS_FIELD_NUMBER: _ClassVar[int]
    FAT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    FIBER_GRAMS_FIELD_NUMBER: _ClassVar[int]
    SUGAR_GRAMS_FIELD_NUMBER: _ClassVar[int]
    WATER_ML_FIELD_NUMBER: _ClassVar[int]
    CAFFEINE_MG_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_DATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    meal_type: MealType
    consume_time: _timestamp_pb2.Timestamp
    utc_offset_minutes: int
    food_name: str
    calories_kcal: float
    protein_grams: float
    carbs_grams: float
    fat_grams: float
    fiber_grams: float
    sugar_grams: float
    water_ml: float
    caffeine_mg: float
    notes: str
    source: str
    local_date: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., meal_type: _Optional[_Union[MealType, str]] = ..., consume_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., utc_offset_minutes: _Optional[int] = ..., food_name: _Optional[str] = ..., calories_kcal: _Optional[float] = ..., protein_grams: _Optional[float] = ..., carbs_grams: _Optional[float] = ..., fat_grams: _Optional[float] = ..., fiber_grams: _Optional[float] = ..., sugar_grams: _Optional[float] = ..., water_ml: _Optional[float] = ..., caffeine_mg: _Optional[float] = ..., notes: _Optional[str] = ..., source: _Optional[str] = ..., local_date: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
