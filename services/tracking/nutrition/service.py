"""Nutrition's use cases: entry CRUD, the dietary samples mirrored from entries, daily totals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Protocol

from services.common import checks
from services.common.clock import Clock, today_in, utcnow
from services.common.errors import InvalidArgument, NotFound, Violations, shown
from services.common.ids import uuid7
from services.tracking import local_time
from services.tracking.nutrition import domain
from services.tracking.nutrition.domain import (
    AMOUNTS, DailyNutrition, DietarySample, EntryFields, EntryFilter, NutritionEntry,
)
from services.tracking.nutrition.repository import Cursor, NutritionRepository
from services.tracking.ports import Profiles, SampleReader
from services.tracking.samples.domain import Interval

SampleKey = tuple[str, dt.datetime, str]  # a sample's natural key without the user: (type, start_time, source)

# Local dates reach at most 18 hours either side of UTC, so this much around a date range holds
# every sample of its local dates.
_OFFSET_REACH = dt.timedelta(hours=18)


class DietarySampleWriter(Protocol):
    """Where an entry's amounts become dietary samples (the samples part of Tracking)."""

    async def put_dietary(self, user_id: uuid.UUID, samples: Sequence[DietarySample]) -> None:
        """Stores each sample by its natural key, replacing the value there."""
        ...

    async def delete_dietary(self, user_id: uuid.UUID, keys: Sequence[SampleKey]) -> None:
        """Deletes the samples at these natural keys, if any."""
        ...


def _name(user_id: uuid.UUID, entry_id: uuid.UUID) -> str:
    return f"users/{user_id}/nutritionEntries/{entry_id}"


