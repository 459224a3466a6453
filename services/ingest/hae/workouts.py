"""Workouts (export version 1 and 2) -> WorkoutRecord, one per workout.

Version 1: "activeEnergy"/"totalEnergy"/"distance"/"stepCount" as {"qty", "units"}, "avgHeartRate",
"maxHeartRate", "heartRateData" as {"date", "qty"}, "elevation": {"ascent", "descent", "units"},
"route" with "lat"/"lon", "temperature", "humidity".
Version 2: "activeEnergyBurned", "distance", "heartRate": {"min", "avg", "max"}, "heartRateData" with
Min/Avg/Max, "heartRateRecovery", "route" with "latitude"/"longitude" (+ speed, course, accuracy),
"elevationUp"/"elevationDown", and per-workout series ("stepCount", "activeEnergy",
"walkingAndRunningDistance", ... as arrays of {"date", "qty"}), summed when no total is given.

Also (both versions): "id" (the app's own id, the workout's identity), "duration" (seconds),
"isIndoor"/"location", "totalEnergy", "speed"/"avgSpeed"; V2_FIELDS and V2_SKIPPED below say
where each documented v2 field goes, or why it is skipped.

Amounts come out in canonical units (m, kcal, steps, °C, %, s, m/s). Route and heart-rate points that cannot
be read (no time, no coordinates) are left out and counted in extra["route_points_dropped"] /
extra["heart_rate_points_dropped"]; the workout itself is kept, and the Ingestion says what was left
out (PARTLY_READ).
"""

from __future__ import annotations

import datetime as dt
import re

from services.common.errors import shown
from services.ingest.records import HeartRatePoint, Record, Rejected, RoutePoint, WorkoutRecord

from .dates import DateError, parse_date
from .metrics import INVALID_DATE, INVALID_ITEM, INVALID_VALUE, MISSING_VALUE

METRIC = "workouts"

# Tracking's workout type keys (services/tracking/activities/domain.py WORKOUT_TYPES; a unit test
# keeps the two equal).
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
GENERIC_TYPE = "other"

# Names the app uses (HealthKit activity types as the Fitness app shows them) -> type key, after
# lower-casing and dropping "indoor"/"outdoor"/"pool"/"open water" and similar qualifiers.
_NAME_ALIASES = {
    "run": "running", "running": "running", "jog": "running", "treadmill": "running",
    "walk": "walking", "walking": "walking",
    "cycle": "cycling", "cycling": "cycling", "bike": "cycling", "biking": "cycling", "hand_cycling": "cycling",
    "swim": "swimming", "swimming": "swimming",
    "hike": "hiking", "hiking": "hiking",
    "traditional_strength_training": "strength_training", "strength_training": "strength_training",
    "functional_strength_training": "functional_training", "functional_training": "functional_training",
    "high_intensity_interval_training": "hiit", "hiit": "hiit",
    "stair_stepper": "stair_climbing", "stair_climbing": "stair_climbing", "stairs": "stairs",
    "rower": "rowing", "rowing": "rowing",
    "cardio_dance": "dance", "social_dance": "dance", "dance": "dance", "dancing": "dance",
    "mind_and_body": "mind_and_body", "mindfulness": "meditation", "meditation": "meditation",
    "wheelchair_walk_pace": "wheelchair", "wheelchair_run_pace": "wheelchair",
    "mixed_cardio": "mixed_cardio", "cardio": "mixed_cardio", "core_training": "core_training",
    "cross_country_skiing": "cross_country_skiing", "downhill_skiing": "downhill_skiing", "skiing": "downhill_skiing",
    "snowboarding": "snowboarding", "skating": "skating", "skating_sports": "skating",
    "paddle_sports": "paddling", "kayaking": "paddling", "canoeing": "paddling", "paddling": "paddling",
    "preparation_and_recovery": "cooldown", "cooldown": "cooldown", "cool_down": "cooldown",
    "flexibility": "flexibility", "stretching": "flexibility",
    "jump_rope": "jump_rope", "kickboxing": "kickboxing", "martial_arts": "martial_arts",
    "tai_chi": "tai_chi", "yoga": "yoga", "pilates": "pilates", "barre": "barre",
    "table_tennis": "table_tennis", "ping_pong": "table_tennis", "american_football": "american_football",
    "australian_football": "rugby", "disc_sports": "play", "fitness_gaming": "fitness_gaming",
    "water_fitness": "water_fitness", "water_polo": "water_polo", "water_sports": "water_sports",
    "track_and_field": "track_and_field", "step_training": "step_training", "elliptical": "elliptical",
    "climbing": "climbing", "bouldering": "climbing", "mixed_metabolic_cardio_training": "mixed_cardio",
}
_QUALIFIERS = re.compile(r"\b(indoor|outdoor|pool|open water|virtual|other)\b")


