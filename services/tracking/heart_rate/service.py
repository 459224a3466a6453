"""Heart-rate zones over a window, from heart_rate samples read through SampleReader."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

from services.common.clock import Clock, utcnow
from services.common.errors import FailedPrecondition, Violations
from services.tracking.heart_rate import domain
from services.tracking.heart_rate.domain import Basis, ZoneReport
from services.tracking.ports import Profiles, SampleReader
from services.tracking.samples.domain import Interval, Sample

CHUNK = dt.timedelta(days=7)  # a week of minute-level data from a few sources fits one read
READ_LIMIT = 100_000
MIN_SPLIT = dt.timedelta(minutes=1)


class HeartRateService:
    def __init__(self, samples: SampleReader, profiles: Profiles, clock: Clock = utcnow) -> None:
        self._samples = samples
        self._profiles = profiles
        self._now = clock

    async def zones(self, user_id: uuid.UUID, start: dt.datetime | None, end: dt.datetime | None,
                    basis: int = 0, max_heart_rate: float | None = None) -> ZoneReport:
        v = Violations()
        start, end = domain.window(start, end, self._now(), v)
        domain.check_given_max(max_heart_rate, basis, v)
        v.raise_if_any()
        max_hr, basis, age = await self._max_heart_rate(user_id, Basis(basis), max_heart_rate, end)
        tally = domain.TimeInZone(max_hr, end)
        async for sample in self._heart_rate(user_id, start, end):
            tally.add(sample.start_time, sample.value)
        zones, below, total = tally.zones()
        return ZoneReport(max_hr, basis, age, await self._resting(user_id, end), start, end, tuple(zones), below,
                          total)

    async def _max_heart_rate(self, user_id: uuid.UUID, basis: Basis, given: float | None,
                              end: dt.datetime) -> tuple[float, Basis, int]:
        if basis == Basis.GIVEN or (basis == Basis.UNSPECIFIED and given is not None):
            assert given is not None
            return given, Basis.GIVEN, 0
        if basis in (Basis.AGE, Basis.UNSPECIFIED):
            birth_date = (await self._profiles.profile(user_id)).birth_date
            if birth_date is not None:
                age = domain.age_on(birth_date, end.date())
                return domain.tanaka(age), Basis.AGE, age
            if basis == Basis.AGE:
                raise FailedPrecondition("the basis AGE needs the user's birth date, which is not set",
                                         "BIRTH_DATE_MISSING")
        # MEASURED: the highest value or max of the past year; monthly buckets carry it cheaply.
        buckets = await self._samples.aggregate(user_id, "heart_rate", Interval.MONTH,
                                                end - domain.MEASURED_LOOKBACK, end)
        if not buckets:
            raise FailedPrecondition("the basis MEASURED needs a heart_rate sample in the past 365 days",
                                     "NO_HEART_RATE_SAMPLES")
        return max(b.max for b in buckets), Basis.MEASURED, 0

    async def _resting(self, user_id: uuid.UUID, end: dt.datetime) -> float | None:
        recent = await self._samples.samples(user_id, "resting_heart_rate", end - domain.MEASURED_LOOKBACK, end)
        return recent[-1].value if recent else None

    async def _heart_rate(self, user_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> AsyncIterator[Sample]:
        """heart_rate samples in [start, end), oldest first, read a week at a time so a year of
        minute-level data never sits in memory at once; a chunk that hits the read limit is split."""
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + CHUNK, end)
            for sample in await self._read(user_id, chunk_start, chunk_end):
                yield sample
            chunk_start = chunk_end

    async def _read(self, user_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> list[Sample]:
        found = await self._samples.samples(user_id, "heart_rate", start, end, READ_LIMIT)
        if len(found) < READ_LIMIT or end - start <= MIN_SPLIT:
            return found
        middle = start + (end - start) / 2
        return await self._read(user_id, start, middle) + await self._read(user_id, middle, end)