class NutritionService:
    """With a DietarySampleWriter, entries are mirrored into dietary samples and daily totals come
    from the samples' aggregates (which then hold the entries and imported dietary data alike);
    without one, totals come from the entries alone."""

    def __init__(self, repo: NutritionRepository, profiles: Profiles, clock: Clock = utcnow,
                 samples: SampleReader | None = None, dietary: DietarySampleWriter | None = None) -> None:
        if (samples is None) != (dietary is None):
            raise ValueError("samples and dietary go together: totals read what the mirror writes")
        self._repo = repo
        self._profiles = profiles
        self._now = clock
        self._samples = samples
        self._dietary = dietary

    async def get(self, user_id: uuid.UUID, entry_id: uuid.UUID) -> NutritionEntry:
        entry = await self._repo.get(user_id, entry_id)
        if entry is None:
            raise NotFound(f"{_name(user_id, entry_id)} does not exist")
        return entry

    async def list(self, user_id: uuid.UUID, where: EntryFilter, limit: int,
                   after: Cursor | None) -> list[NutritionEntry]:
        if where.start_time and where.end_time and where.end_time < where.start_time:
            raise InvalidArgument.field("end_time", "must not be before start_time")
        return await self._repo.list(user_id, where, limit, after)

    async def create(self, user_id: uuid.UUID, fields: EntryFields, request_id: str) -> NutritionEntry:
        now = self._now()
        v = Violations()
        domain.validate_fields(fields, now, v)
        if not domain.has_amount(fields):
            v.add("nutrition_entry", "must have at least one amount (calories, a nutrient, water or caffeine)")
        checks.request_id(request_id, v)
        v.raise_if_any()
        if request_id:
            existing = await self._repo.get_by_request_id(user_id, request_id)
            if existing is not None:
                return existing
        assert fields.consume_time is not None
        offset = fields.utc_offset_minutes
        if offset is None:
            offset = await self._zone_offset(user_id, fields.consume_time)
        entry = NutritionEntry(
            id=uuid7(), user_id=user_id, meal_type=domain.MealType(fields.meal_type),
            consume_time=fields.consume_time, utc_offset_minutes=offset, food_name=fields.food_name.strip(),
            notes=fields.notes, source=fields.source,
            **{name: getattr(fields, name) for name in domain.AMOUNT_FIELDS},
            create_time=now, update_time=now,
        )
        stored = await self._repo.add(entry, request_id or None)
        if stored.id == entry.id:
            await self._mirror(user_id, [(stored.consume_time, stored.source)])
        return stored

    async def update(self, user_id: uuid.UUID, entry_id: uuid.UUID, paths: Sequence[str],
                     fields: EntryFields) -> NutritionEntry:
        now = self._now()
        v = Violations()
        if not paths:
            v.add("update_mask", "must name at least one field")
        for path in paths:
            if path in domain.OUTPUT_ONLY_FIELDS:
                v.add("update_mask", f"{shown(path)} is output-only or the name and cannot be updated")
            elif path not in domain.UPDATABLE_FIELDS:
                v.add("update_mask", f"{shown(path)} is not a field of NutritionEntry")
        v.raise_if_any()
        domain.validate_fields(fields, now, v, only=frozenset(paths))
        v.raise_if_any()
        old = await self.get(user_id, entry_id)
        changes = {p: getattr(fields, p) for p in paths}
        if "meal_type" in changes:
            changes["meal_type"] = domain.MealType(fields.meal_type)
        if "food_name" in changes:
            changes["food_name"] = fields.food_name.strip()
        new = dataclasses.replace(old, **changes, update_time=now)
        if "utc_offset_minutes" in changes and fields.utc_offset_minutes is None:
            # Cleared: fall back to the user's zone at the (possibly new) consume_time.
            new = dataclasses.replace(new, utc_offset_minutes=await self._zone_offset(user_id, new.consume_time))
        if not domain.has_amount(new):
            raise InvalidArgument.field("nutrition_entry", "must keep at least one amount")
        saved = await self._repo.save(new)
        if saved is None:
            raise NotFound(f"{_name(user_id, entry_id)} does not exist")
        await self._mirror(user_id, [(old.consume_time, old.source), (saved.consume_time, saved.source)])
        return saved

    async def delete(self, user_id: uuid.UUID, entry_id: uuid.UUID) -> None:
        gone = await self._repo.delete(user_id, entry_id)
        if gone is None:
            raise NotFound(f"{_name(user_id, entry_id)} does not exist")
        await self._mirror(user_id, [(gone.consume_time, gone.source)])

    async def summarize(self, user_id: uuid.UUID, start_date: str, end_date: str) -> list[DailyNutrition]:
        """Every local date of the range, oldest first, zeros where there is nothing."""
        now = self._now()
        profile = await self._profiles.profile(user_id)
        start, end = domain.summary_range(start_date, end_date, today_in(profile.time_zone, now))
        days = {start + dt.timedelta(days=i): DailyNutrition(start + dt.timedelta(days=i))
                for i in range((end - start).days + 1)}
        for total in await self._repo.daily(user_id, start, end):
            if self._samples is None:
                days[total.local_date] = total
            else:
                days[total.local_date].entry_count = total.entry_count
        if self._samples is not None:
            await self._add_sample_totals(user_id, start, end, days)
        return list(days.values())

    async def _add_sample_totals(self, user_id: uuid.UUID, start: dt.date, end: dt.date,
                                 days: dict[dt.date, DailyNutrition]) -> None:
        assert self._samples is not None
        window_start = dt.datetime.combine(start, dt.time(), dt.UTC) - _OFFSET_REACH
        window_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC) + _OFFSET_REACH
        for a in AMOUNTS:
            for bucket in await self._samples.aggregate(user_id, a.sample_type, Interval.DAY, window_start, window_end):
                day = days.get(bucket.local_date)
                if day is not None:  # the window's edges hold parts of dates outside the range
                    setattr(day, a.field, bucket.sum)

    async def _zone_offset(self, user_id: uuid.UUID, instant: dt.datetime) -> int:
        profile = await self._profiles.profile(user_id)
        return local_time.offset_minutes(profile.time_zone, instant)

    async def _mirror(self, user_id: uuid.UUID, keys: list[tuple[dt.datetime, str]]) -> None:
        """Rewrites the dietary samples at each (consume_time, source) from the entries there now."""
        if self._dietary is None:
            return
        for consume_time, source in dict.fromkeys(keys):
            entries = await self._repo.at_key(user_id, consume_time, source)
            samples = domain.dietary_samples(entries, consume_time, source)
            present = {s.type for s in samples}
            stale = [(a.sample_type, consume_time, source) for a in AMOUNTS if a.sample_type not in present]
            if samples:
                await self._dietary.put_dietary(user_id, samples)
            if stale:
                await self._dietary.delete_dietary(user_id, stale)
