"""Activities (workouts): entities, validation and derived figures. No grpc, protobuf or SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from dataclasses import dataclass

from services.common import checks
from services.common.errors import Violations

# The workout catalog: lower snake case keys, close to HealthKit's and Health Connect's vocabularies.
WORKOUT_TYPES = frozenset({
    "american_football", "archery", "badminton", "barre", "baseball", "basketball", "bowling", "boxing",
    "climbing", "cooldown", "core_training", "cricket", "cross_country_skiing", "cross_training", "curling",
    "cycling", "dance", "downhill_skiing", "elliptical", "fencing", "fishing", "fitness_gaming",
    "flexibility", "functional_training", "golf", "gymnastics", "handball", "hiit", "hiking", "hockey",
    "hunting", "jump_rope", "kickboxing", "lacrosse", "martial_arts", "meditation", "mind_and_body",
    "mixed_cardio", "other", "paddling", "pickleball", "pilates", "play", "racquetball", "rowing",
    "rugby", "running", "sailing", "skating", "snowboarding", "snowshoeing", "soccer", "softball",
    "squash", "stair_climbing", "stairs", "step_training", "strength_training", "surfing", "swimming",
    "table_tennis", "tai_chi", "tennis", "track_and_field", "volleyball", "walking", "water_fitness",
    "water_polo", "water_sports", "wheelchair", "wrestling", "yoga",
})

MAX_ELAPSED = dt.timedelta(days=7)
MAX_SERIES_POINTS = 20_000
MAX_ROUTE_POINTS = 50_000
MAX_DISPLAY_NAME = 200
MAX_NOTES = 2_000
MAX_SOURCE = 200
MAX_OFFSET_MINUTES = 1080
MIN_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
FUTURE_SLACK = dt.timedelta(days=1)
# Points a device stamped a little before the start or after the end still belong to the workout.
POINT_SLACK = dt.timedelta(minutes=1)
MAX_BAD_POINTS_REPORTED = 10  # one violation per bad point, up to this many per list

# Plausible ranges: anything outside is a unit mix-up or a broken sensor, not a workout.
MAX_DISTANCE_METERS = 2_000_000.0
MAX_ENERGY_KCAL = 50_000.0
MAX_STEPS = 1_000_000
MAX_ELEVATION_METERS = 50_000.0
MAX_SPEED_MPS = 150.0
MAX_PACE_SECONDS_PER_KM = 100_000.0
MIN_BPM, MAX_BPM = 20.0, 300.0


@dataclass(frozen=True)
class HeartRateSummary:
    min_bpm: float | None = None
    avg_bpm: float | None = None
    max_bpm: float | None = None


@dataclass(frozen=True)
class HeartRatePoint:
    time: dt.datetime
    bpm: float
    min_bpm: float | None = None
    max_bpm: float | None = None


@dataclass(frozen=True)
class RoutePoint:
    time: dt.datetime
    latitude: float
    longitude: float
    altitude_meters: float | None = None
    speed_meters_per_second: float | None = None
    course_degrees: float | None = None
    horizontal_accuracy_meters: float | None = None
    vertical_accuracy_meters: float | None = None


@dataclass(frozen=True)
class Weather:
    temperature_celsius: float | None = None
    humidity_percent: float | None = None
    conditions: str = ""


@dataclass(frozen=True)
class ActivityFields:
    """What a client sets. None (or 0 for duration_seconds) means "not given": derived on read."""

    type: str = ""
    display_name: str = ""
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    utc_offset_minutes: int | None = None
    duration_seconds: int = 0
    distance_meters: float | None = None
    active_energy_kcal: float | None = None
    total_energy_kcal: float | None = None
    steps: int | None = None
    elevation_ascent_meters: float | None = None
    elevation_descent_meters: float | None = None
    pace_seconds_per_km: float | None = None
    speed_meters_per_second: float | None = None
    heart_rate: HeartRateSummary = HeartRateSummary()
    heart_rate_series: tuple[HeartRatePoint, ...] = ()
    route: tuple[RoutePoint, ...] = ()
    indoor: bool | None = None
    weather: Weather | None = None
    notes: str = ""
    source: str = ""


# Update masks: top-level paths, plus the leaves of the two nested messages.
UPDATABLE_PATHS = frozenset(f.name for f in dataclasses.fields(ActivityFields)) | {
    "heart_rate.min_bpm", "heart_rate.avg_bpm", "heart_rate.max_bpm",
    "weather.temperature_celsius", "weather.humidity_percent", "weather.conditions",
}
OUTPUT_ONLY_PATHS = frozenset({"name", "create_time", "update_time"})


@dataclass(frozen=True)
class Activity:
    """A stored activity. series_summary is computed from the series when it is written, so the
    BASIC view (without the series) can still report the heart rate."""

    id: uuid.UUID
    user_id: uuid.UUID
    fields: ActivityFields
    series_summary: HeartRateSummary
    create_time: dt.datetime
    update_time: dt.datetime
    full: bool = True  # False when heart_rate_series and route were not loaded (BASIC view)

    @property
    def start_time(self) -> dt.datetime:
        assert self.fields.start_time is not None
        return self.fields.start_time

    @property
    def elapsed_seconds(self) -> int:
        f = self.fields
        assert f.start_time is not None and f.end_time is not None
        return int((f.end_time - f.start_time).total_seconds())

    @property
    def duration_seconds(self) -> int:
        return self.fields.duration_seconds or self.elapsed_seconds

    @property
    def pace_seconds_per_km(self) -> float | None:
        f = self.fields
        if f.pace_seconds_per_km is not None:
            return f.pace_seconds_per_km
        if f.distance_meters and self.duration_seconds:
            return self.duration_seconds / (f.distance_meters / 1000.0)
        return None

    @property
    def speed_meters_per_second(self) -> float | None:
        f = self.fields
        if f.speed_meters_per_second is not None:
            return f.speed_meters_per_second
        if f.distance_meters is not None and self.duration_seconds:
            return f.distance_meters / self.duration_seconds
        return None

    @property
    def heart_rate(self) -> HeartRateSummary:
        """The given figures, each missing one filled from the series."""
        given, derived = self.fields.heart_rate, self.series_summary
        return HeartRateSummary(
            given.min_bpm if given.min_bpm is not None else derived.min_bpm,
            given.avg_bpm if given.avg_bpm is not None else derived.avg_bpm,
            given.max_bpm if given.max_bpm is not None else derived.max_bpm,
        )


@dataclass(frozen=True)
class ActivityFilter:
    type: str = ""
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    source: str = ""


def summarize_series(series: tuple[HeartRatePoint, ...]) -> HeartRateSummary:
    if not series:
        return HeartRateSummary()
    lows = [p.min_bpm if p.min_bpm is not None else p.bpm for p in series]
    highs = [p.max_bpm if p.max_bpm is not None else p.bpm for p in series]
    return HeartRateSummary(min(lows), round(sum(p.bpm for p in series) / len(series), 1), max(highs))


def merge(current: ActivityFields, patch: ActivityFields, paths: list[str]) -> ActivityFields:
    """Copies the fields named in (already checked) paths from patch onto current."""
    changes: dict = {}
    heart_rate, weather = current.heart_rate, current.weather
    for path in paths:
        head, _, leaf = path.partition(".")
        if not leaf:
            changes[head] = getattr(patch, head)
        elif head == "heart_rate":
            heart_rate = dataclasses.replace(heart_rate, **{leaf: getattr(patch.heart_rate, leaf)})
            changes["heart_rate"] = heart_rate
        elif head == "weather":
            weather = dataclasses.replace(weather or Weather(), **{leaf: getattr(patch.weather or Weather(), leaf)})
            changes["weather"] = weather
    return dataclasses.replace(current, **changes)


def _given_or(new, old):
    """An import's field if it gave one (None, "" and () are "not given"), else the stored one."""
    return old if new is None or new == "" or new == () else new