def workout_type(name: object) -> str:
    """Tracking's workout type key for the app's workout name; "other" when it has none."""
    if not isinstance(name, str) or not name.strip():
        return GENERIC_TYPE
    low = name.strip().lower().replace("&", "and")
    key = re.sub(r"[^a-z0-9]+", "_", low).strip("_")
    if key in WORKOUT_TYPES:
        return key
    if key in _NAME_ALIASES:
        return _NAME_ALIASES[key]
    bare = re.sub(r"[^a-z0-9]+", "_", _QUALIFIERS.sub(" ", low)).strip("_")
    if bare in WORKOUT_TYPES:
        return bare
    if bare in _NAME_ALIASES:
        return _NAME_ALIASES[bare]
    for word in bare.split("_"):
        t = _NAME_ALIASES.get(word)
        if t is not None:
            return t
    return GENERIC_TYPE


_TO_M = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "yd": 0.9144, "cm": 0.01, "in": 0.0254}
_TO_KCAL = {"kcal": 1.0, "cal": 1.0, "Cal": 1.0, "kj": 1 / 4.184, "kJ": 1 / 4.184, "J": 1 / 4184}
_STEPS = {"count": 1.0, "steps": 1.0, "": 1.0}
_TO_MPS = {"m/s": 1.0, "mps": 1.0, "km/hr": 1 / 3.6, "km/h": 1 / 3.6, "kph": 1 / 3.6, "mph": 0.44704,
           "mi/hr": 0.44704, "mi/h": 0.44704, "ft/s": 0.3048}
_TO_S = {"s": 1.0, "sec": 1.0, "min": 60.0, "hr": 3600.0, "h": 3600.0}
# "location" says indoors or not only for these; "Pool" can be either.
_LOCATION_INDOOR = {"indoor": True, "outdoor": False, "open water": False}

# Every v2 workout field the vendor documents (its export-format page for workouts, "Workouts
# Version 2", and Workout.ts of HealthyApps/health-auto-export-server), and where it goes: an
# Activity field, or why it is skipped. tests/unit/test_hae_workout_fields.py sends each one.
V2_FIELDS: dict[str, str] = {
    "id": "the record's identity (request id): sent again, the workout is merged, not stored twice",
    "name": "type (the catalog key) and display_name",
    "start": "start_time and utc_offset_minutes", "end": "end_time",
    "duration": "duration_seconds (the moving time, at most end minus start)",
    "location": "indoor (\"Indoor\" true, \"Outdoor\" and \"Open Water\" false; \"Pool\" says neither)",
    "isIndoor": "indoor (wins over location)",
    "activeEnergyBurned": "active_energy_kcal", "activeEnergy": "active_energy_kcal (its series summed, "
                                                                "when activeEnergyBurned is not given)",
    "totalEnergy": "total_energy_kcal", "totalEnergyBurned": "total_energy_kcal",
    "distance": "distance_meters", "walkingAndRunningDistance": "distance_meters (summed, when distance is not given)",
    "speed": "speed_meters_per_second", "avgSpeed": "speed_meters_per_second (when speed is not given)",
    "stepCount": "steps (its series summed)",
    "elevationUp": "elevation_ascent_meters", "elevationDown": "elevation_descent_meters",
    "heartRate": "heart_rate (min, avg, max)", "avgHeartRate": "heart_rate.avg_bpm",
    "maxHeartRate": "heart_rate.max_bpm", "minHeartRate": "heart_rate.min_bpm",
    "heartRateData": "heart_rate_series",
    "route": "route (latitude, longitude, altitude, speed, course, horizontal accuracy)",
    "temperature": "weather.temperature_celsius", "humidity": "weather.humidity_percent",
}
V2_SKIPPED: dict[str, str] = {
    "maxSpeed": "Activity has no maximum speed",
    "intensity": "Activity has no MET figure",
    "heartRateRecovery": "Activity has no recovery series (the points lie after the workout's end)",
    "stepCadence": "Activity has no cadence", "swimCadence": "Activity has no cadence",
    "flightsClimbed": "Activity has no flights climbed",
    "totalSwimmingStrokeCount": "Activity has no stroke count", "swimStrokeCount": "Activity has no stroke count",
    "lapLength": "Activity has no lap length",
    "metadata": "free-form key-value pairs of the source app, with no Activity field",
}


