"""Nutrition entries as dietary samples: what an entry records (energy, macros, water, caffeine)
is also stored as samples, so aggregates, goals and insights see food and drink whether it was
logged as an entry or imported as samples."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from services.common.errors import InvalidArgument
from services.tracking.nutrition.domain import DietarySample
from services.tracking.samples.columns import SampleInput
from services.tracking.samples.service import SampleService


class DietaryMirror:
    """The DietarySampleWriter the nutrition part writes through."""

    def __init__(self, samples: SampleService) -> None:
        self._samples = samples

    async def put_dietary(self, user_id: uuid.UUID, samples: Sequence[DietarySample]) -> None:
        result = await self._samples.write(user_id, [
            SampleInput(type=s.type, start_time=s.start_time, end_time=None, utc_offset_minutes=s.utc_offset_minutes,
                        value=s.value, min=None, max=None, value2=None, unit=s.unit, source=s.source)
            for s in samples])
        if result.errors:
            e = result.errors[0]
            raise InvalidArgument.field(f"nutrition_entry ({samples[e.index].type})", e.message, e.reason)

    async def delete_dietary(self, user_id: uuid.UUID, keys: Sequence[tuple[str, dt.datetime, str]]) -> None:
        await self._samples.delete_keys(user_id, list(keys))
