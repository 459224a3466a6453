from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    ACTIVITY: _ClassVar[Category]
    SLEEP: _ClassVar[Category]
    HEART: _ClassVar[Category]
    WEIGHT: _ClassVar[Category]
    NUTRITION: _ClassVar[Category]
    HYDRATION: _ClassVar[Category]
    VITALS: _ClassVar[Category]
CATEGORY_UNSPECIFIED: Category
ACTIVITY: Category
SLEEP: Category
HEART: Category
WEIGHT: Category
NUTRITION: Category
HYDRATION: Category
VITALS: Category
