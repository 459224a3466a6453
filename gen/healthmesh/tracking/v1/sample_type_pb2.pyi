from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Aggregation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGGREGATION_UNSPECIFIED: _ClassVar[Aggregation]
    SUM: _ClassVar[Aggregation]
    SAMPLE: _ClassVar[Aggregation]
AGGREGATION_UNSPECIFIED: Aggregation
SUM: Aggregation
SAMPLE: Aggregation

class SampleType(_message.Message):
    __slots__ = ("type", "unit", "loinc", "aggregation", "min_value", "max_value", "description", "display_name", "input_units", "value2_meaning", "unit_conversions")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    LOINC_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_UNITS_FIELD_NUMBER: _ClassVar[int]
    VALUE2_MEANING_FIELD_NUMBER: _ClassVar[int]
    UNIT_CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    type: str
    unit: str
    loinc: str
    aggregation: Aggregation
    min_value: float
    max_value: float
    description: str
    display_name: str
    input_units: _containers.RepeatedScalarFieldContainer[str]
    value2_meaning: str
    unit_conversions: _containers.RepeatedCompositeFieldContainer[UnitConversion]
    def __init__(self, type: _Optional[str] = ..., unit: _Optional[str] = ..., loinc: _Optional[str] = ..., aggregation: _Optional[_Union[Aggregation, str]] = ..., min_value: _Optional[float] = ..., max_value: _Optional[float] = ..., description: _Optional[str] = ..., display_name: _Optional[str] = ..., input_units: _Optional[_Iterable[str]] = ..., value2_meaning: _Optional[str] = ..., unit_conversions: _Optional[_Iterable[_Union[UnitConversion, _Mapping]]] = ...) -> None: ...

class UnitConversion(_message.Message):
    __slots__ = ("unit", "factor", "offset")
    UNIT_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    unit: str
    factor: float
    offset: float
    def __init__(self, unit: _Optional[str] = ..., factor: _Optional[float] = ..., offset: _Optional[float] = ...) -> None: ...
