"""Nutrition entries against in-memory fakes: validation, local days, idempotency, the dietary
sample mirror, and daily totals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.common.ids import uuid7
from services.tracking.nutrition.domain import DailyNutrition, EntryFields, EntryFilter, MealType
from services.tracking.nutrition.service import NutritionService
from services.tracking.ports import Profile
from services.tracking.samples.domain import Bucket, Interval

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
USER = uuid.UUID("0190a5c4-0000-7000-8000-000000000001")


class FakeRepo:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, tuple] = {}  # id -> (entry, request_id)

    async def add(self, entry, request_id):
        for e, rid in self.rows.values():
            if request_id and e.user_id == entry.user_id and rid == request_id:
                return e
        self.rows[entry.id] = (entry, request_id)
        return entry

    async def get(self, user_id, entry_id):
        hit = self.rows.get(entry_id)
        return hit[0] if hit and hit[0].user_id == user_id else None

    async def get_by_request_id(self, user_id, request_id):
        return next((e for e, rid in self.rows.values() if e.user_id == user_id and rid == request_id), None)

    async def list(self, user_id, where: EntryFilter, limit, after):
        out = [e for e, _ in self.rows.values() if e.user_id == user_id
               and (where.start_time is None or e.consume_time >= where.start_time)
               and (where.end_time is None or e.consume_time < where.end_time)
               and (not where.meal_type or e.meal_type == where.meal_type)
               and (after is None or (e.consume_time, e.id) < after)]
        return sorted(out, key=lambda e: (e.consume_time, e.id), reverse=True)[:limit]

    async def save(self, entry):
        if entry.id not in self.rows:
            return None
        self.rows[entry.id] = (entry, self.rows[entry.id][1])
        return entry

    async def delete(self, user_id, entry_id):
        e = await self.get(user_id, entry_id)
        if e is not None:
            del self.rows[entry_id]
        return e

    async def at_key(self, user_id, consume_time, source):
        return [e for e, _ in self.rows.values()
                if e.user_id == user_id and e.consume_time == consume_time and e.source == source]

    async def daily(self, user_id, start, end):
        days: dict[dt.date, DailyNutrition] = {}
        for e, _ in self.rows.values():
            if e.user_id == user_id and start <= e.local_date <= end:
                d = days.setdefault(e.local_date, DailyNutrition(e.local_date))
                d.entry_count += 1
                for f in ("calories_kcal", "protein_grams", "carbs_grams", "fat_grams", "fiber_grams",
                          "sugar_grams", "water_ml", "caffeine_mg"):
                    setattr(d, f, getattr(d, f) + (getattr(e, f) or 0.0))
        return sorted(days.values(), key=lambda d: d.local_date)


class FakeProfiles:
    def __init__(self, time_zone: str = "") -> None:
        self.time_zone = time_zone

    async def profile(self, user_id):
        return Profile(None, "", self.time_zone)


class FakeSamples:
    """Both sides of the samples seam: a DietarySampleWriter and a SampleReader (DAY only)."""

    def __init__(self) -> None:
        self.store: dict[tuple, tuple[float, int]] = {}  # (type, start, source) -> (value, offset)

    async def put_dietary(self, user_id, samples):
        for s in samples:
            self.store[(s.type, s.start_time, s.source)] = (s.value, s.utc_offset_minutes)

    async def delete_dietary(self, user_id, keys):
        for key in keys:
            self.store.pop(key, None)

    async def aggregate(self, user_id, type, interval, start, end, source=""):
        assert interval == Interval.DAY
        sums: dict[dt.date, float] = {}
        for (t, at, _), (value, offset) in self.store.items():
            if t == type and start <= at < end:
                day = (at + dt.timedelta(minutes=offset)).date()
                sums[day] = sums.get(day, 0.0) + value
        return [Bucket(dt.datetime.combine(d, dt.time(), UTC), d, 1, v, v, v, v, ("",))
                for d, v in sorted(sums.items())]

    async def samples(self, *args, **kwargs):
        return []


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def repo():
    return FakeRepo()


@pytest.fixture
def profiles():
    return FakeProfiles("Europe/Paris")


@pytest.fixture
def svc(repo, profiles):
    return NutritionService(repo, profiles, clock=lambda: NOW)


def violations(err: pytest.ExceptionInfo) -> set[str]:
    return {v.field for v in err.value.violations}


async def test_create_reports_every_bad_field(svc):
    with pytest.raises(InvalidArgument) as err:
        await svc.create(USER, EntryFields(meal_type=9, calories_kcal=-5, water_ml=50_000, utc_offset_minutes=2000,
                                           food_name="x" * 201), request_id="not-a-uuid")
    assert violations(err) == {
        "nutrition_entry.meal_type", "nutrition_entry.consume_time", "nutrition_entry.calories_kcal",
        "nutrition_entry.water_ml", "nutrition_entry.utc_offset_minutes", "nutrition_entry.food_name", "request_id"}


async def test_an_entry_needs_an_amount_and_a_plausible_time(svc):
    with pytest.raises(InvalidArgument) as err:
        await svc.create(USER, EntryFields(consume_time=NOW + dt.timedelta(days=2), food_name="Tea"), "")
    assert violations(err) == {"nutrition_entry", "nutrition_entry.consume_time"}
    with pytest.raises(InvalidArgument):
        await svc.create(USER, EntryFields(consume_time=NOW, calories_kcal=float("nan")), "")


async def test_offset_comes_from_the_profile_zone_when_absent(svc, profiles):
    winter = await svc.create(USER, EntryFields(consume_time=at("2026-01-15T23:30:00+00:00"), calories_kcal=100), "")
    assert winter.utc_offset_minutes == 60 and winter.local_date == dt.date(2026, 1, 16)
    summer = await svc.create(USER, EntryFields(consume_time=at("2025-07-15T22:30:00+00:00"), calories_kcal=100), "")
    assert summer.utc_offset_minutes == 120 and summer.local_date == dt.date(2025, 7, 16)
    profiles.time_zone = ""
    plain = await svc.create(USER, EntryFields(consume_time=at("2026-01-15T23:30:00+00:00"), calories_kcal=1), "")
    assert plain.utc_offset_minutes == 0 and plain.local_date == dt.date(2026, 1, 15)


async def test_an_entry_keeps_its_own_offset(svc):
    # Eaten in New York at 21:00 local: the 9th there, though the 10th in UTC and in Paris.
    e = await svc.create(USER, EntryFields(consume_time=at("2026-03-09T21:00:00-05:00"), utc_offset_minutes=-300,
                                           calories_kcal=500, meal_type=MealType.DINNER), "")
    assert e.local_date == dt.date(2026, 3, 9) and e.meal_type == MealType.DINNER


async def test_create_is_idempotent_by_request_id(svc, repo):
    rid = str(uuid.uuid4())
    first = await svc.create(USER, EntryFields(consume_time=NOW, water_ml=250), rid)
    again = await svc.create(USER, EntryFields(consume_time=NOW, water_ml=999), rid)
    assert again == first and len(repo.rows) == 1


async def test_list_rejects_an_inverted_range_and_pages_newest_first(svc):
    with pytest.raises(InvalidArgument) as err:
        await svc.list(USER, EntryFilter(start_time=NOW, end_time=NOW - dt.timedelta(hours=1)), 10, None)
    assert violations(err) == {"end_time"}
    for h in range(3):
        await svc.create(USER, EntryFields(consume_time=NOW - dt.timedelta(hours=h), calories_kcal=h + 1), "")
    page = await svc.list(USER, EntryFilter(), 2, None)
    assert [e.calories_kcal for e in page] == [1, 2]
    rest = await svc.list(USER, EntryFilter(), 2, (page[-1].consume_time, page[-1].id))
    assert [e.calories_kcal for e in rest] == [3]


async def test_update_checks_the_mask_and_keeps_an_amount(svc):
    e = await svc.create(USER, EntryFields(consume_time=NOW, calories_kcal=300, food_name="Soup"), "")
    with pytest.raises(InvalidArgument) as err:
        await svc.update(USER, e.id, [], EntryFields())
    assert violations(err) == {"update_mask"}
    with pytest.raises(InvalidArgument) as err:
        await svc.update(USER, e.id, ["local_date", "bogus"], EntryFields())
    assert len(err.value.violations) == 2
    with pytest.raises(InvalidArgument) as err:
        await svc.update(USER, e.id, ["calories_kcal"], EntryFields(calories_kcal=-1))
    assert violations(err) == {"nutrition_entry.calories_kcal"}
    with pytest.raises(InvalidArgument):
        await svc.update(USER, e.id, ["calories_kcal"], EntryFields())  # clearing the only amount
    with pytest.raises(NotFound):
        await svc.update(USER, uuid7(), ["food_name"], EntryFields(food_name="x"))
    updated = await svc.update(USER, e.id, ["calories_kcal", "protein_grams", "food_name"],
                               EntryFields(protein_grams=12, food_name=" Lentil soup "))
    assert (updated.calories_kcal, updated.protein_grams, updated.food_name) == (None, 12, "Lentil soup")
    assert updated.consume_time == e.consume_time and updated.create_time == e.create_time


async def test_clearing_the_offset_falls_back_to_the_zone(svc):
    e = await svc.create(USER, EntryFields(consume_time=NOW, utc_offset_minutes=-300, calories_kcal=1), "")
    cleared = await svc.update(USER, e.id, ["utc_offset_minutes"], EntryFields())
    assert cleared.utc_offset_minutes == 60  # Paris in March, before the change to summer time


async def test_delete_then_not_found(svc):
    e = await svc.create(USER, EntryFields(consume_time=NOW, calories_kcal=1), "")
    await svc.delete(USER, e.id)
    with pytest.raises(NotFound):
        await svc.get(USER, e.id)
    with pytest.raises(NotFound):
        await svc.delete(USER, e.id)


async def test_summary_covers_every_local_date_with_totals(svc):
    # 2026-03-10 12:00 UTC is the 10th in Paris; the default range is the 4th to the 10th.
    await svc.create(USER, EntryFields(consume_time=at("2026-03-09T23:30:00+00:00"), calories_kcal=200,
                                       water_ml=300), "")  # 00:30 on the 10th in Paris
    await svc.create(USER, EntryFields(consume_time=at("2026-03-10T08:00:00+00:00"), calories_kcal=400,
                                       protein_grams=20), "")
    await svc.create(USER, EntryFields(consume_time=at("2026-03-05T12:00:00+00:00"), caffeine_mg=80), "")
    days = await svc.summarize(USER, "", "")
    assert [d.local_date for d in days] == [dt.date(2026, 3, 4) + dt.timedelta(days=i) for i in range(7)]
    by_date = {d.local_date: d for d in days}
    tenth = by_date[dt.date(2026, 3, 10)]
    assert (tenth.entry_count, tenth.calories_kcal, tenth.protein_grams, tenth.water_ml) == (2, 600, 20, 300)
    assert by_date[dt.date(2026, 3, 9)].entry_count == 0 and by_date[dt.date(2026, 3, 9)].calories_kcal == 0
    assert by_date[dt.date(2026, 3, 5)].caffeine_mg == 80


async def test_summary_range_rules(svc):
    days = await svc.summarize(USER, "2026-02-27", "2026-03-01")
    assert [d.local_date.isoformat() for d in days] == ["2026-02-27", "2026-02-28", "2026-03-01"]
    for start, end, field in (("2026-3-1", "", "start_date"), ("", "2026-02-30", "end_date"),
                              ("2026-03-02", "2026-03-01", "end_date"), ("2025-01-01", "2026-01-02", "end_date")):
        with pytest.raises(InvalidArgument) as err:
            await svc.summarize(USER, start, end)
        assert violations(err) == {field}
    assert len(await svc.summarize(USER, "2025-01-01", "2026-01-01")) == 366


async def test_entries_are_mirrored_as_dietary_samples(repo, profiles):
    samples = FakeSamples()
    svc = NutritionService(repo, profiles, clock=lambda: NOW, samples=samples, dietary=samples)
    t = at("2026-03-10T08:00:00+00:00")
    a = await svc.create(USER, EntryFields(consume_time=t, calories_kcal=300, water_ml=200, source="App"), "")
    await svc.create(USER, EntryFields(consume_time=t, calories_kcal=100, source="App"), "")
    # Two entries at one natural key: the samples hold their total.
    assert samples.store[("dietary_energy", t, "App")][0] == 400
    assert samples.store[("water", t, "App")][0] == 200
    moved = await svc.update(USER, a.id, ["consume_time"], EntryFields(consume_time=t + dt.timedelta(hours=1)))
    assert samples.store[("dietary_energy", t, "App")][0] == 100
    assert ("water", t, "App") not in samples.store
    assert samples.store[("water", moved.consume_time, "App")][0] == 200
    # Imported dietary data counts in the totals too; entry_count still counts entries.
    samples.store[("dietary_energy", at("2026-03-10T18:00:00+00:00"), "Apple Health")] = (700, 60)
    tenth = (await svc.summarize(USER, "2026-03-10", "2026-03-10"))[0]
    assert (tenth.entry_count, tenth.calories_kcal, tenth.water_ml) == (2, 1100, 200)
    await svc.delete(USER, a.id)
    assert ("water", moved.consume_time, "App") not in samples.store


def test_samples_and_dietary_go_together(repo, profiles):
    with pytest.raises(ValueError):
        NutritionService(repo, profiles, samples=FakeSamples())


def test_entries_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        EntryFields().food_name = "x"  # type: ignore[misc]
