"""The mapping table: Health Auto Export metric names (with their spelling variants) to Tracking's
sample type keys, the units each accepts, and what reads a metric's data items: into columns
(SampleItems -> records.SampleRows), or as Skipped / Rejected records. Sleep lives in sleep.py,
workouts in workouts.py.

Units: the app writes the unit of the phone's locale ("lb", "fl_oz_us", "kJ", "mi", "degF",
"mmol/L", ...). Values are passed on in the unit they came in; Tracking converts them to the
canonical unit and keeps the original. `normalize_unit` only respells a unit into one Tracking's
catalog accepts for that type (the table below lists them, a unit test checks them against the
catalog); a unit it cannot respell makes the metric's items Skipped with UNSUPPORTED_UNIT.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from services.common.errors import shown
from services.ingest.records import NAN, Record, Rejected, SampleRows, Skipped

from .dates import DateError, parse_date_us, parse_dates_us

# Reasons (UPPER_SNAKE) used in Skipped and Rejected.
UNSUPPORTED_METRIC = "UNSUPPORTED_METRIC"
UNSUPPORTED_UNIT = "UNSUPPORTED_UNIT"
UNSUPPORTED_VALUE = "UNSUPPORTED_VALUE"
INVALID_DATE = "INVALID_DATE"
MISSING_VALUE = "MISSING_VALUE"
INVALID_VALUE = "INVALID_VALUE"
INVALID_ITEM = "INVALID_ITEM"
MISSING_NAME = "MISSING_NAME"

# Kinds of item.
QTY = "qty"  # {"date", "qty"}
HEART_RATE = "heart_rate"  # {"date", "Min", "Avg", "Max"} (or "qty")
BLOOD_PRESSURE = "blood_pressure"  # {"date", "systolic", "diastolic"}
BLOOD_GLUCOSE = "blood_glucose"  # {"date", "qty", "mealTime"}
SLEEP = "sleep"  # sleep_analysis: see sleep.py


@dataclass(frozen=True)
class Mapping:
    type: str  # Tracking's sample type key ("" for sleep)
    kind: str = QTY
    default_unit: str = ""  # used when the metric has no "units"
    units: tuple[str, ...] = ()  # units Tracking's catalog accepts for this type


_PER_MIN = ("/min", "count/min", "bpm", "beats/min", "1/min", "{beats}/min")
_COUNT = ("{count}", "count", "steps", "{steps}")
_METERS = ("m", "km", "mi", "ft", "yd", "cm", "in")
_KCAL = ("kcal", "Cal", "cal", "kJ", "kj", "J")
_MINUTES = ("min", "h", "hr", "s")
_KG = ("kg", "lb", "lbs", "g", "st", "oz")
_GRAMS = ("g", "mg", "kg", "oz")
_MILLIGRAMS = ("mg", "g", "ug", "mcg")
_ML = ("mL", "ml", "L", "l", "fl_oz_us", "fl oz", "fl_oz_imp", "cup_us")
_PERCENT = ("%", "")
_CELSIUS = ("Cel", "degC", "°C", "C", "degF", "°F", "F")
_GLUCOSE = ("mg/dL", "mg/dl", "mmol/L", "mmol/l", "mmol<180.1558800000541>/L")
_MMHG = ("mm[Hg]", "mmHg", "mmhg")
_SPEED = ("km/hr", "km/h", "mi/hr", "mi/h", "mph", "ft/s", "m/min")
_CM = ("cm", "m", "mm", "in", "ft")
_WATTS = ("W", "w", "kW", "watts")
_MS = ("ms", "s")
_LITERS = ("L", "l", "mL", "ml")
_L_PER_MIN = ("L/min", "l/min", "L/s", "l/s", "mL/min")
_DB = ("dBASPL", "dB", "dBA", "dB(A)", "dB SPL")
_PER_HOUR = ("count/hr", "count/h", "count", "events/hr", "{events}/h")
_EFFORT = ("kcal/hr·kg", "kcal/(hr·kg)", "kcal/(kg·hr)", "kcal/kg/hr", "kcal/(kg*h)", "MET", "METs")


def _m(type_: str, canonical: str, units: tuple[str, ...], kind: str = QTY, default: str = "") -> Mapping:
    return Mapping(type_, kind, default or canonical, (canonical, *units))


_TYPES: dict[str, Mapping] = {
    "heart_rate": _m("heart_rate", "/min", _PER_MIN, HEART_RATE, "count/min"),
    "resting_heart_rate": _m("resting_heart_rate", "/min", _PER_MIN, default="count/min"),
    "walking_heart_rate": _m("walking_heart_rate", "/min", _PER_MIN, default="count/min"),
    "hrv": _m("hrv", "ms", ("ms", "s")),
    "step_count": _m("step_count", "{count}", _COUNT, default="count"),
    "distance": _m("distance", "m", _METERS, default="km"),
    "active_energy": _m("active_energy", "kcal", _KCAL),
    "basal_energy": _m("basal_energy", "kcal", _KCAL),
    "flights_climbed": _m("flights_climbed", "{count}", _COUNT, default="count"),
    "exercise_minutes": _m("exercise_minutes", "min", _MINUTES),
    "stand_hours": _m("stand_hours", "h", (*_MINUTES, "count"), default="count"),
    "blood_pressure": _m("blood_pressure", "mm[Hg]", _MMHG, BLOOD_PRESSURE, "mmHg"),
    "blood_glucose": _m("blood_glucose", "mg/dL", _GLUCOSE, BLOOD_GLUCOSE),
    "spo2": _m("spo2", "%", _PERCENT),
    "respiratory_rate": _m("respiratory_rate", "/min", _PER_MIN, default="count/min"),
    "body_temperature": _m("body_temperature", "Cel", _CELSIUS, default="degC"),
    "wrist_temperature": _m("wrist_temperature", "Cel", _CELSIUS, default="degC"),
    "weight": _m("weight", "kg", _KG),
    "bmi": _m("bmi", "kg/m2", ("count", "kg/m^2", "kg/m²"), default="count"),
    "body_fat": _m("body_fat", "%", _PERCENT),
    "lean_mass": _m("lean_mass", "kg", _KG),
    "height": _m("height", "m", _METERS),
    "vo2_max": _m("vo2_max", "mL/(kg.min)", ("ml/(kg*min)", "ml/(kg·min)", "mL/min·kg", "ml/kg/min",
                                             "mL/(kg*min)", "ml/(kg.min)"), default="ml/(kg·min)"),
    "water": _m("water", "mL", _ML),
    "dietary_energy": _m("dietary_energy", "kcal", _KCAL),
    "protein": _m("protein", "g", _GRAMS),
    "carbs": _m("carbs", "g", _GRAMS),
    "fat": _m("fat", "g", _GRAMS),
    "fiber": _m("fiber", "g", _GRAMS),
    "sugar": _m("sugar", "g", _GRAMS),
    "caffeine": _m("caffeine", "mg", _MILLIGRAMS),
    "mindful_minutes": _m("mindful_minutes", "min", _MINUTES),
    # Added with the vendor's list of metric names (issue 17): each name it has is mapped or skipped.
    "move_minutes": _m("move_minutes", "min", _MINUTES),
    "stand_minutes": _m("stand_minutes", "min", _MINUTES),
    "cycling_distance": _m("cycling_distance", "m", _METERS, default="km"),
    "swimming_distance": _m("swimming_distance", "m", _METERS),
    "wheelchair_distance": _m("wheelchair_distance", "m", _METERS, default="km"),
    "snow_sports_distance": _m("snow_sports_distance", "m", _METERS, default="km"),
    "wheelchair_pushes": _m("wheelchair_pushes", "{count}", _COUNT, default="count"),
    "swim_strokes": _m("swim_strokes", "{count}", _COUNT, default="count"),
    "physical_effort": _m("physical_effort", "kcal/(kg.h)", _EFFORT, default="kcal/hr·kg"),
    "cycling_cadence": _m("cycling_cadence", "/min", (*_PER_MIN, "rpm"), default="count/min"),
    "cycling_ftp": _m("cycling_ftp", "W", _WATTS),
    "cycling_power": _m("cycling_power", "W", _WATTS),
    "cycling_speed": _m("cycling_speed", "m/s", _SPEED, default="km/hr"),
    "running_power": _m("running_power", "W", _WATTS),
    "running_speed": _m("running_speed", "m/s", _SPEED, default="km/hr"),
    "running_ground_contact_time": _m("running_ground_contact_time", "ms", _MS),
    "running_stride_length": _m("running_stride_length", "m", _METERS),
    "running_vertical_oscillation": _m("running_vertical_oscillation", "cm", _CM),
    "waist_circumference": _m("waist_circumference", "cm", _CM),
    "heart_rate_recovery": _m("heart_rate_recovery", "/min", _PER_MIN, default="count/min"),
    "afib_burden": _m("afib_burden", "%", _PERCENT),
    "walking_speed": _m("walking_speed", "m/s", _SPEED, default="km/hr"),
    "walking_step_length": _m("walking_step_length", "cm", _CM),
    "walking_asymmetry": _m("walking_asymmetry", "%", _PERCENT),
    "walking_double_support": _m("walking_double_support", "%", _PERCENT),
    "six_minute_walk_distance": _m("six_minute_walk_distance", "m", _METERS),
    "stair_ascent_speed": _m("stair_ascent_speed", "m/s", _SPEED, default="ft/s"),
    "stair_descent_speed": _m("stair_descent_speed", "m/s", _SPEED, default="ft/s"),
    "fev1": _m("fev1", "L", _LITERS),
    "fvc": _m("fvc", "L", _LITERS),
    "peak_expiratory_flow": _m("peak_expiratory_flow", "L/min", _L_PER_MIN),
    "perfusion_index": _m("perfusion_index", "%", _PERCENT),
    "inhaler_uses": _m("inhaler_uses", "{count}", _COUNT, default="count"),
    "basal_body_temperature": _m("basal_body_temperature", "Cel", _CELSIUS, default="degC"),
    "time_in_daylight": _m("time_in_daylight", "min", _MINUTES),
    "environmental_audio_exposure": _m("environmental_audio_exposure", "dB[SPL]", _DB, default="dBASPL"),
    "headphone_audio_exposure": _m("headphone_audio_exposure", "dB[SPL]", _DB, default="dBASPL"),
    "breathing_disturbances": _m("breathing_disturbances", "/h", _PER_HOUR, default="count"),
    "falls": _m("falls", "{count}", _COUNT, default="count"),
    "alcoholic_beverages": _m("alcoholic_beverages", "{count}", _COUNT, default="count"),
    "blood_alcohol": _m("blood_alcohol", "%", _PERCENT),
}

# HAE metric name (as the app spells it, and the variants seen across app versions) -> type key.
_NAMES: dict[str, str] = {
    "heart_rate": "heart_rate",
    "resting_heart_rate": "resting_heart_rate",
    "walking_heart_rate_average": "walking_heart_rate", "walking_heart_rate": "walking_heart_rate",
    "heart_rate_variability": "hrv", "heart_rate_variability_sdnn": "hrv", "hrv": "hrv",
    "step_count": "step_count", "steps": "step_count",
    "walking_running_distance": "distance", "distance_walking_running": "distance",
    "walking_and_running_distance": "distance",
    "active_energy": "active_energy", "active_energy_burned": "active_energy",
    "basal_energy_burned": "basal_energy", "basal_energy": "basal_energy", "resting_energy": "basal_energy",
    "flights_climbed": "flights_climbed",
    "apple_exercise_time": "exercise_minutes", "exercise_time": "exercise_minutes",
    "apple_stand_hour": "stand_hours", "stand_hours": "stand_hours", "apple_stand_hours": "stand_hours",
    "blood_pressure": "blood_pressure",
    "blood_glucose": "blood_glucose",
    "blood_oxygen_saturation": "spo2", "oxygen_saturation": "spo2", "spo2": "spo2",
    "respiratory_rate": "respiratory_rate",
    "body_temperature": "body_temperature",
    "apple_sleeping_wrist_temperature": "wrist_temperature", "sleeping_wrist_temperature": "wrist_temperature",
    "wrist_temperature": "wrist_temperature",
    "weight_body_mass": "weight", "body_mass": "weight", "weight": "weight",
    "body_mass_index": "bmi", "bmi": "bmi",
    "body_fat_percentage": "body_fat", "body_fat": "body_fat",
    "lean_body_mass": "lean_mass", "lean_mass": "lean_mass",
    "height": "height",
    "vo2_max": "vo2_max", "vo2max": "vo2_max",
    "dietary_water": "water", "water": "water",
    "dietary_energy": "dietary_energy", "dietary_energy_consumed": "dietary_energy",
    "protein": "protein", "dietary_protein": "protein",
    "carbohydrates": "carbs", "dietary_carbohydrates": "carbs", "carbs": "carbs",
    "total_fat": "fat", "dietary_fat_total": "fat", "fat": "fat",
    "fiber": "fiber", "dietary_fiber": "fiber",
    "dietary_sugar": "sugar", "sugar": "sugar",
    "caffeine": "caffeine", "dietary_caffeine": "caffeine",
    "mindful_minutes": "mindful_minutes", "mindful_session": "mindful_minutes",
    "apple_move_time": "move_minutes", "move_time": "move_minutes",
    "apple_stand_time": "stand_minutes", "stand_time": "stand_minutes",
    "cycling_distance": "cycling_distance", "distance_cycling": "cycling_distance",
    "swimming_distance": "swimming_distance", "distance_swimming": "swimming_distance",
    "wheelchair_distance": "wheelchair_distance", "distance_wheelchair": "wheelchair_distance",
    "downhill_snow_sports": "snow_sports_distance", "distance_downhill_snow_sports": "snow_sports_distance",
    "downhill_snow_sports_distance": "snow_sports_distance",
    "wheelchair_push_count": "wheelchair_pushes", "push_count": "wheelchair_pushes",
    "swim_stroke_count": "swim_strokes", "swimming_stroke_count": "swim_strokes",
    "physical_effort": "physical_effort",
    "cycling_cadence": "cycling_cadence", "cycling_functional_threshold_power": "cycling_ftp",
    "cycling_power": "cycling_power", "cycling_speed": "cycling_speed",
    "running_power": "running_power", "running_speed": "running_speed",
    "running_ground_contact_time": "running_ground_contact_time", "running_stride_length": "running_stride_length",
    "running_vertical_oscillation": "running_vertical_oscillation",
    "waist_circumference": "waist_circumference",
    "cardio_recovery": "heart_rate_recovery", "heart_rate_recovery": "heart_rate_recovery",
    "heart_rate_recovery_one_minute": "heart_rate_recovery",
    "atrial_fibrillation_burden": "afib_burden",
    "walking_speed": "walking_speed", "walking_step_length": "walking_step_length",
    "walking_asymmetry_percentage": "walking_asymmetry", "walking_double_support_percentage": "walking_double_support",
    "six_minute_walking_test_distance": "six_minute_walk_distance",
    "six_minute_walk_test_distance": "six_minute_walk_distance",
    "stair_speed_up": "stair_ascent_speed", "stair_ascent_speed": "stair_ascent_speed",
    "stair_speed_down": "stair_descent_speed", "stair_descent_speed": "stair_descent_speed",
    "forced_expiratory_volume": "fev1", "forced_expiratory_volume_1": "fev1",
    "forced_vital_capacity": "fvc", "peak_expiratory_flow_rate": "peak_expiratory_flow",
    "peripheral_perfusion_index": "perfusion_index",
    "inhaler_usage": "inhaler_uses",
    "basal_body_temperature": "basal_body_temperature",
    "time_in_daylight": "time_in_daylight",
    "environmental_audio": "environmental_audio_exposure",
    "environmental_audio_exposure": "environmental_audio_exposure",
    "headphone_audio": "headphone_audio_exposure", "headphone_audio_exposure": "headphone_audio_exposure",
    "breathing_disturbances": "breathing_disturbances",
    "number_of_time_fallen": "falls", "number_of_times_fallen": "falls",
    "number_of_alcoholic_beverages": "alcoholic_beverages",
    "blood_alcohol_content": "blood_alcohol",
}

SLEEP_NAMES = frozenset({"sleep_analysis", "sleep"})

# Metrics of the app with no Tracking type, on purpose: each item is Skipped (UNSUPPORTED_METRIC), as
# any unknown name is, and counted as skipped; the reason is why it has no type (README's table).
_NUTRIENT = ("a micronutrient, cholesterol or a fat subtype: nutrition keeps energy, macros, sugar, fiber, caffeine, "
             "water")
SKIPPED: dict[str, str] = {
    "under_water_depth": "the depth of a dive, a series of the dive workout rather than a measure of the body",
    "underwater_depth": "the depth of a dive, a series of the dive workout rather than a measure of the body",
    "under_water_temperature": "the water's temperature during a dive or swim: weather, not the body",
    "water_temperature": "the water's temperature during a dive or swim: weather, not the body",
    "uv_exposure": "a UV index of the surroundings, which no Apple device measures; nothing about the body",
    "sexual_activity": "an event with a protection flag, not a quantity; too sensitive to keep without a use for it",
    "electrodermal_activity": "skin conductance from third-party sensors only, with no reference range to check it by",
    "insulin_delivery": "a medication dose (IU, basal or bolus), not a measurement: doses need a type of their own",
    "handwashing": "a hygiene event (its length), not a health measurement",
    "toothbrushing": "a hygiene event (its length), not a health measurement",
    "blood_oxygen": "not a name on the vendor's list: blood_oxygen_saturation is the app's, and is mapped",
    "mindfulness": "not a name on the vendor's list: mindful_minutes is the app's, and is mapped",
    **{n: _NUTRIENT for n in (
        "cholesterol", "dietary_cholesterol", "saturated_fat", "monosaturated_fat", "monounsaturated_fat",
        "polyunsaturated_fat", "sodium", "potassium", "calcium", "iron", "magnesium", "zinc", "vitamin_a",
        "vitamin_b6", "vitamin_b12", "vitamin_c", "vitamin_d", "vitamin_e", "vitamin_k", "folate", "biotin",
        "niacin", "riboflavin", "thiamin", "pantothenic_acid", "phosphorus", "selenium", "copper", "manganese",
        "chromium", "molybdenum", "chloride", "iodine")},
}
KNOWN_UNMAPPED = frozenset(SKIPPED)

# Unit spellings the app (or a locale) uses that the catalog does not list verbatim.
_UNIT_ALIASES: dict[str, str] = {
    "ºC": "degC", "ºF": "degF", "℃": "degC", "℉": "degF", "degc": "degC", "degf": "degF",
    "cel": "Cel", "fahrenheit": "degF", "celsius": "degC",
    "lb_av": "lb", "pound": "lb", "pounds": "lb", "stone": "st", "kilograms": "kg",
    "ml": "mL", "millilitre": "mL", "milliliter": "mL", "litre": "L", "liter": "L", "cup": "cup_us",
    "fl_oz": "fl_oz_us", "fl oz us": "fl_oz_us", "fl_oz_uk": "fl_oz_imp", "fl oz imp": "fl_oz_imp",
    "kilocalories": "kcal", "kilojoules": "kJ", "kcal/hr": "", "cal": "Cal",
    "miles": "mi", "kilometers": "km", "kilometres": "km", "meters": "m", "metres": "m", "feet": "ft",
    "yards": "yd", "inches": "in",
    "count/s": "", "beats per minute": "bpm", "breaths/min": "/min",
    "µg": "mcg", "μg": "mcg",
    "mmol/mol": "",
    "hours": "h", "minutes": "min", "seconds": "s", "sec": "s",
    "ml/(kg·min)": "ml/(kg·min)", "ml/kg·min": "mL/min·kg", "ml/kg/min": "ml/kg/min",
}


def mapping_for(name: str) -> Mapping | None:
    """The mapping of a metric name (any spelling variant), or None when it has none."""
    key = _NAMES.get(name)
    if key is None:
        key = _NAMES.get(name.strip().lower().replace(" ", "_").replace("-", "_"))
    return _TYPES.get(key) if key else None


def normalize_unit(mapping: Mapping, unit: str | None) -> str | None:
    """The input unit spelled as the catalog accepts it for this type, or None when it cannot be."""
    if unit is None or unit == "":
        return mapping.default_unit
    if type(unit) is not str:
        return None
    u = unit.strip()
    if u in mapping.units:
        return u
    alias = _UNIT_ALIASES.get(u) or _UNIT_ALIASES.get(u.lower())
    if alias and alias in mapping.units:
        return alias
    for accepted in mapping.units:  # a case-only difference
        if accepted.lower() == u.lower():
            return accepted
    return None


def number(item: dict, key: str) -> float | None:
    """item[key] as a float; None when absent or null; ValueError when not a finite number."""
    v = item.get(key)
    t = type(v)
    if t is float:
        if v - v != 0.0:  # nan or inf
            raise ValueError(f"{key} is not a finite number")
        return v
    if t is int:
        try:
            return float(v)
        except OverflowError:
            raise ValueError(f"{key} is not a finite number") from None
    if v is None:
        return None
    return _coerce(v, key)


def _coerce(v: object, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(f"{key} is not a number")
    try:
        f = float(v.replace(",", ".").strip() if isinstance(v, str) else v)
    except ValueError:
        raise ValueError(f"{key} {shown(v)} is not a number") from None
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"{key} is not a finite number")
    return f


def source_of(item: dict) -> str:
    s = item.get("source")
    if type(s) is str:
        return s
    return "" if s is None else str(s)


Handler = Callable[[dict, str], Record]

MEAL_CONTEXTS = {  # tracking.v1.MealContext
    "": 0, "unspecified": 0, "general": 1, "fasting": 2, "before meal": 3, "before_meal": 3,
    "beforemeal": 3, "preprandial": 3, "after meal": 4, "after_meal": 4, "aftermeal": 4, "postprandial": 4,
}


class RecordItems:
    """The items of a metric that become one record each (sleep, a metric with no mapping)."""

    def __init__(self, handler: Handler) -> None:
        self.add = handler

    def take(self) -> None:
        return None


def metric_items(name: str, units: object) -> SampleItems | RecordItems:
    """What reads the data items of metric `name` (its "units" as given): built once the name
    and units are known, then add(item, path) per item."""
    if name in SLEEP_NAMES:
        from .sleep import sleep_item_handler

        return RecordItems(sleep_item_handler(name))
    mapping = mapping_for(name)
    if mapping is None:
        return RecordItems(lambda item, path: Skipped(name, path, UNSUPPORTED_METRIC))
    unit = normalize_unit(mapping, units if isinstance(units, str) or units is None else None)
    if unit is None:
        return RecordItems(lambda item, path: Skipped(name, path, UNSUPPORTED_UNIT))
    return SampleItems(name, mapping, unit, units)


# The value keys of the series add_series takes whole; the first is the sample's value.
_SERIES_VALUES = {HEART_RATE: ("Avg", "Min", "Max"), QTY: ("qty",)}


# The usual points of a series, as add_block decodes a run of them: these keys and no other
# (a number may be written as an integer; "source" may be left out). Untracked by the garbage
# collector: they hold only strings and floats.
# A point may also say the interval it covers ("start" and "end", as a real export writes on every
# point): see SampleItems._when.
class _HeartRatePoint(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    date: str
    Avg: float
    Min: float
    Max: float
    source: str = ""
    start: str | None = None
    end: str | None = None


class _QuantityPoint(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    date: str
    qty: float
    source: str = ""
    start: str | None = None
    end: str | None = None


_BLOCKS = {HEART_RATE: msgspec.json.Decoder(list[_HeartRatePoint]), QTY: msgspec.json.Decoder(list[_QuantityPoint])}


def _series_times(dates: list, starts: list | None, ends: list | None) -> tuple | None:
    """(starts, offsets, ends or None) of a series' points as SampleItems._when reads them, when
    each is usual: a date of the long form, and both "start" and "end" of that form or neither,
    the date within them. None otherwise (then each goes through add(), which says what is wrong)."""
    n = len(dates)
    try:
        if (starts is None or starts.count(None) == n) and (ends is None or ends.count(None) == n):
            return (*parse_dates_us(dates), None)  # the usual series: points in time
        if starts is None or ends is None or None in starts or None in ends:
            return None
        begin, offsets = parse_dates_us(starts)
        finish, _ = parse_dates_us(ends)
        points, _ = parse_dates_us(dates)
    except DateError:
        return None
    if not all(s <= d <= e for s, d, e in zip(begin, points, finish)):
        return None
    return begin, offsets, None if finish == begin else finish


class SampleItems:
    """The items of one sample metric, read into columns (records.SampleRows) with no object per
    item: add(item, path) takes an item and returns None, or returns the Rejected or Skipped
    record of one it cannot take; take() hands over the rows read so far (None if there are none).

    Every row carries the item's own UTC offset (a date without one is rejected)."""

    def __init__(self, name: str, mapping: Mapping, unit: str, units: object) -> None:
        self.name = name
        self._mapping = mapping
        self._unit = unit  # the metric's unit, normalized
        self._units = units  # as the metric gave it
        self._rows = SampleRows(name, [])
        self.add = {HEART_RATE: self._heart_rate, BLOOD_PRESSURE: self._blood_pressure}.get(mapping.kind, self._qty)

    def take(self) -> SampleRows | None:
        rows = self._rows
        if not rows.start_us:
            return None
        self._rows = SampleRows(self.name, [])
        return rows

    def add_series(self, keys: tuple[str, ...], values: list[tuple], prefix: str, first: int) -> bool:
        """Takes, in columns, items that all have these keys (values: one tuple per item, in
        their order) when every one is a usual point of a heart-rate or quantity series: a
        "date", float values, a string source, nothing else. Otherwise takes none and returns
        False, and each item goes through add() (which says what is wrong with which)."""
        kind = self._mapping.kind
        wanted = _SERIES_VALUES.get(kind)
        if wanted is None or "date" not in keys or not {*wanted} <= {*keys} <= {"date", "source", "start", "end",
                                                                                 *wanted}:
            return False
        columns = dict(zip(keys, zip(*values)))
        if not all(type(x) is float for name in wanted for x in columns[name]):
            return False
        sources = columns.get("source")
        if sources is not None and not all(type(x) is str for x in sources):
            return False
        when = _series_times(columns["date"], columns.get("start"), columns.get("end"))
        if when is None:
            return False
        self._append_series(prefix, first, sources or [""] * len(values), *when, *(columns[k] for k in wanted))
        return True

    def add_block(self, array: str, prefix: str, first: int) -> int:
        """Takes, in columns, the items of `array` (JSON text of an array of items) when every one
        is a usual point of a heart-rate or quantity series, with a date of the usual form:
        decoded in one step, with no object per item, the rows exactly those add() would make.
        Returns how many it took: all of them, or none (then each goes through add())."""
        kind = self._mapping.kind
        decoder = _BLOCKS.get(kind)
        if decoder is None:
            return 0
        try:
            points = decoder.decode(array)
        except msgspec.MsgspecError:  # anything unusual (a number out of range too): add() says what
            return 0
        when = _series_times([p.date for p in points], [p.start for p in points], [p.end for p in points])
        if when is None:
            return 0
        if kind == HEART_RATE:
            values = ([p.Avg for p in points], [p.Min for p in points], [p.Max for p in points])
        else:
            values = ([p.qty for p in points],)
        self._append_series(prefix, first, [p.source for p in points], *when, *values)
        return len(points)

    def _append_series(self, prefix: str, first: int, sources: list[str], starts: list[int], offsets: list[int],
                       ends: list[int] | None, values: list[float], mins: list[float] | None = None,
                       maxs: list[float] | None = None) -> None:
        """Appends the rows of a series column by column, items `first` on of the array whose paths
        start with `prefix`: points in time (`ends` None) or intervals; a heart rate's with its Min
        and Max."""
        n = len(sources)
        rows = self._rows
        if ends is not None or rows.end_us:
            if not rows.end_us:
                rows.end_us.extend(rows.start_us)  # the rows before were points in time
            rows.end_us += starts if ends is None else ends
        rows.paths.add_run(prefix, first, n)
        rows.type += [self._mapping.type] * n
        rows.unit += [self._unit] * n
        rows.source += sources
        rows.start_us += starts
        rows.offset += offsets
        rows.value += values
        if mins is not None:
            rows.min += mins
            rows.max += maxs

    def _when(self, item: dict, path: str) -> tuple[int, int | None, int] | Rejected:
        """(start, end or None, offset) of an item: its interval from "start" (or "startDate") and
        "end" (or "endDate") where it gives them, else the point "date"; the offset is the start's.
        A date given besides must lie within the interval (a point's start and end are the same)."""
        dates = {}
        for keys in (("date",), ("start", "startDate"), ("end", "endDate")):
            key = next((k for k in keys if item.get(k) is not None), None)
            if key is None:
                continue
            try:
                dates[keys[0]] = (key, *parse_date_us(item[key]))
            except DateError as e:
                return Rejected(self.name, f"{path}.{key}", INVALID_DATE, str(e))
        first = dates.get("start") or dates.get("date")
        if first is None:
            return Rejected(self.name, path + ".date", INVALID_DATE, "neither date nor start is given")
        start, offset = first[1], first[2]
        last = dates.get("end")
        end = start if last is None else last[1]
        if end < start:
            return Rejected(self.name, f"{path}.{last[0]}", INVALID_DATE, f"{last[0]} is before {first[0]}")
        date = dates.get("date")
        if date is not None and date is not first and not start <= date[1] <= end:
            said = f"lies outside {first[0]} to {last[0]}" if last else f"differs from {first[0]}"
            return Rejected(self.name, path + ".date", INVALID_DATE, f"date {said}")
        return start, None if last is None else end, offset

    def _row(self, item: dict, path: str, when: tuple[int, int | None, int], value: float) -> Skipped | None:
        """Appends a row's always-present columns (and its end), in the item's own unit and with
        its source; the caller adds its kind's columns. Skipped (nothing appended) when the
        item's unit is one this metric's type cannot take."""
        u = item.get("units")
        unit = self._unit if u is None or u == self._units else normalize_unit(self._mapping, u)
        if unit is None:
            return Skipped(self.name, path, UNSUPPORTED_UNIT)
        start, end, offset = when
        rows = self._rows
        ends = rows.end_us
        if end is not None and end != start and not ends:
            ends.extend(rows.start_us)  # the rows before were points in time
            ends.append(end)  # (also when this is the first row: an empty column is no end)
        elif ends:
            ends.append(start if end is None else end)
        rows.paths.append(path)
        rows.type.append(self._mapping.type)
        rows.unit.append(unit)
        rows.source.append(source_of(item))
        rows.start_us.append(start)
        rows.offset.append(offset)
        rows.value.append(value)
        return None

    def _start(self, item: object, path: str) -> tuple[int, int | None, int] | Rejected:
        if type(item) is not dict:
            return Rejected(self.name, path, INVALID_ITEM, "a data item must be an object")
        d = item.get("date")
        if type(d) is str and "end" not in item and "start" not in item and "endDate" not in item:  # a point in time
            try:
                start, offset = parse_date_us(d)
            except DateError as e:
                return Rejected(self.name, path + ".date", INVALID_DATE, str(e))
            return start, None, offset
        return self._when(item, path)

    def _heart_rate(self, item: dict, path: str) -> Record | None:  # {"date", "Min", "Avg", "Max"} (or "qty")
        when = self._start(item, path)
        if type(when) is not tuple:
            return when
        g = item.get
        avg, lo, hi = g("Avg"), g("Min"), g("Max")
        if type(avg) is not float or type(lo) is not float or type(hi) is not float or avg - avg or lo - lo or hi - hi:
            # (x - x is 0.0 for a finite float: 1e400 reads as inf)
            try:
                avg = number(item, "Avg")
                if avg is None:
                    avg = number(item, "qty")
                lo = number(item, "Min")
                hi = number(item, "Max")
            except ValueError as e:
                return Rejected(self.name, path, INVALID_VALUE, str(e))
            if avg is None:
                return Rejected(self.name, path + ".Avg", MISSING_VALUE, "neither Avg nor qty is given")
        skipped = self._row(item, path, when, avg)
        if skipped is not None:
            return skipped
        self._rows.min.append(NAN if lo is None else lo)
        self._rows.max.append(NAN if hi is None else hi)
        return None

    def _blood_pressure(self, item: dict, path: str) -> Record | None:  # {"date", "systolic", "diastolic"}
        when = self._start(item, path)
        if type(when) is not tuple:
            return when
        try:
            sys_ = number(item, "systolic")
            dia = number(item, "diastolic")
        except ValueError as e:
            return Rejected(self.name, path, INVALID_VALUE, str(e))
        if sys_ is None:
            return Rejected(self.name, path + ".systolic", MISSING_VALUE, "systolic is missing")
        if dia is None:
            return Rejected(self.name, path + ".diastolic", MISSING_VALUE, "diastolic is missing")
        skipped = self._row(item, path, when, sys_)
        if skipped is not None:
            return skipped
        self._rows.value2.append(dia)
        return None

    def _qty(self, item: dict, path: str) -> Record | None:  # {"date", "qty"} (blood glucose: and "mealTime")
        when = self._start(item, path)
        if type(when) is not tuple:
            return when
        g = item.get
        v = g("qty")
        if type(v) is not float or v - v:  # (not 0.0: infinite)
            try:
                v = number(item, "qty")
            except ValueError as e:
                return Rejected(self.name, path + ".qty", INVALID_VALUE, str(e))
            if v is None:
                return Rejected(self.name, path + ".qty", MISSING_VALUE, "qty is missing")
        skipped = self._row(item, path, when, v)
        if skipped is not None:
            return skipped
        if self._mapping.kind == BLOOD_GLUCOSE:
            mt = g("mealTime")
            self._rows.meal_context.append(0 if mt is None else MEAL_CONTEXTS.get(str(mt).strip().lower(), 0))
        return None


def mapping_table() -> dict[str, str]:
    """HAE metric name -> Tracking type key (for documentation and tests); sleep -> "sleep"."""
    return {**dict(_NAMES), **{n: "sleep" for n in SLEEP_NAMES}}


def all_mappings() -> dict[str, Mapping]:
    return dict(_TYPES)