def merge_import(stored: ActivityFields, incoming: ActivityFields) -> ActivityFields:
    """The same activity sent again (the same request id): each field it gives replaces the stored
    one, each it lacks is kept; heart rate and weather merge leaf by leaf. Equal to `stored` when
    it brings nothing new (a DUPLICATE)."""
    changes = {f.name: _given_or(getattr(incoming, f.name), getattr(stored, f.name))
               for f in dataclasses.fields(ActivityFields) if f.name not in ("heart_rate", "weather")}
    changes["duration_seconds"] = incoming.duration_seconds or stored.duration_seconds  # 0: not given
    hr_old, hr_new = stored.heart_rate, incoming.heart_rate
    changes["heart_rate"] = HeartRateSummary(*(_given_or(getattr(hr_new, n), getattr(hr_old, n))
                                               for n in ("min_bpm", "avg_bpm", "max_bpm")))
    if incoming.weather is None or stored.weather is None:
        changes["weather"] = incoming.weather or stored.weather
    else:
        changes["weather"] = Weather(*(_given_or(getattr(incoming.weather, n), getattr(stored.weather, n))
                                       for n in ("temperature_celsius", "humidity_percent", "conditions")))
    return ActivityFields(**changes)


def check_paths(paths: list[str], v: Violations) -> None:
    checks.update_mask(paths, UPDATABLE_PATHS, OUTPUT_ONLY_PATHS, "Activity", v)


