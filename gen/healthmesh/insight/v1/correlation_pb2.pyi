from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Correlation(_message.Message):
    __slots__ = ("first_type", "second_type", "coefficient", "lag_days", "sample_count", "p_value", "description")
    FIRST_TYPE_FIELD_NUMBER: _ClassVar[int]
    SECOND_TYPE_FIELD_NUMBER: _ClassVar[int]
    COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    LAG_DAYS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    first_type: str
    second_type: str
    coefficient: float
    lag_days: int
    sample_count: int
    p_value: float
    description: str
    def __init__(self, first_type: _Optional[str] = ..., second_type: _Optional[str] = ..., coefficient: _Optional[float] = ..., lag_days: _Optional[int] = ..., sample_count: _Optional[int] = ..., p_value: _Optional[float] = ..., description: _Optional[str] = ...) -> None: ...
