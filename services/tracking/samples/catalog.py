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
SPEED = {"m/s": ONE, "km/hr": Unit(1 / 3.6), "km/h": Unit(1 / 3.6), "mi/hr": Unit(0.44704), "mi/h": Unit(0.44704),
         "mph": Unit(0.44704), "ft/s": Unit(0.3048), "m/min": Unit(1 / 60)}
CENTIMETERS = {"cm": ONE, "m": Unit(100), "mm": Unit(0.1), "in": Unit(2.54), "ft": Unit(30.48)}
WATTS = {"W": ONE, "w": ONE, "kW": Unit(1000), "watts": ONE}
MILLISECONDS = {"ms": ONE, "s": Unit(1000)}
LITERS = {"L": ONE, "l": ONE, "mL": Unit(0.001), "ml": Unit(0.001)}
LITERS_PER_MIN = {"L/min": ONE, "l/min": ONE, "L/s": Unit(60), "l/s": Unit(60), "mL/min": Unit(0.001)}
# HealthKit's dBASPL (A-weighted); UCUM has no weighting, so dB[SPL] it is.
DECIBELS = {"dBASPL": ONE, "dB": ONE, "dBA": ONE, "dB(A)": ONE, "dB SPL": ONE}
PER_HOUR = {"count/hr": ONE, "count/h": ONE, "count": ONE, "events/hr": ONE, "{events}/h": ONE}
# HealthKit's physical effort, kcal/(hr·kg): one MET is 1 kcal/(kg·h).
EFFORT = {"kcal/hr·kg": ONE, "kcal/(hr·kg)": ONE, "kcal/(kg·hr)": ONE, "kcal/kg/hr": ONE, "kcal/(kg*h)": ONE,
          "MET": ONE, "METs": ONE}


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
    # Activity
    _t("move_minutes", "Move minutes", "min", MINUTES, "", SUM, 0, 1440,
       "Minutes of movement, where the Move ring counts minutes rather than energy."),
    _t("stand_minutes", "Stand minutes", "min", MINUTES, "", SUM, 0, 1440, "Minutes spent standing."),
    _t("cycling_distance", "Cycling distance", "m", METERS, "", SUM, 0, 1_000_000, "Distance cycled."),
    _t("swimming_distance", "Swimming distance", "m", METERS, "", SUM, 0, 100_000, "Distance swum."),
    _t("wheelchair_distance", "Wheelchair distance", "m", METERS, "", SUM, 0, 1_000_000,
       "Distance covered in a wheelchair."),
    _t("snow_sports_distance", "Downhill snow sports distance", "m", METERS, "", SUM, 0, 1_000_000,
       "Distance covered skiing or snowboarding downhill."),
    _t("wheelchair_pushes", "Wheelchair pushes", "{count}", COUNT, "", SUM, 0, 200_000, "Pushes of a wheelchair."),
    _t("swim_strokes", "Swimming strokes", "{count}", COUNT, "", SUM, 0, 200_000, "Strokes swum."),
    _t("physical_effort", "Physical effort", "kcal/(kg.h)", EFFORT, "", SAMPLE, 0, 30,
       "Effort as energy per body mass and hour (1 MET = 1 kcal/(kg.h))."),
    _t("cycling_cadence", "Cycling cadence", "/min", {**PER_MIN, "rpm": ONE}, "", SAMPLE, 0, 300,
       "Pedal revolutions per minute."),
    _t("cycling_ftp", "Cycling functional threshold power", "W", WATTS, "", SAMPLE, 0, 3000,
       "The power a rider can hold for an hour, as the source estimates it."),
    _t("cycling_power", "Cycling power", "W", WATTS, "", SAMPLE, 0, 3000, "Power output while cycling."),
    _t("cycling_speed", "Cycling speed", "m/s", SPEED, "", SAMPLE, 0, 40, "Speed while cycling."),
    _t("running_power", "Running power", "W", WATTS, "", SAMPLE, 0, 3000, "Power output while running."),
    _t("running_speed", "Running speed", "m/s", SPEED, "", SAMPLE, 0, 15, "Speed while running."),
    _t("running_ground_contact_time", "Running ground contact time", "ms", MILLISECONDS, "", SAMPLE, 0, 2000,
       "Time a foot is on the ground in each running stride."),
    _t("running_stride_length", "Running stride length", "m", METERS, "", SAMPLE, 0, 5, "Length of a running stride."),
    _t("running_vertical_oscillation", "Running vertical oscillation", "cm", CENTIMETERS, "", SAMPLE, 0, 50,
       "How far the body bounces up and down with each running stride."),
    # Body and heart
    _t("waist_circumference", "Waist circumference", "cm", CENTIMETERS, "8280-0", SAMPLE, 20, 300,
       "Circumference of the waist."),
    _t("heart_rate_recovery", "Heart rate recovery (1 minute)", "/min", PER_MIN, "", SAMPLE, 0, 200,
       "How far the heart rate falls in the minute after exercise ends."),
    _t("afib_burden", "Atrial fibrillation burden", "%", PERCENT, "", SAMPLE, 0, 100,
       "Share of time in atrial fibrillation over a week, as the source estimates it (small values are real, "
       "so a value <= 1 is a percentage, not a fraction)."),
    _t("basal_body_temperature", "Basal body temperature", "Cel", CELSIUS, "", SAMPLE, 30, 45,
       "Body temperature at rest, on waking."),
    _t("perfusion_index", "Peripheral perfusion index", "%", PERCENT, "", SAMPLE, 0, 100,
       "Pulsatile to non-pulsatile blood flow at the sensor (small values are real: a value <= 1 is a percentage)."),
    _t("blood_alcohol", "Blood alcohol content", "%", PERCENT, "", SAMPLE, 0, 1,
       "Alcohol in the blood, as a percentage (0.08 %)."),
    # Mobility
    _t("walking_speed", "Walking speed", "m/s", SPEED, "", SAMPLE, 0, 5, "Speed while walking on flat ground."),
    _t("walking_step_length", "Walking step length", "cm", CENTIMETERS, "", SAMPLE, 0, 300,
       "Length of a step while walking."),
    _t("walking_asymmetry", "Walking asymmetry", "%", PERCENT, "", SAMPLE, 0, 100,
       "Share of steps whose speed differs between the feet (small values are real: a value <= 1 is a percentage)."),
    _t("walking_double_support", "Walking double support time", "%", PERCENT, "", SAMPLE, 0, 100,
       "Share of walking time with both feet on the ground.", fraction_percent=True),
    _t("six_minute_walk_distance", "Six-minute walk distance", "m", METERS, "", SAMPLE, 0, 2000,
       "Distance the source estimates could be walked in six minutes."),
    _t("stair_ascent_speed", "Stair ascent speed", "m/s", SPEED, "", SAMPLE, 0, 5, "Vertical speed climbing stairs."),
    _t("stair_descent_speed", "Stair descent speed", "m/s", SPEED, "", SAMPLE, 0, 5,
       "Vertical speed going down stairs."),
    # Respiratory
    _t("fev1", "Forced expiratory volume in 1 second", "L", LITERS, "20150-9", SAMPLE, 0, 10,
       "Air breathed out in the first second of a forced breath (spirometry)."),
    _t("fvc", "Forced vital capacity", "L", LITERS, "19868-9", SAMPLE, 0, 12,
       "Air breathed out in a whole forced breath (spirometry)."),
    _t("peak_expiratory_flow", "Peak expiratory flow", "L/min", LITERS_PER_MIN, "19935-6", SAMPLE, 0, 1200,
       "Fastest flow of a forced breath out (peak flow meter)."),
    _t("inhaler_uses", "Inhaler uses", "{count}", COUNT, "", SUM, 0, 1000, "Puffs of an inhaler."),
    # Sleep, surroundings, habits
    _t("breathing_disturbances", "Breathing disturbances", "/h", PER_HOUR, "", SAMPLE, 0, 200,
       "Breathing disturbances per hour of sleep."),
    _t("time_in_daylight", "Time in daylight", "min", MINUTES, "", SUM, 0, 1440, "Minutes spent in daylight."),
    _t("environmental_audio_exposure", "Environmental sound level", "dB[SPL]", DECIBELS, "", SAMPLE, 0, 200,
       "Sound level of the surroundings (A-weighted)."),
    _t("headphone_audio_exposure", "Headphone sound level", "dB[SPL]", DECIBELS, "", SAMPLE, 0, 200,
       "Sound level of headphone audio (A-weighted)."),
    _t("falls", "Falls", "{count}", COUNT, "", SUM, 0, 1000, "Falls detected or recorded."),
    _t("alcoholic_beverages", "Alcoholic drinks", "{count}", COUNT, "", SUM, 0, 200, "Standard alcoholic drinks."),
]}


def aggregation_of(sample_type: str) -> str:
    """SUM or SAMPLE for a catalog key; KeyError for an unknown one."""
    return CATALOG[sample_type].aggregation
