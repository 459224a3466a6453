"""Sleep sessions: stages, derived figures, score, and the analysis of a window of nights.
No grpc, protobuf or SQL here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import math
import uuid
from dataclasses import dataclass

from services.common import checks
from services.common.errors import Violations

MAX_SESSION = dt.timedelta(hours=24)
MAX_STAGES = 5_000
MAX_NOTES = 2_000
MAX_SOURCE = 200
MAX_OFFSET_MINUTES = 1080
MIN_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
FUTURE_SLACK = dt.timedelta(days=1)
DEFAULT_TARGET_SECONDS = 7 * 3600
MAX_ANALYSIS_WINDOW = dt.timedelta(days=366)
DEFAULT_ANALYSIS_WINDOW = dt.timedelta(days=30)
# Bed and wake times varying by this much (standard deviation) or more score 0 for consistency.
CONSISTENCY_ZERO_MINUTES = 120.0


class SleepStage(enum.IntEnum):
    UNSPECIFIED = 0
    AWAKE = 1
    IN_BED = 2
    OUT_OF_BED = 3
    ASLEEP = 4
    CORE = 5
    LIGHT = 6
    DEEP = 7
    REM = 8


ASLEEP_STAGES = frozenset({SleepStage.ASLEEP, SleepStage.CORE, SleepStage.LIGHT, SleepStage.DEEP, SleepStage.REM})


@dataclass(frozen=True)
class StagePeriod:
    stage: int  # a SleepStage; kept as int so an unknown value can be reported, not crash
    start_time: dt.datetime
    end_time: dt.datetime

    @property
    def seconds(self) -> int:
        return int((self.end_time - self.start_time).total_seconds())


@dataclass(frozen=True)
class SleepFields:
    """What a client sets; everything else about a session is derived from it."""

    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    utc_offset_minutes: int | None = None
    stages: tuple[StagePeriod, ...] = ()
    score: int | None = None  # the source's own; computed when None
    notes: str = ""
    source: str = ""
    # The source's own totals (Health Auto Export's inBed and totalSleep): they win over what the
    # window and the stages add up to; None when it reported none.
    reported_time_in_bed_seconds: int | None = None
    reported_asleep_seconds: int | None = None


UPDATABLE_PATHS = frozenset(f.name for f in dataclasses.fields(SleepFields))
OUTPUT_ONLY_PATHS = frozenset({
    "name", "local_date", "time_in_bed_seconds", "asleep_seconds", "awake_seconds", "light_seconds",
    "deep_seconds", "rem_seconds", "unspecified_asleep_seconds", "efficiency_percent", "create_time",
    "update_time",
})


@dataclass(frozen=True)
class Figures:
    time_in_bed_seconds: int
    asleep_seconds: int
    awake_seconds: int
    light_seconds: int
    deep_seconds: int
    rem_seconds: int
    unspecified_asleep_seconds: int

    @property
    def efficiency_percent(self) -> float:
        if not self.time_in_bed_seconds:
            return 0.0
        return min(100.0, round(100.0 * self.asleep_seconds / self.time_in_bed_seconds, 1))


def figures(f: SleepFields) -> Figures:
    assert f.start_time is not None and f.end_time is not None
    in_bed = int((f.end_time - f.start_time).total_seconds())
    if not f.stages:  # a session without stages is ASLEEP from start to end
        derived = Figures(in_bed, in_bed, 0, 0, 0, 0, in_bed)
    else:
        per: dict[int, int] = {}
        for s in f.stages:
            per[s.stage] = per.get(s.stage, 0) + s.seconds
        derived = Figures(
            time_in_bed_seconds=in_bed,
            asleep_seconds=sum(per.get(s, 0) for s in ASLEEP_STAGES),
            awake_seconds=per.get(SleepStage.AWAKE, 0),
            light_seconds=per.get(SleepStage.LIGHT, 0) + per.get(SleepStage.CORE, 0),
            deep_seconds=per.get(SleepStage.DEEP, 0),
            rem_seconds=per.get(SleepStage.REM, 0),
            unspecified_asleep_seconds=per.get(SleepStage.ASLEEP, 0),
        )
    # The source's own totals win where it reported them; the window stays start and end.
    reported = {"time_in_bed_seconds": f.reported_time_in_bed_seconds, "asleep_seconds": f.reported_asleep_seconds}
    return dataclasses.replace(derived, **{k: v for k, v in reported.items() if v is not None})


def computed_score(fig: Figures) -> int:
    """A 0-100 score for a session whose source sent none.

    Duration (7-9 h asleep is best), efficiency (85% or more is best) and, when the stages are
    known, deep + REM sleep (40% of sleep or more is best). Weights 50/30/20, or 60/40 without stages.
    """
    hours = fig.asleep_seconds / 3600
    if hours < 7:
        duration = hours / 7
    elif hours <= 9:
        duration = 1.0
    else:
        duration = max(0.5, 1 - (hours - 9) * 0.1)
    efficiency = min(1.0, fig.efficiency_percent / 85)
    staged = fig.asleep_seconds - fig.unspecified_asleep_seconds
    if staged > 0:
        restorative = min(1.0, (fig.deep_seconds + fig.rem_seconds) / staged / 0.4)
        score = 50 * duration + 30 * efficiency + 20 * restorative
    else:
        score = 60 * duration + 40 * efficiency
    return max(0, min(100, round(score)))


@dataclass(frozen=True)
class SleepSession:
    id: uuid.UUID
    user_id: uuid.UUID
    fields: SleepFields
    create_time: dt.datetime
    update_time: dt.datetime

    @property
    def start_time(self) -> dt.datetime:
        assert self.fields.start_time is not None
        return self.fields.start_time

    @property
    def end_time(self) -> dt.datetime:
        assert self.fields.end_time is not None
        return self.fields.end_time

    @property
    def offset(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.fields.utc_offset_minutes or 0)

    @property
    def local_date(self) -> dt.date:
        """The local date the session ends on (the morning after)."""
        return (self.end_time + self.offset).date()

    @functools.cached_property
    def figures(self) -> Figures:
        return figures(self.fields)

    @property
    def score(self) -> int:
        return self.fields.score if self.fields.score is not None else computed_score(self.figures)


@dataclass(frozen=True)
class SleepFilter:
    start_time: dt.datetime | None = None  # sessions ending at or after
    end_time: dt.datetime | None = None  # sessions ending before
    source: str = ""


def check_paths(paths: list[str], v: Violations) -> None:
    checks.update_mask(paths, UPDATABLE_PATHS, OUTPUT_ONLY_PATHS, "SleepSession", v)


def merge(current: SleepFields, patch: SleepFields, paths: list[str]) -> SleepFields:
    return dataclasses.replace(current, **{p: getattr(patch, p) for p in paths})


def merge_import(stored: SleepFields, incoming: SleepFields) -> SleepFields:
    """The same night sent again (the same request id): each field it gives replaces the stored
    one, each it lacks (None, "" or no stages) is kept. Equal to `stored` when it brings nothing
    new (a DUPLICATE)."""
    return SleepFields(**{f.name: new if (new := getattr(incoming, f.name)) not in (None, "", ()) else
                          getattr(stored, f.name) for f in dataclasses.fields(SleepFields)})


def validate(f: SleepFields, now: dt.datetime, v: Violations, prefix: str = "sleep_session") -> SleepFields:
    """Checks a session as a whole and returns it with its stages sorted oldest first."""
    p = prefix + "."
    if f.start_time is None:
        v.add(p + "start_time", "is required")
    elif f.start_time < MIN_TIME:
        v.add(p + "start_time", "must not be before 1900-01-01")
    if f.end_time is None:
        v.add(p + "end_time", "is required")
    elif f.end_time > now + FUTURE_SLACK:
        v.add(p + "end_time", "must not be more than one day from now")
    elif f.start_time is not None:
        if f.end_time <= f.start_time:
            v.add(p + "end_time", "must be after start_time")
        elif f.end_time - f.start_time > MAX_SESSION:
            v.add(p + "end_time", "must be at most 24 hours after start_time")
    if f.utc_offset_minutes is not None and abs(f.utc_offset_minutes) > MAX_OFFSET_MINUTES:
        v.add(p + "utc_offset_minutes", "must lie between -1080 and 1080")
    if f.score is not None and not 0 <= f.score <= 100:
        v.add(p + "score", "must lie between 0 and 100")
    for name in ("reported_time_in_bed_seconds", "reported_asleep_seconds"):
        total = getattr(f, name)
        if total is not None and not 0 <= total <= MAX_SESSION.total_seconds():
            v.add(p + name, "must lie between 0 and 86400")
    if len(f.notes) > MAX_NOTES:
        v.add(p + "notes", f"must have at most {MAX_NOTES} characters")
    if len(f.source) > MAX_SOURCE:
        v.add(p + "source", f"must have at most {MAX_SOURCE} characters")
    _check_stages(f, v, p + "stages")
    return dataclasses.replace(f, stages=tuple(sorted(f.stages, key=lambda s: (s.start_time, s.end_time))))


def _check_stages(f: SleepFields, v: Violations, field: str) -> None:
    if len(f.stages) > MAX_STAGES:
        v.add(field, f"must have at most {MAX_STAGES} periods, got {len(f.stages)}")
        return
    for i, s in enumerate(f.stages):
        if s.stage == SleepStage.UNSPECIFIED:
            v.add(f"{field}[{i}].stage", "is required")
        elif s.stage not in SleepStage._value2member_map_:
            v.add(f"{field}[{i}].stage", "is not a known SleepStage")
        if s.end_time <= s.start_time:
            v.add(f"{field}[{i}].end_time", "must be after start_time")
        elif f.start_time and f.end_time and not (f.start_time <= s.start_time and s.end_time <= f.end_time):
            v.add(f"{field}[{i}]", "must lie within the session's start_time and end_time")
    # Overlaps, reported on the later of two periods by its index as sent.
    order = sorted(range(len(f.stages)), key=lambda i: (f.stages[i].start_time, f.stages[i].end_time))
    latest_end, reported = None, 0
    for i in order:
        s = f.stages[i]
        if latest_end is not None and s.start_time < latest_end and reported < 10:
            v.add(f"{field}[{i}]", "overlaps another stage period")
            reported += 1
        latest_end = s.end_time if latest_end is None else max(latest_end, s.end_time)


# Analysis of a window.

@dataclass(frozen=True)
class Night:
    local_date: dt.date
    asleep_seconds: int
    time_in_bed_seconds: int
    debt_seconds: int


@dataclass(frozen=True)
class Analysis:
    start_time: dt.datetime
    end_time: dt.datetime
    night_count: int
    target_sleep_seconds: int
    avg_asleep_seconds: int
    avg_time_in_bed_seconds: int
    avg_awake_seconds: int
    avg_light_seconds: int
    avg_deep_seconds: int
    avg_rem_seconds: int
    avg_efficiency_percent: float
    avg_score: float | None
    avg_bedtime: str  # HH:MM, "" without nights
    avg_wake_time: str
    bedtime_stddev_minutes: float
    wake_time_stddev_minutes: float
    consistency_score: int
    sleep_debt_seconds: int
    nights: tuple[Night, ...]  # newest first


def analysis_window(start: dt.datetime | None, end: dt.datetime | None, target: int,
                    now: dt.datetime) -> tuple[dt.datetime, dt.datetime, int]:
    v = Violations()
    end = end or now
    start = start or end - DEFAULT_ANALYSIS_WINDOW
    if end <= start:
        v.add("end_time", "must be after start_time")
    elif end - start > MAX_ANALYSIS_WINDOW:
        v.add("end_time", "must be at most 366 days after start_time")
    if target < 0 or target > 86_400:
        v.add("target_sleep_seconds", "must lie between 0 and 86400 (24 hours)")
    v.raise_if_any()
    return start, end, target or DEFAULT_TARGET_SECONDS


def _local_minutes(t: dt.datetime, offset: dt.timedelta) -> float:
    local = t + offset
    return local.hour * 60 + local.minute + local.second / 60


def _circular(minutes: list[float]) -> tuple[str, float]:
    """Mean clock time (HH:MM) and standard deviation in minutes, on a 24-hour circle, so 23:30 and
    00:30 average to midnight, not noon."""
    if not minutes:
        return "", 0.0
    angles = [m / 1440 * 2 * math.pi for m in minutes]
    mean_angle = math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles)))
    mean = (mean_angle / (2 * math.pi) * 1440) % 1440
    deviations = [((m - mean + 720) % 1440) - 720 for m in minutes]
    sd = math.sqrt(sum(d * d for d in deviations) / len(deviations))
    rounded = round(mean) % 1440
    return f"{rounded // 60:02d}:{rounded % 60:02d}", round(sd, 1)


def analyze(sessions: list[SleepSession], start: dt.datetime, end: dt.datetime, target: int) -> Analysis:
    """Sessions ending on the same local date are one night; averages are over nights with sleep."""
    by_date: dict[dt.date, list[SleepSession]] = {}
    for s in sessions:
        by_date.setdefault(s.local_date, []).append(s)
    nights: list[Night] = []
    slept: list[tuple[list[SleepSession], SleepSession]] = []  # (sessions, main session) of nights with sleep
    for date in sorted(by_date, reverse=True):
        group = by_date[date]
        asleep = sum(s.figures.asleep_seconds for s in group)
        nights.append(Night(date, asleep, sum(s.figures.time_in_bed_seconds for s in group),
                            max(0, target - asleep)))
        if asleep > 0:
            main = max(group, key=lambda s: (s.figures.time_in_bed_seconds, s.end_time))
            slept.append((group, main))

    def avg(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    def avg_of(attr: str) -> int:
        return round(avg([sum(getattr(s.figures, attr) for s in g) for g, _ in slept]))

    efficiencies = []
    for group, _ in slept:
        in_bed = sum(s.figures.time_in_bed_seconds for s in group)
        efficiencies.append(100.0 * sum(s.figures.asleep_seconds for s in group) / in_bed if in_bed else 0.0)
    bedtime, bed_sd = _circular([_local_minutes(m.start_time, m.offset) for _, m in slept])
    wake, wake_sd = _circular([_local_minutes(m.end_time, m.offset) for _, m in slept])
    consistency = round(100 * max(0.0, 1 - (bed_sd + wake_sd) / 2 / CONSISTENCY_ZERO_MINUTES)) if slept else 0
    scores = [m.score for _, m in slept]
    return Analysis(
        start_time=start, end_time=end, night_count=len(nights), target_sleep_seconds=target,
        avg_asleep_seconds=avg_of("asleep_seconds"), avg_time_in_bed_seconds=avg_of("time_in_bed_seconds"),
        avg_awake_seconds=avg_of("awake_seconds"), avg_light_seconds=avg_of("light_seconds"),
        avg_deep_seconds=avg_of("deep_seconds"), avg_rem_seconds=avg_of("rem_seconds"),
        avg_efficiency_percent=round(avg(efficiencies), 1),
        avg_score=round(avg(scores), 1) if scores else None,
        avg_bedtime=bedtime, avg_wake_time=wake, bedtime_stddev_minutes=bed_sd, wake_time_stddev_minutes=wake_sd,
        consistency_score=consistency, sleep_debt_seconds=sum(n.debt_seconds for n in nights),
        nights=tuple(nights),
    )
