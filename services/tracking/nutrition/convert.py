"""Nutrition: protobuf <-> domain, nothing else."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from healthmesh.tracking.v1 import nutrition_entry_pb2, tracking_service_pb2

from services.common.convert import timestamp
from services.common.errors import InvalidArgument
from services.tracking.nutrition.domain import (
    AMOUNT_FIELDS, DailyNutrition, EntryFields, EntryFilter, MealType, NutritionEntry,
)


def instant(ts: timestamp_pb2.Timestamp, field: str) -> dt.datetime:
    """A Timestamp as an aware UTC datetime; one Python cannot hold is a bad argument, not a crash."""
    try:
        return ts.ToDatetime(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument.field(field, "is not a valid timestamp") from None


def entry_fields(e: nutrition_entry_pb2.NutritionEntry, prefix: str = "nutrition_entry") -> EntryFields:
    return EntryFields(
        meal_type=e.meal_type,
        consume_time=instant(e.consume_time, f"{prefix}.consume_time") if e.HasField("consume_time") else None,
        utc_offset_minutes=e.utc_offset_minutes if e.HasField("utc_offset_minutes") else None,
        food_name=e.food_name, notes=e.notes, source=e.source,
        **{name: getattr(e, name) if e.HasField(name) else None for name in AMOUNT_FIELDS},
    )


def entry_filter(r: tracking_service_pb2.ListNutritionEntriesRequest) -> EntryFilter:
    if r.meal_type not in MealType._value2member_map_:
        raise InvalidArgument.field("meal_type", "is not a known meal type")
    return EntryFilter(
        start_time=instant(r.start_time, "start_time") if r.HasField("start_time") else None,
        end_time=instant(r.end_time, "end_time") if r.HasField("end_time") else None,
        meal_type=MealType(r.meal_type),
    )


def entry(n: NutritionEntry) -> nutrition_entry_pb2.NutritionEntry:
    return nutrition_entry_pb2.NutritionEntry(
        name=f"users/{n.user_id}/nutritionEntries/{n.id}", meal_type=int(n.meal_type),
        consume_time=timestamp(n.consume_time), utc_offset_minutes=n.utc_offset_minutes,
        food_name=n.food_name, notes=n.notes, source=n.source, local_date=n.local_date.isoformat(),
        **{name: getattr(n, name) for name in AMOUNT_FIELDS if getattr(n, name) is not None},
        create_time=timestamp(n.create_time), update_time=timestamp(n.update_time),
    )


def daily(d: DailyNutrition) -> tracking_service_pb2.DailyNutrition:
    return tracking_service_pb2.DailyNutrition(
        local_date=d.local_date.isoformat(), entry_count=d.entry_count,
        **{name: getattr(d, name) for name in AMOUNT_FIELDS},
    )