def validate(f: ActivityFields, now: dt.datetime, v: Violations, prefix: str = "activity") -> ActivityFields:
    """Checks an activity as a whole and returns it with series and route sorted oldest first."""
    p = prefix + "."
    if not f.type:
        v.add(p + "type", "is required")
    elif f.type not in WORKOUT_TYPES:
        v.add(p + "type", "is not a workout type of the catalog, for example running, cycling or other")
    _text(f.display_name, MAX_DISPLAY_NAME, p + "display_name", v)
    _text(f.notes, MAX_NOTES, p + "notes", v)
    _text(f.source, MAX_SOURCE, p + "source", v)
    if f.start_time is None:
        v.add(p + "start_time", "is required")
    elif not MIN_TIME <= f.start_time <= now + FUTURE_SLACK:
        v.add(p + "start_time", "must lie between 1900-01-01 and one day from now")
    timed = False  # a start in range and an end at most MAX_ELAPSED after it
    if f.end_time is None:
        v.add(p + "end_time", "is required")
    elif f.start_time is not None:
        if f.end_time < f.start_time:
            v.add(p + "end_time", "must not be before start_time")
        elif f.end_time - f.start_time > MAX_ELAPSED:
            v.add(p + "end_time", "must be at most 7 days after start_time")
        else:
            timed = MIN_TIME <= f.start_time <= now + FUTURE_SLACK
    if f.utc_offset_minutes is not None and abs(f.utc_offset_minutes) > MAX_OFFSET_MINUTES:
        v.add(p + "utc_offset_minutes", "must lie between -1080 and 1080")
    if f.duration_seconds < 0:
        v.add(p + "duration_seconds", "must not be negative")
    elif f.start_time and f.end_time and f.end_time >= f.start_time and \
            f.duration_seconds > (f.end_time - f.start_time).total_seconds():
        v.add(p + "duration_seconds", "must not exceed end_time minus start_time")
    _range(f.distance_meters, 0, MAX_DISTANCE_METERS, p + "distance_meters", v)
    _range(f.active_energy_kcal, 0, MAX_ENERGY_KCAL, p + "active_energy_kcal", v)
    _range(f.total_energy_kcal, 0, MAX_ENERGY_KCAL, p + "total_energy_kcal", v)
    _range(f.steps, 0, MAX_STEPS, p + "steps", v)
    _range(f.elevation_ascent_meters, 0, MAX_ELEVATION_METERS, p + "elevation_ascent_meters", v)
    _range(f.elevation_descent_meters, 0, MAX_ELEVATION_METERS, p + "elevation_descent_meters", v)
    _range(f.speed_meters_per_second, 0, MAX_SPEED_MPS, p + "speed_meters_per_second", v)
    if f.pace_seconds_per_km is not None and not 0 < f.pace_seconds_per_km <= MAX_PACE_SECONDS_PER_KM:
        v.add(p + "pace_seconds_per_km", f"must be above 0 and at most {MAX_PACE_SECONDS_PER_KM:g}")
    hr = f.heart_rate
    for name in ("min_bpm", "avg_bpm", "max_bpm"):
        _range(getattr(hr, name), MIN_BPM, MAX_BPM, f"{p}heart_rate.{name}", v)
    if (hr.min_bpm is not None and hr.max_bpm is not None and hr.min_bpm > hr.max_bpm) or (
            hr.avg_bpm is not None and ((hr.min_bpm is not None and hr.avg_bpm < hr.min_bpm)
                                        or (hr.max_bpm is not None and hr.avg_bpm > hr.max_bpm))):
        v.add(p + "heart_rate", "must satisfy min_bpm <= avg_bpm <= max_bpm")
    if f.weather is not None:
        _range(f.weather.temperature_celsius, -90, 60, p + "weather.temperature_celsius", v)
        _range(f.weather.humidity_percent, 0, 100, p + "weather.humidity_percent", v)
        _text(f.weather.conditions, MAX_DISPLAY_NAME, p + "weather.conditions", v)
    # Points are checked against the activity's own times only once those are sound (an end in
    # year 9999 plus the slack would overflow).
    window = (f.start_time - POINT_SLACK, f.end_time + POINT_SLACK) if timed else None
    _check_series(f.heart_rate_series, window, p + "heart_rate_series", v)
    _check_route(f.route, window, p + "route", v)
    return dataclasses.replace(f, heart_rate_series=tuple(sorted(f.heart_rate_series, key=lambda x: x.time)),
                               route=tuple(sorted(f.route, key=lambda x: x.time)))


