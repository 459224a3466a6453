"""Heart-rate zones against in-memory SampleReader and Profiles: basis, bounds, time in zone."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument
from services.tracking.heart_rate import domain, service as hr_service
from services.tracking.heart_rate.domain import Basis
from services.tracking.heart_rate.service import HeartRateService
from services.tracking.ports import Profile
from services.tracking.samples.domain import Bucket, Interval, MealContext, Sample

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
T0 = NOW - dt.timedelta(hours=2)
USER = uuid.uuid4()
MIN = dt.timedelta(minutes=1)


def sample(type: str, at: dt.datetime, value: float, max: float | None = None, source: str = "") -> Sample:
    return Sample(uuid.uuid4(), USER, type, at, at, 0, value, None, max, None, "/min", value, "/min", source,
                  MealContext.UNSPECIFIED, at, at)


class FakeSamples:
    def __init__(self, items: list[Sample]) -> None:
        self.items = items
        self.reads: list[tuple[str, dt.datetime, dt.datetime]] = []

    async def samples(self, user_id, type, start, end, limit=100_000):
        self.reads.append((type, start, end))
        found = sorted((s for s in self.items if s.user_id == user_id and s.type == type
                        and start <= s.start_time < end), key=lambda s: s.start_time)
        return found[:limit]

    async def aggregate(self, user_id, type, interval, start, end, source=""):
        assert interval == Interval.MONTH
        found = [s for s in self.items if s.user_id == user_id and s.type == type and start <= s.start_time < end]
        if not found:
            return []
        values = [s.value for s in found]
        return [Bucket(start, start.date(), len(found), sum(values), min(values),
                       max(s.max if s.max is not None else s.value for s in found), sum(values) / len(values), ())]


class FakeProfiles:
    def __init__(self, birth_date: dt.date | None = None) -> None:
        self.birth_date = birth_date

    async def profile(self, user_id):
        return Profile(self.birth_date, "", "")


def make(items=(), birth_date=None) -> HeartRateService:
    return HeartRateService(FakeSamples(list(items)), FakeProfiles(birth_date), lambda: NOW)


def fields_of(err: pytest.ExceptionInfo) -> set[str]:
    return {v.field for v in err.value.violations}


def test_zone_bounds_follow_the_percentages():
    b = domain.bounds(200)
    assert [(z, lo, hi) for z, _, _, _, lo, hi in b] == [(1, 100, 120), (2, 120, 140), (3, 140, 160),
                                                          (4, 160, 180), (5, 180, 200)]
    assert [name for _, name, *_ in b] == ["Recovery", "Endurance", "Tempo", "Threshold", "Maximum"]


def test_tanaka_and_age():
    assert domain.age_on(dt.date(1990, 3, 11), dt.date(2026, 3, 10)) == 35
    assert domain.age_on(dt.date(1990, 3, 10), dt.date(2026, 3, 10)) == 36
    assert domain.tanaka(40) == 180


async def test_time_in_zone_counts_until_the_next_sample_at_most_ten_minutes():
    items = [
        sample("heart_rate", T0, 90),  # below zone 1 (100): 1 minute until the next
        sample("heart_rate", T0 + MIN, 110),  # zone 1: 1 minute
        sample("heart_rate", T0 + 2 * MIN, 150),  # zone 3: a 30-minute gap counts 10 minutes
        sample("heart_rate", T0 + 32 * MIN, 210, source="watch"),  # above max: zone 5, 1 minute
        sample("heart_rate", T0 + 32 * MIN, 205, source="phone"),  # same instant: counts once
        sample("heart_rate", T0 + 33 * MIN, 180),  # zone 5 (inclusive lower bound); last: 10 minutes
        sample("heart_rate", T0 - MIN, 150),  # before the window: ignored
    ]
    r = await make(items).zones(USER, T0, NOW, 0, 200.0)
    assert r.basis == Basis.GIVEN and r.max_heart_rate == 200 and r.age == 0
    assert [z.time_in_zone_seconds for z in r.zones] == [60, 0, 600, 0, 660]
    assert r.below_zones_seconds == 60 and r.total_seconds == 1380
    assert r.zones[4].percent_of_time == round(100 * 660 / 1380, 1)


async def test_the_last_sample_stops_at_the_window_end():
    r = await make([sample("heart_rate", NOW - 3 * MIN, 120)]).zones(USER, T0, NOW, Basis.GIVEN, 200.0)
    assert r.total_seconds == 180 and r.zones[1].time_in_zone_seconds == 180


async def test_age_basis_uses_tanaka_and_needs_a_birth_date():
    r = await make(birth_date=dt.date(1986, 1, 1)).zones(USER, None, None, Basis.AGE)
    assert (r.basis, r.age, r.max_heart_rate) == (Basis.AGE, 40, 180)
    assert r.end_time == NOW and r.start_time == NOW - dt.timedelta(days=7) and r.total_seconds == 0
    with pytest.raises(FailedPrecondition):
        await make().zones(USER, None, None, Basis.AGE)


async def test_default_basis_is_given_then_age_then_measured():
    items = [sample("heart_rate", NOW - dt.timedelta(days=100), 170, max=191),
             sample("heart_rate", NOW - dt.timedelta(days=400), 199)]  # older than a year: not counted
    assert (await make(items, dt.date(1986, 1, 1)).zones(USER, None, None, 0, 190.0)).basis == Basis.GIVEN
    assert (await make(items, dt.date(1986, 1, 1)).zones(USER, None, None)).basis == Basis.AGE
    measured = await make(items).zones(USER, None, None)
    assert (measured.basis, measured.max_heart_rate) == (Basis.MEASURED, 191)
    with pytest.raises(FailedPrecondition):
        await make().zones(USER, None, None, Basis.MEASURED)


async def test_resting_heart_rate_is_the_most_recent():
    items = [sample("resting_heart_rate", NOW - dt.timedelta(days=3), 58),
             sample("resting_heart_rate", NOW - dt.timedelta(days=1), 61)]
    r = await make(items).zones(USER, None, None, Basis.GIVEN, 190.0)
    assert r.resting_heart_rate == 61
    assert (await make().zones(USER, None, None, Basis.GIVEN, 190.0)).resting_heart_rate is None


async def test_invalid_requests():
    svc = make()
    cases = [((NOW, NOW, 0, 190.0), {"end_time"}),
             ((NOW - dt.timedelta(days=367), NOW, 0, 190.0), {"end_time"}),
             ((None, None, Basis.GIVEN, None), {"max_heart_rate"}),
             ((None, None, 0, 99.0), {"max_heart_rate"}),
             ((None, None, 0, 251.0), {"max_heart_rate"}),
             ((None, None, 9, 190.0), {"basis"})]
    for args, expected in cases:
        with pytest.raises(InvalidArgument) as err:
            await svc.zones(USER, *args)
        assert fields_of(err) == expected


async def test_long_windows_are_read_in_chunks_and_full_chunks_split(monkeypatch):
    monkeypatch.setattr(hr_service, "READ_LIMIT", 4)
    start = NOW - dt.timedelta(days=20)
    items = [sample("heart_rate", start + i * MIN, 150) for i in range(10)]  # 10 samples in the first chunk
    svc = make(items)
    r = await svc.zones(USER, start, NOW, Basis.GIVEN, 200.0)
    assert r.zones[2].time_in_zone_seconds == 9 * 60 + 600  # every sample was seen
    reads = [(s, e) for t, s, e in svc._samples.reads if t == "heart_rate"]
    assert reads[0] == (start, start + dt.timedelta(days=7)) and len(reads) > 3
