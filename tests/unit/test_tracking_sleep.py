"""Sleep's rules, figures, score and analysis, and its use cases against an in-memory repository."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.tracking.ports import Profile
from services.tracking.sleep import domain
from services.tracking.sleep.domain import SleepFields, SleepFilter, SleepSession, SleepStage, StagePeriod
from services.tracking.sleep.service import SleepService

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
BED = dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.UTC)
USER = uuid.uuid4()
H = dt.timedelta(hours=1)


class FakeProfiles:
    async def profile(self, user_id):
        return Profile(None, "", "Europe/Paris")


class FakeSleepRepository:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], SleepSession] = {}
        self.requests: dict[tuple[uuid.UUID, str], uuid.UUID] = {}

    async def create(self, session, request_id):
        key = (session.user_id, request_id)
        if request_id and key in self.requests:
            return self.rows[(session.user_id, self.requests[key])]
        self.rows[(session.user_id, session.id)] = session
        if request_id:
            self.requests[key] = session.id
        return session

    async def get(self, user_id, session_id):
        return self.rows.get((user_id, session_id))

    async def list(self, user_id, where, limit, after):
        items = [s for (u, _), s in self.rows.items() if u == user_id
                 and (not where.source or s.fields.source == where.source)
                 and (where.start_time is None or s.end_time >= where.start_time)
                 and (where.end_time is None or s.end_time < where.end_time)
                 and (after is None or (s.end_time, s.id) < after)]
        items.sort(key=lambda s: (s.end_time, s.id), reverse=True)
        return items[:limit]

    async def update(self, session, replace_stages):
        if (session.user_id, session.id) not in self.rows:
            return None
        self.rows[(session.user_id, session.id)] = session
        return session

    async def delete(self, user_id, session_id):
        return self.rows.pop((user_id, session_id), None) is not None

    async def asleep_by_night(self, user_id, first, last):
        nights: dict[dt.date, int] = {}
        for (u, _), s in self.rows.items():
            if u == user_id and first <= s.local_date <= last:
                nights[s.local_date] = nights.get(s.local_date, 0) + s.figures.asleep_seconds
        return nights


def stage(kind: SleepStage, start: dt.datetime, hours: float) -> StagePeriod:
    return StagePeriod(int(kind), start, start + dt.timedelta(hours=hours))


def night(start: dt.datetime = BED, hours: float = 8, **overrides) -> SleepFields:
    values = dict(start_time=start, end_time=start + dt.timedelta(hours=hours), utc_offset_minutes=60)
    values.update(overrides)
    return SleepFields(**values)


def session(fields: SleepFields) -> SleepSession:
    return SleepSession(uuid.uuid4(), USER, fields, NOW, NOW)


@pytest.fixture
def service():
    return SleepService(FakeSleepRepository(), FakeProfiles(), lambda: NOW)


def fields_of(err: pytest.ExceptionInfo) -> set[str]:
    return {v.field for v in err.value.violations}


def test_figures_from_stages():
    stages = (stage(SleepStage.AWAKE, BED, 0.5), stage(SleepStage.CORE, BED + 0.5 * H, 2),
              stage(SleepStage.LIGHT, BED + 2.5 * H, 1), stage(SleepStage.DEEP, BED + 3.5 * H, 1.5),
              stage(SleepStage.REM, BED + 5 * H, 2), stage(SleepStage.ASLEEP, BED + 7 * H, 0.5),
              stage(SleepStage.OUT_OF_BED, BED + 7.5 * H, 0.25))
    fig = domain.figures(night(stages=stages))
    assert fig == domain.Figures(time_in_bed_seconds=8 * 3600, asleep_seconds=7 * 3600, awake_seconds=1800,
                                 light_seconds=3 * 3600, deep_seconds=5400, rem_seconds=7200,
                                 unspecified_asleep_seconds=1800)
    assert fig.efficiency_percent == 87.5


def test_a_session_without_stages_is_asleep_throughout():
    fig = domain.figures(night(hours=7))
    assert fig.asleep_seconds == fig.unspecified_asleep_seconds == fig.time_in_bed_seconds == 7 * 3600
    assert fig.efficiency_percent == 100


def test_the_sources_own_totals_win_over_the_window_and_the_stages():
    # Health Auto Export before 6.6.2 (issue 17): asleep 21990 s and in bed 24515 s, the window 23760 s.
    f = night(hours=6.6, reported_asleep_seconds=21990, reported_time_in_bed_seconds=24515)
    fig = domain.figures(f)
    assert (fig.time_in_bed_seconds, fig.asleep_seconds, fig.unspecified_asleep_seconds) == (24515, 21990, 23760)
    assert fig.efficiency_percent == 89.7
    staged = (stage(SleepStage.CORE, BED, 5), stage(SleepStage.DEEP, BED + 5 * H, 1))
    only_bed = domain.figures(night(stages=staged, reported_time_in_bed_seconds=29322))
    assert (only_bed.time_in_bed_seconds, only_bed.asleep_seconds, only_bed.light_seconds) == (29322, 6 * 3600,
                                                                                             5 * 3600)
    more_asleep_than_in_bed = domain.figures(night(reported_asleep_seconds=9 * 3600))
    assert more_asleep_than_in_bed.efficiency_percent == 100


async def test_the_sources_totals_lie_within_a_day(service):
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, night(reported_asleep_seconds=-1, reported_time_in_bed_seconds=86401))
    assert fields_of(err) == {"sleep_session.reported_asleep_seconds", "sleep_session.reported_time_in_bed_seconds"}
    kept = await service.create(USER, night(reported_asleep_seconds=0, reported_time_in_bed_seconds=86400))
    assert (kept.figures.asleep_seconds, kept.figures.time_in_bed_seconds) == (0, 86400)


def test_score_is_the_sources_or_computed():
    assert session(night(score=42)).score == 42
    good = session(night(hours=8)).score
    short = session(night(hours=4)).score
    assert 0 <= short < good <= 100 and good == 100
    restless = (stage(SleepStage.LIGHT, BED, 7), stage(SleepStage.AWAKE, BED + 7 * H, 1))
    assert session(night(stages=restless)).score < good


def test_local_date_is_the_morning_after_at_the_sessions_offset():
    late = session(night(start=dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC), hours=8.5, utc_offset_minutes=60))
    assert late.local_date == dt.date(2026, 3, 2)  # ends 23:30 UTC = 00:30 local the next day


async def test_validation(service):
    bad_stages = (StagePeriod(0, BED, BED + H), stage(SleepStage.DEEP, BED - H, 1),
                  stage(SleepStage.REM, BED + 2 * H, 1), stage(SleepStage.LIGHT, BED + 2.5 * H, 1),
                  StagePeriod(42, BED + 4 * H, BED + 5 * H), StagePeriod(int(SleepStage.REM), BED + 6 * H, BED + 6 * H))
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, night(stages=bad_stages, score=101, notes="n" * 2001))
    assert fields_of(err) == {"sleep_session.stages[0].stage", "sleep_session.stages[1]",
                              "sleep_session.stages[3]", "sleep_session.stages[4].stage",
                              "sleep_session.stages[5].end_time", "sleep_session.score", "sleep_session.notes"}
    for fields in (night(hours=0), night(hours=25), night(hours=-1)):
        with pytest.raises(InvalidArgument) as err:
            await service.create(USER, fields)
        assert fields_of(err) == {"sleep_session.end_time"}
    with pytest.raises(InvalidArgument) as err:
        await service.create(USER, SleepFields())
    assert fields_of(err) == {"sleep_session.start_time", "sleep_session.end_time"}


async def test_create_fills_the_offset_at_end_time_and_is_idempotent(service):
    rid = str(uuid.uuid4())
    s = await service.create(USER, night(utc_offset_minutes=None), rid)
    assert s.fields.utc_offset_minutes == 60
    again = await service.create(USER, night(hours=3), rid)
    assert again.id == s.id and again.figures.time_in_bed_seconds == 8 * 3600


async def test_update_recomputes_and_checks_the_mask(service):
    s = await service.create(USER, night(notes="ok"))
    stages = (stage(SleepStage.DEEP, BED, 2), stage(SleepStage.AWAKE, BED + 2 * H, 6))
    u = await service.update(USER, s.id, SleepFields(stages=stages, notes="ignored"), ["stages"])
    assert u.figures.deep_seconds == 7200 and u.figures.awake_seconds == 6 * 3600 and u.fields.notes == "ok"
    for paths in ([], ["asleep_seconds"], ["local_date"], ["bogus"]):
        with pytest.raises(InvalidArgument) as err:
            await service.update(USER, s.id, SleepFields(), paths)
        assert fields_of(err) == {"update_mask"}
    with pytest.raises(InvalidArgument) as err:  # the stages no longer fit the shorter session
        await service.update(USER, s.id, SleepFields(end_time=BED + 4 * H), ["end_time"])
    assert fields_of(err) == {"sleep_session.stages[1]"}
    with pytest.raises(NotFound):
        await service.update(USER, uuid.uuid4(), SleepFields(notes="x"), ["notes"])


async def test_list_and_delete(service):
    made = [await service.create(USER, night(start=BED + dt.timedelta(days=i))) for i in range(3)]
    listed = await service.list(USER, SleepFilter(start_time=made[1].end_time), 10, None)
    assert [s.id for s in listed] == [made[2].id, made[1].id]
    with pytest.raises(InvalidArgument):
        await service.list(USER, SleepFilter(start_time=NOW, end_time=BED), 10, None)
    await service.delete(USER, made[0].id)
    with pytest.raises(NotFound):
        await service.get(USER, made[0].id)


def test_analysis_groups_nights_averages_and_debt():
    day = dt.timedelta(days=1)
    sessions = [
        # Night 1: 23:30 to 06:30 local (offset 0), 7 h asleep.
        session(night(start=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC), hours=7, utc_offset_minutes=0)),
        # Night 2: 00:30 to 06:00 local, 5.5 h, and a 30-minute nap the same day.
        session(night(start=dt.datetime(2026, 3, 3, 0, 30, tzinfo=dt.UTC), hours=5.5, utc_offset_minutes=0)),
        session(night(start=dt.datetime(2026, 3, 3, 14, 0, tzinfo=dt.UTC), hours=0.5, utc_offset_minutes=0)),
    ]
    a = domain.analyze(sessions, NOW - 30 * day, NOW, 7 * 3600)
    assert a.night_count == 2
    assert [n.local_date.isoformat() for n in a.nights] == ["2026-03-03", "2026-03-02"]
    assert [n.asleep_seconds for n in a.nights] == [6 * 3600, 7 * 3600]
    assert a.sleep_debt_seconds == 3600 and a.avg_asleep_seconds == 6.5 * 3600
    assert a.avg_bedtime == "00:00" and a.bedtime_stddev_minutes == 30  # averaged around midnight
    assert a.avg_wake_time == "06:15" and a.wake_time_stddev_minutes == 15
    assert a.consistency_score == round(100 * (1 - 22.5 / 120))
    assert a.avg_efficiency_percent == 100 and a.avg_score is not None


def test_analysis_of_no_nights():
    a = domain.analyze([], NOW - dt.timedelta(days=30), NOW, 25200)
    assert (a.night_count, a.avg_bedtime, a.consistency_score, a.avg_score, a.nights) == (0, "", 0, None, ())


async def test_analyze_window_rules(service):
    await service.create(USER, night())
    a = await service.analyze(USER, None, None, 0)
    assert a.end_time == NOW and a.start_time == NOW - dt.timedelta(days=30) and a.target_sleep_seconds == 25200
    assert a.night_count == 1
    for start, end, target, field in ((NOW, NOW, 0, "end_time"), (NOW - dt.timedelta(days=367), NOW, 0, "end_time"),
                                      (None, None, -1, "target_sleep_seconds"),
                                      (None, None, 86_401, "target_sleep_seconds")):
        with pytest.raises(InvalidArgument) as err:
            await service.analyze(USER, start, end, target)
        assert fields_of(err) == {field}


def test_merge_copies_only_named_paths():
    current = night(notes="a", source="Oura")
    merged = domain.merge(current, dataclasses.replace(current, notes="b", source="x"), ["notes"])
    assert (merged.notes, merged.source) == ("b", "Oura")


async def test_asleep_by_night_sums_sessions_per_local_date(service):
    await service.create(USER, night(hours=6))  # ends 2026-03-02 05:00 local
    await service.create(USER, night(start=BED + 15 * H, hours=1))  # a nap the same local date
    await service.create(USER, night(start=BED + 2 * 24 * H))  # ends 2026-03-04
    nights = await service.asleep_by_night(USER, dt.date(2026, 3, 2), dt.date(2026, 3, 3))
    assert nights == {dt.date(2026, 3, 2): 7 * 3600.0}