def _text(value: str, limit: int, field: str, v: Violations) -> None:
    if len(value) > limit:
        v.add(field, f"must have at most {limit} characters")


def _range(value: float | None, low: float, high: float, field: str, v: Violations) -> None:
    if value is None:
        return
    if value != value or not low <= value <= high:  # value != value: NaN
        v.add(field, f"must lie between {low:g} and {high:g}" if low else
              ("must not be negative" if value < 0 else f"must be at most {high:g}"))


class _Bad:
    """Reports at most a few bad points per list, so one broken upload does not flood the error."""

    def __init__(self, field: str, v: Violations) -> None:
        self.field, self.v, self.count = field, v, 0

    def add(self, index: int, leaf: str, description: str) -> None:
        self.count += 1
        if self.count <= MAX_BAD_POINTS_REPORTED:
            self.v.add(f"{self.field}[{index}]{leaf}", description)

    def close(self) -> None:
        if self.count > MAX_BAD_POINTS_REPORTED:
            self.v.add(self.field, f"{self.count - MAX_BAD_POINTS_REPORTED} more bad points not listed")


def _in_window(time: dt.datetime, window) -> bool:
    return window is None or window[0] <= time <= window[1]


def _check_series(series, window, field: str, v: Violations) -> None:
    if len(series) > MAX_SERIES_POINTS:
        v.add(field, f"must have at most {MAX_SERIES_POINTS} points, got {len(series)}")
        return
    bad = _Bad(field, v)
    for i, pt in enumerate(series):
        if not _in_window(pt.time, window):
            bad.add(i, ".time", "must lie within start_time and end_time")
        for leaf in ("bpm", "min_bpm", "max_bpm"):
            value = getattr(pt, leaf)
            if value is not None and not MIN_BPM <= value <= MAX_BPM:
                bad.add(i, "." + leaf, f"must lie between {MIN_BPM:g} and {MAX_BPM:g}")
    bad.close()


def _check_route(route, window, field: str, v: Violations) -> None:
    if len(route) > MAX_ROUTE_POINTS:
        v.add(field, f"must have at most {MAX_ROUTE_POINTS} points, got {len(route)}")
        return
    bad = _Bad(field, v)
    for i, pt in enumerate(route):
        if not _in_window(pt.time, window):
            bad.add(i, ".time", "must lie within start_time and end_time")
        if not -90 <= pt.latitude <= 90:
            bad.add(i, ".latitude", "must lie between -90 and 90")
        if not -180 <= pt.longitude <= 180:
            bad.add(i, ".longitude", "must lie between -180 and 180")
        if pt.altitude_meters is not None and not -500 <= pt.altitude_meters <= 10_000:
            bad.add(i, ".altitude_meters", "must lie between -500 and 10000")
        if pt.speed_meters_per_second is not None and not 0 <= pt.speed_meters_per_second <= MAX_SPEED_MPS:
            bad.add(i, ".speed_meters_per_second", f"must lie between 0 and {MAX_SPEED_MPS:g}")
        if pt.course_degrees is not None and not 0 <= pt.course_degrees <= 360:
            bad.add(i, ".course_degrees", "must lie between 0 and 360")
        for leaf in ("horizontal_accuracy_meters", "vertical_accuracy_meters"):
            value = getattr(pt, leaf)
            if value is not None and not 0 <= value < math.inf:  # NaN fails it too, where `value < 0` did not
                bad.add(i, "." + leaf, "must be a finite number, not negative")
    bad.close()