class _Bad(Exception):
    def __init__(self, path: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.path, self.reason, self.message = path, reason, message


def _num(v: object, path: str) -> float | None:
    if type(v) is float and v - v == 0.0:  # the usual case: a finite float (inf - inf and NaN - NaN are NaN)
        return v
    if v is None:
        return None
    if isinstance(v, bool):
        raise _Bad(path, INVALID_VALUE, "is a boolean, not a number")
    if isinstance(v, (int, float)):
        try:
            f = float(v)
        except OverflowError:
            raise _Bad(path, INVALID_VALUE, "is not a finite number") from None
    elif isinstance(v, str):
        try:
            f = float(v.replace(",", ".").strip())
        except ValueError:
            raise _Bad(path, INVALID_VALUE, f"{shown(v)} is not a number") from None
    else:
        return None
    if f != f or f in (float("inf"), float("-inf")):
        raise _Bad(path, INVALID_VALUE, "is not a finite number")
    return f


def _qty(w: dict, key: str, path: str) -> tuple[float, str] | None:
    """A {"qty", "units"} field (or a bare number) as (qty, units)."""
    v = w.get(key)
    if isinstance(v, dict):
        q = _num(v.get("qty"), f"{path}.{key}.qty")
        if q is None:
            return None
        u = v.get("units")
        return q, u.strip() if isinstance(u, str) else ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _num(v, f"{path}.{key}"), ""
    return None


def _series_sum(w: dict, key: str, path: str) -> tuple[float, str] | None:
    v = w.get(key)
    if not isinstance(v, list) or not v:
        return None
    total, unit, seen = 0.0, "", False
    for i, p in enumerate(v):
        if isinstance(p, dict):
            q = _num(p.get("qty"), f"{path}.{key}[{i}].qty")
            if q is not None:
                total += q
                seen = True
                if not unit and isinstance(p.get("units"), str):
                    unit = p["units"].strip()
    return (total, unit) if seen else None


def _convert(amount: tuple[float, str] | None, table: dict[str, float], default: str, path: str,
             what: str) -> float | None:
    if amount is None:
        return None
    q, u = amount
    factor = table.get(u or default)
    if factor is None:
        factor = table.get((u or default).lower())
    if factor is None:
        raise _Bad(path, INVALID_VALUE, f"{what} unit {shown(u)} is not one of {', '.join(sorted(table))}")
    return q * factor


def _temperature_c(amount: tuple[float, str] | None) -> float | None:
    if amount is None:
        return None
    q, u = amount
    u = u.lower().replace("º", "").replace("°", "").replace("deg", "")
    if u in ("f", "fahrenheit"):
        return (q - 32) * 5 / 9
    return q


def _time(v: object) -> tuple[dt.datetime, int] | None:
    try:
        return parse_date(v)
    except DateError:
        return None


def _hr_points(w: dict, key: str, extra: dict[str, float]) -> tuple[HeartRatePoint, ...]:
    series = w.get(key)
    if not isinstance(series, list):
        return ()
    out: list[HeartRatePoint] = []
    dropped = 0
    for p in series:
        if not isinstance(p, dict):
            dropped += 1
            continue
        t = _time(p.get("date"))
        try:
            avg = _num(p.get("Avg"), "") if p.get("Avg") is not None else _num(p.get("qty"), "")
            lo, hi = _num(p.get("Min"), ""), _num(p.get("Max"), "")
        except _Bad:
            avg = None
        if t is None or avg is None:
            dropped += 1
            continue
        out.append(HeartRatePoint(t[0], avg, lo, hi))
    if dropped:
        extra[f"{'heart_rate' if key == 'heartRateData' else 'heart_rate_recovery'}_points_dropped"] = dropped
    return tuple(out)


def _route(w: dict, extra: dict[str, float]) -> tuple[RoutePoint, ...]:
    route = w.get("route")
    if not isinstance(route, list):
        return ()
    out: list[RoutePoint] = []
    dropped = 0
    for p in route:
        if not isinstance(p, dict):
            dropped += 1
            continue
        t = _time(p.get("timestamp") if "timestamp" in p else p.get("date"))
        try:
            lat = _num(p.get("latitude", p.get("lat")), "")
            lon = _num(p.get("longitude", p.get("lon")), "")
            alt = _num(p.get("altitude"), "")
            speed = _num(p.get("speed"), "")
            course = _num(p.get("course"), "")
            acc = _num(p.get("horizontalAccuracy"), "")
        except _Bad:
            lat = None
        if t is None or lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            dropped += 1
            continue
        out.append(RoutePoint(t[0], lat, lon, alt, speed, course, acc))
    if dropped:
        extra["route_points_dropped"] = dropped
    return tuple(out)


def _hr_summary(w: dict, path: str) -> tuple[float | None, float | None, float | None]:
    hr = w.get("heartRate")
    lo = avg = hi = None
    if isinstance(hr, dict):
        lo = (_qty(hr, "min", path + ".heartRate") or (None,))[0]
        avg = (_qty(hr, "avg", path + ".heartRate") or (None,))[0]
        hi = (_qty(hr, "max", path + ".heartRate") or (None,))[0]
    lo = lo if lo is not None else (_qty(w, "minHeartRate", path) or (None,))[0]
    avg = avg if avg is not None else (_qty(w, "avgHeartRate", path) or (None,))[0]
    hi = hi if hi is not None else (_qty(w, "maxHeartRate", path) or (None,))[0]
    return lo, avg, hi


# Fields read into WorkoutRecord's own slots (or deliberately ignored); any other numeric field
# ({"qty"}, a number, or a series) goes into extra.
_HANDLED = frozenset({
    "id", "name", "start", "end", "duration", "location", "isIndoor", "activeEnergyBurned", "activeEnergy",
    "totalEnergy", "totalEnergyBurned", "speed", "avgSpeed",
    "distance", "walkingAndRunningDistance", "stepCount", "elevation", "elevationUp", "elevationDown",
    "heartRate", "avgHeartRate", "maxHeartRate", "minHeartRate", "heartRateData", "heartRateRecovery",
    "route", "temperature", "humidity", "metadata", "source", "notes",
})
MAX_APP_ID = 200  # longer is no id the app wrote: the workout is known by type, start and source


def workout_record(w: object, path: str) -> Record:
    """One workout object at `path` (e.g. $.data.workouts[1]) -> WorkoutRecord or Rejected."""
    if not isinstance(w, dict):
        return Rejected(METRIC, path, INVALID_ITEM, "a workout must be an object")
    try:
        return _workout(w, path)
    except _Bad as b:
        return Rejected(METRIC, b.path, b.reason, b.message)


def _workout(w: dict, path: str) -> WorkoutRecord:
    name = w.get("name")
    name = name if isinstance(name, str) else ""
    times = []
    for key in ("start", "end"):
        v = w.get(key)
        if v is None:
            raise _Bad(f"{path}.{key}", MISSING_VALUE, f"{key} is missing")
        try:
            times.append(parse_date(v))
        except DateError as e:
            raise _Bad(f"{path}.{key}", INVALID_DATE, str(e)) from None
    (start, offset), (end, _) = times
    if end < start:
        raise _Bad(f"{path}.end", INVALID_VALUE, "end is before start")

    extra: dict[str, float] = {}
    energy = _qty(w, "activeEnergyBurned", path) or _qty(w, "activeEnergy", path) or \
        _series_sum(w, "activeEnergy", path)
    active_kcal = _convert(energy, _TO_KCAL, "kcal", path + ".activeEnergyBurned", "energy")
    total_key = "totalEnergy" if w.get("totalEnergy") is not None else "totalEnergyBurned"
    total_kcal = _convert(_qty(w, total_key, path), _TO_KCAL, "kcal", f"{path}.{total_key}", "energy")
    speed_key = "speed" if w.get("speed") is not None else "avgSpeed"
    speed_mps = _convert(_qty(w, speed_key, path), _TO_MPS, "m/s", f"{path}.{speed_key}", "speed")
    dist = _qty(w, "distance", path) or _series_sum(w, "distance", path) or \
        _series_sum(w, "walkingAndRunningDistance", path)
    distance_m = _convert(dist, _TO_M, "km", path + ".distance", "distance")
    steps_q = _qty(w, "stepCount", path) or _series_sum(w, "stepCount", path)
    steps = None if steps_q is None else steps_q[0]

    ascent = descent = None
    elev = w.get("elevation")
    if isinstance(elev, dict):
        unit = elev.get("units") if isinstance(elev.get("units"), str) else "m"
        a = _num(elev.get("ascent"), path + ".elevation.ascent")
        d = _num(elev.get("descent"), path + ".elevation.descent")
        ascent = _convert(None if a is None else (a, unit), _TO_M, "m", path + ".elevation", "elevation")
        descent = _convert(None if d is None else (d, unit), _TO_M, "m", path + ".elevation", "elevation")
    if ascent is None:
        ascent = _convert(_qty(w, "elevationUp", path), _TO_M, "m", path + ".elevationUp", "elevation")
    if descent is None:
        descent = _convert(_qty(w, "elevationDown", path), _TO_M, "m", path + ".elevationDown", "elevation")

    hr_min, hr_avg, hr_max = _hr_summary(w, path)
    series = _hr_points(w, "heartRateData", extra)
    recovery = _hr_points(w, "heartRateRecovery", extra)
    if recovery:  # records.WorkoutRecord has no slot for the recovery series: its summary goes to extra
        bpm = [p.bpm for p in recovery]
        extra["heart_rate_recovery_points"] = float(len(bpm))
        extra["heart_rate_recovery_first_bpm"] = bpm[0]
        extra["heart_rate_recovery_last_bpm"] = bpm[-1]
    if series and hr_avg is None:
        hr_avg = sum(p.bpm for p in series) / len(series)
        hr_min = min((p.min_bpm if p.min_bpm is not None else p.bpm) for p in series)
        hr_max = max((p.max_bpm if p.max_bpm is not None else p.bpm) for p in series)

    humidity = _qty(w, "humidity", path)
    duration = _convert(_qty(w, "duration", path), _TO_S, "s", path + ".duration", "duration")
    for key, v in w.items():
        if key in _HANDLED:
            continue
        q = _qty(w, key, path) if isinstance(v, (dict, int, float)) and not isinstance(v, bool) else None
        if q is not None:
            extra[key] = q[0]
            continue
        s = _series_sum(w, key, path) if isinstance(v, list) else None
        if s is not None:
            extra[key + "_sum"] = s[0]

    notes = w.get("notes")
    source = w.get("source")
    app_id = w.get("id")
    app_id = app_id.strip() if isinstance(app_id, str) and len(app_id) <= MAX_APP_ID else ""
    indoor = w.get("isIndoor")
    if not isinstance(indoor, bool):
        location = w.get("location")
        indoor = _LOCATION_INDOOR.get(location.strip().lower()) if isinstance(location, str) else None
    return WorkoutRecord(
        metric=METRIC, path=path, type=workout_type(name), name=name, start_time=start, end_time=end,
        utc_offset_minutes=offset, source=source if isinstance(source, str) else "",
        distance_m=distance_m, active_energy_kcal=active_kcal, steps=steps,
        elevation_ascent_m=ascent, elevation_descent_m=descent,
        heart_rate_min=hr_min, heart_rate_avg=hr_avg, heart_rate_max=hr_max,
        heart_rate_series=series, route=_route(w, extra),
        temperature_c=_temperature_c(_qty(w, "temperature", path)),
        humidity_percent=None if humidity is None else (humidity[0] * 100 if humidity[0] <= 1 and
                                                        humidity[1] != "%" else humidity[0]),
        notes=notes if isinstance(notes, str) else "", app_id=app_id, indoor=indoor,
        duration_s=duration or None, total_energy_kcal=total_kcal, speed_mps=speed_mps, extra=extra,
    )
