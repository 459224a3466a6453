"""The sample type catalog: canonical UCUM unit, LOINC code, valid range, aggregation, and the
input units each type accepts with their conversion to the canonical unit.

LOINC codes are given only where the mapping is unambiguous; an empty code means none is claimed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUM = "SUM"
SAMPLE = "SAMPLE"


@dataclass(frozen=True)
class Unit:
    """canonical = value * factor + offset."""

    factor: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class SampleType:
    key: str
    display_name: str
    unit: str
    loinc: str
    aggregation: str
    min_value: float
    max_value: float
    description: str
    units: dict[str, Unit] = field(default_factory=dict)  # accepted input units, canonical included
    value2_meaning: str = ""
    fraction_percent: bool = False  # a value <= 1 in "%" is HealthKit's fraction (0.97 = 97 %)

    def convert(self, value: float, unit: str) -> float | None:
        """The value in the canonical unit, or None when the unit is not accepted."""
        conversion = self.units.get(unit.strip())
        if conversion is None:
            return None
        if self.fraction_percent and unit in ("%", "") and abs(value) <= 1.0:
            return value * 100.0
        return value * conversion.factor + conversion.offset


ONE = Unit()
PER_MIN = {"/min": ONE, "count/min": ONE, "bpm": ONE, "beats/min": ONE, "1/min": ONE, "{beats}/min": ONE}
COUNT = {"{count}": ONE, "count": ONE, "steps": ONE, "{steps}": ONE}
METERS = {"m": ONE, "km": Unit(1000), "mi": Unit(1609.344), "ft": Unit(0.3048), "yd": Unit(0.9144),
          "cm": Unit(0.01), "in": Unit(0.0254)}
KCAL = {"kcal": ONE, "Cal": ONE, "cal": Unit(0.001), "kJ": Unit(1 / 4.184), "kj": Unit(1 / 4.184),
        "J": Unit(1 / 4184)}
MINUTES = {"min": ONE, "h": Unit(60), "hr": Unit(60), "s": Unit(1 / 60)}
KG = {"kg": ONE, "lb": Unit(0.45359237), "lbs": Unit(0.45359237), "g": Unit(0.001), "st": Unit(6.35029318),
      "oz": Unit(0.028349523125)}
GRAMS = {"g": ONE, "mg": Unit(0.001), "kg": Unit(1000), "oz": Unit(28.349523125)}
MILLIGRAMS = {"mg": ONE, "g": Unit(1000), "ug": Unit(0.001), "mcg": Unit(0.001)}
MILLILITERS = {"mL": ONE, "ml": ONE, "L": Unit(1000), "l": Unit(1000), "fl_oz_us": Unit(29.5735295625),
               "fl oz": Unit(29.5735295625), "fl_oz_imp": Unit(28.4130625), "cup_us": Unit(236.5882365)}
PERCENT = {"%": ONE, "": ONE}
CELSIUS = {"Cel": ONE, "degC": ONE, "°C": ONE, "C": ONE, "degF": Unit(5 / 9, -32 * 5 / 9),
           "°F": Unit(5 / 9, -32 * 5 / 9), "F": Unit(5 / 9, -32 * 5 / 9)}
# HealthKit writes glucose in mmol/L with the molar mass in the unit: mmol<180.1558800000541>/L.
GLUCOSE = {"mg/dL": ONE, "mg/dl": ONE, "mmol/L": Unit(18.01558800000541), "mmol/l": Unit(18.01558800000541),
           "mmol<180.1558800000541>/L": Unit(18.01558800000541)}
MMHG = {"mm[Hg]": ONE, "mmHg": ONE, "mmhg": ONE}


def _t(key, name, unit, units, loinc, aggregation, lo, hi, description, **extra) -> SampleType:
    return SampleType(key, name, unit, loinc, aggregation, lo, hi, description, {unit: ONE, **units}, **extra)


CATALOG: dict[str, SampleType] = {t.key: t for t in [
    _t("heart_rate", "Heart rate", "/min", PER_MIN, "8867-4", SAMPLE, 20, 300, "Beats per minute."),
    _t("resting_heart_rate", "Resting heart rate", "/min", PER_MIN, "40443-4", SAMPLE, 20, 250,
       "Heart rate at rest, as the source estimates it for a day."),
    _t("walking_heart_rate", "Walking heart rate average", "/min", PER_MIN, "", SAMPLE, 20, 300,
       "Average heart rate while walking."),
    _t("hrv", "Heart rate variability (SDNN)", "ms", {"ms": ONE, "s": Unit(1000)}, "80404-7", SAMPLE, 0, 1000,
       "Standard deviation of beat-to-beat intervals."),
    _t("step_count", "Steps", "{count}", COUNT, "55423-8", SUM, 0, 200_000, "Steps taken over the interval."),
    _t("distance", "Walking and running distance", "m", METERS, "", SUM, 0, 1_000_000, "Distance covered."),
    _t("active_energy", "Active energy", "kcal", KCAL, "41981-2", SUM, 0, 20_000, "Energy burned by activity."),
    _t("basal_energy", "Resting energy", "kcal", KCAL, "", SUM, 0, 20_000, "Energy burned at rest."),
    _t("flights_climbed", "Flights climbed", "{count}", COUNT, "", SUM, 0, 10_000, "Floors climbed."),
    _t("exercise_minutes", "Exercise minutes", "min", MINUTES, "", SUM, 0, 1440, "Minutes of brisk activity."),
    _t("stand_hours", "Stand hours", "h", {**MINUTES, "h": ONE, "hr": ONE, "min": Unit(1 / 60), "count": ONE},
       "", SUM, 0, 24, "Hours with at least a minute of standing."),
    _t("blood_pressure", "Blood pressure", "mm[Hg]", MMHG, "85354-9", SAMPLE, 30, 300,
       "Systolic pressure in value, diastolic in value2.", value2_meaning="diastolic"),
    _t("blood_glucose", "Blood glucose", "mg/dL", GLUCOSE, "2339-0", SAMPLE, 10, 1000,
       "Glucose concentration in blood, with its meal context."),
    _t("spo2", "Blood oxygen saturation", "%", PERCENT, "59408-5", SAMPLE, 50, 100,
       "Oxygen saturation by pulse oximetry.", fraction_percent=True),
    _t("respiratory_rate", "Respiratory rate", "/min", PER_MIN | {"count/min": ONE}, "9279-1", SAMPLE, 2, 80,
       "Breaths per minute."),
    _t("body_temperature", "Body temperature", "Cel", CELSIUS, "8310-5", SAMPLE, 25, 45, "Core body temperature."),
    _t("wrist_temperature", "Wrist temperature", "Cel", CELSIUS, "", SAMPLE, -5, 45,
       "Skin temperature at the wrist during sleep (absolute or deviation, as the source sends it)."),
    _t("weight", "Weight", "kg", KG, "29463-7", SAMPLE, 0.5, 700, "Body weight."),
    _t("bmi", "Body mass index", "kg/m2", {"count": ONE, "kg/m^2": ONE, "kg/m²": ONE}, "39156-5", SAMPLE, 5, 150,
       "Body mass index."),
    _t("body_fat", "Body fat percentage", "%", PERCENT, "41982-0", SAMPLE, 1, 80, "Share of body mass that is fat.",
       fraction_percent=True),
    _t("lean_mass", "Lean body mass", "kg", KG, "", SAMPLE, 1, 300, "Body mass without fat."),
    _t("height", "Height", "m", METERS, "8302-2", SAMPLE, 0.2, 2.8, "Body height."),
    _t("vo2_max", "VO2 max", "mL/(kg.min)", {"ml/(kg*min)": ONE, "ml/(kg·min)": ONE, "mL/min·kg": ONE,
                                             "ml/kg/min": ONE, "mL/(kg*min)": ONE, "ml/(kg.min)": ONE},
       "", SAMPLE, 5, 100, "Maximal oxygen uptake."),
    _t("water", "Water", "mL", MILLILITERS, "", SUM, 0, 20_000, "Water drunk."),
    _t("dietary_energy", "Dietary energy", "kcal", KCAL, "9052-2", SUM, 0, 30_000, "Energy eaten."),
    _t("protein", "Protein", "g", GRAMS, "", SUM, 0, 2000, "Protein eaten."),
    _t("carbs", "Carbohydrates", "g", GRAMS, "", SUM, 0, 5000, "Carbohydrates eaten."),
    _t("fat", "Fat", "g", GRAMS, "", SUM, 0, 2000, "Fat eaten."),
    _t("fiber", "Fiber", "g", GRAMS, "", SUM, 0, 500, "Dietary fiber eaten."),
    _t("sugar", "Sugar", "g", GRAMS, "", SUM, 0, 2000, "Sugar eaten."),
    _t("caffeine", "Caffeine", "mg", MILLIGRAMS, "", SUM, 0, 5000, "Caffeine taken."),
    _t("mindful_minutes", "Mindful minutes", "min", MINUTES, "", SUM, 0, 1440, "Minutes of mindfulness practice."),
]}


def aggregation_of(sample_type: str) -> str:
    """SUM or SAMPLE for a catalog key; KeyError for an unknown one."""
    return CATALOG[sample_type].aggregation
