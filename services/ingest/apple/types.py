"""How Apple Health's export.xml maps onto Tracking: HealthKit type identifiers to Tracking's
sample type keys (services/tracking/samples/catalog.py), sleep values to stage names, workout
activity types to Tracking's workout type keys, and the few HealthKit unit spellings that Tracking
does not accept as they are.

Values keep the unit the export gives (Tracking converts lb to kg, a "%" fraction to percent,
mmol<180.1558800000541>/L to mg/dL and so on, and keeps the original). Anything not listed here
is skipped with a reason, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

# Skipped reasons (records.Skipped.reason).
UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"  # no Tracking type (yet) for this HealthKit type or element
UNSUPPORTED_VALUE = "UNSUPPORTED_VALUE"  # a known category type with a value we do not know
PART_OF_CORRELATION = "PART_OF_CORRELATION"  # stored through its Correlation (blood pressure)
DERIVED_SUMMARY = "DERIVED_SUMMARY"  # a daily summary the export's own Records already hold

# Rejected reasons (records.Rejected.reason).
MISSING_TYPE = "MISSING_TYPE"
INVALID_DATE = "INVALID_DATE"
INVALID_VALUE = "INVALID_VALUE"
MISSING_VALUE = "MISSING_VALUE"
INCONSISTENT_UNITS = "INCONSISTENT_UNITS"

# PayloadError reasons.
INVALID_XML = "INVALID_XML"
TRUNCATED = "TRUNCATED"
EMPTY = "EMPTY"
NOT_AN_EXPORT = "NOT_AN_EXPORT"
FORBIDDEN_ENTITY = "FORBIDDEN_ENTITY"
INVALID_ZIP = "INVALID_ZIP"
NO_EXPORT_XML = "NO_EXPORT_XML"

Q = "HKQuantityTypeIdentifier"
C = "HKCategoryTypeIdentifier"


@dataclass(frozen=True)
class QuantityType:
    key: str  # Tracking's sample type key
    hk_units: tuple[str, ...]  # the unit spellings HealthKit writes for it (documentation and tests)


QUANTITY_TYPES: dict[str, QuantityType] = {
    Q + "HeartRate": QuantityType("heart_rate", ("count/min",)),
    Q + "RestingHeartRate": QuantityType("resting_heart_rate", ("count/min",)),
    Q + "WalkingHeartRateAverage": QuantityType("walking_heart_rate", ("count/min",)),
    Q + "HeartRateVariabilitySDNN": QuantityType("hrv", ("ms",)),
    Q + "StepCount": QuantityType("step_count", ("count",)),
    Q + "DistanceWalkingRunning": QuantityType("distance", ("km", "mi", "m", "ft", "yd")),
    Q + "ActiveEnergyBurned": QuantityType("active_energy", ("kcal", "Cal", "kJ")),
    Q + "BasalEnergyBurned": QuantityType("basal_energy", ("kcal", "Cal", "kJ")),
    Q + "FlightsClimbed": QuantityType("flights_climbed", ("count",)),
    Q + "AppleExerciseTime": QuantityType("exercise_minutes", ("min",)),
    Q + "OxygenSaturation": QuantityType("spo2", ("%",)),  # a fraction: 0.97 is 97 %
    Q + "RespiratoryRate": QuantityType("respiratory_rate", ("count/min",)),
    Q + "BodyTemperature": QuantityType("body_temperature", ("degC", "degF")),
    Q + "AppleSleepingWristTemperature": QuantityType("wrist_temperature", ("degC", "degF")),
    Q + "BodyMass": QuantityType("weight", ("lb", "kg", "st")),
    Q + "BodyMassIndex": QuantityType("bmi", ("count",)),
    Q + "BodyFatPercentage": QuantityType("body_fat", ("%",)),  # a fraction too
    Q + "LeanBodyMass": QuantityType("lean_mass", ("lb", "kg", "st")),
    Q + "Height": QuantityType("height", ("cm", "m", "ft", "in")),
    Q + "VO2Max": QuantityType("vo2_max", ("mL/min·kg",)),
    Q + "DietaryWater": QuantityType("water", ("mL", "L", "fl_oz_us", "fl_oz_imp", "cup_us")),
    Q + "DietaryEnergyConsumed": QuantityType("dietary_energy", ("kcal", "Cal", "kJ")),
    Q + "DietaryProtein": QuantityType("protein", ("g", "mg", "oz")),
    Q + "DietaryCarbohydrates": QuantityType("carbs", ("g", "mg", "oz")),
    Q + "DietaryFatTotal": QuantityType("fat", ("g", "mg", "oz")),
    Q + "DietaryFiber": QuantityType("fiber", ("g", "mg", "oz")),
    Q + "DietarySugar": QuantityType("sugar", ("g", "mg", "oz")),
    Q + "DietaryCaffeine": QuantityType("caffeine", ("mg", "g", "mcg")),
    Q + "BloodGlucose": QuantityType("blood_glucose", ("mg/dL", "mmol<180.1558800000541>/L")),
}

# HealthKit spelling -> the spelling Tracking's catalog accepts, only where they differ. The catalog
# already takes HealthKit's usual ones (count/min, degC, mL, mL/min·kg, mmol<180.15588...>/L), so
# this only catches rarer renderings of the same units.
UNIT_ALIASES: dict[str, str] = {
    "µg": "mcg",  # micro sign
    "μg": "mcg",  # Greek mu
    "mL/(kg·min)": "ml/(kg·min)",
    "ml/min·kg": "mL/min·kg",
    "ºC": "°C",
    "ºF": "°F",
}

GLUCOSE = Q + "BloodGlucose"
# HKMetadataKeyBloodGlucoseMealTime's key string is "HKBloodGlucoseMealTime"; both seen in the wild.
MEAL_TIME_KEYS = ("HKBloodGlucoseMealTime", "HKMetadataKeyBloodGlucoseMealTime")
# HKBloodGlucoseMealTime 1 = preprandial, 2 = postprandial -> tracking.v1.MealContext
MEAL_CONTEXT = {"1": 3, "2": 4}  # BEFORE_MEAL, AFTER_MEAL

# Blood pressure: one Correlation of a systolic and a diastolic Record -> one blood_pressure sample.
BLOOD_PRESSURE = "HKCorrelationTypeIdentifierBloodPressure"
SYSTOLIC = Q + "BloodPressureSystolic"
DIASTOLIC = Q + "BloodPressureDiastolic"
BLOOD_PRESSURE_KEY = "blood_pressure"

# A real export lists the two halves of every blood pressure Correlation again as top-level Records;
# they are stored once, through the Correlation.
SKIPPED_RECORD_TYPES: dict[str, str] = {
    SYSTOLIC: PART_OF_CORRELATION,
    DIASTOLIC: PART_OF_CORRELATION,
    # Minutes standing per interval: not the catalog's stand_hours (hours with any standing), which
    # comes from the AppleStandHour category; storing both would count standing twice.
    Q + "AppleStandTime": UNSUPPORTED_TYPE,
}

SLEEP = C + "SleepAnalysis"
SLEEP_STAGES = {  # HKCategoryValueSleepAnalysis* -> tracking.v1.SleepStage name
    "HKCategoryValueSleepAnalysisInBed": "IN_BED",
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "ASLEEP",
    "HKCategoryValueSleepAnalysisAsleep": "ASLEEP",  # before iOS 16
    "HKCategoryValueSleepAnalysisAsleepCore": "CORE",
    "HKCategoryValueSleepAnalysisAsleepDeep": "DEEP",
    "HKCategoryValueSleepAnalysisAsleepREM": "REM",
    "HKCategoryValueSleepAnalysisAwake": "AWAKE",
}

MINDFUL = C + "MindfulSession"  # -> mindful_minutes, the session's length in min
MINDFUL_KEY = "mindful_minutes"

STAND_HOUR = C + "AppleStandHour"  # -> stand_hours, 1 for an hour stood, 0 for an idle one
STAND_HOUR_KEY = "stand_hours"
STAND_HOUR_VALUES = {"HKCategoryValueAppleStandHourStood": 1.0, "HKCategoryValueAppleStandHourIdle": 0.0}

ACTIVITY_SUMMARY = "ActivitySummary"
WORKOUT = "Workout"
ME = "Me"

SEX = {"HKBiologicalSexFemale": "FEMALE", "HKBiologicalSexMale": "MALE", "HKBiologicalSexOther": "OTHER",
       "HKBiologicalSexNotSet": ""}

# Workouts. Statistics and totals are converted to the canonical units of records.WorkoutRecord.
METERS = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "yd": 0.9144, "cm": 0.01, "in": 0.0254}
KCAL = {"kcal": 1.0, "Cal": 1.0, "cal": 0.001, "kJ": 1 / 4.184, "J": 1 / 4184}
SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "ms": 0.001}
DISTANCE_STATISTICS = frozenset({
    Q + "DistanceWalkingRunning", Q + "DistanceCycling", Q + "DistanceSwimming", Q + "DistanceWheelchair",
    Q + "DistanceDownhillSnowSports", Q + "DistanceCrossCountrySkiing", Q + "DistancePaddleSports",
    Q + "DistanceRowing", Q + "DistanceSkatingSports",
})
ACTIVE_ENERGY_STATISTIC = Q + "ActiveEnergyBurned"
STEPS_STATISTIC = Q + "StepCount"
HEART_RATE_STATISTIC = Q + "HeartRate"

ACTIVITY_TYPE_PREFIX = "HKWorkoutActivityType"
WORKOUT_TYPES: dict[str, str] = {  # HKWorkoutActivityType* suffix -> Tracking's workout type key
    "AmericanFootball": "american_football", "Archery": "archery", "AustralianFootball": "other",
    "Badminton": "badminton", "Barre": "barre", "Baseball": "baseball", "Basketball": "basketball",
    "Bowling": "bowling", "Boxing": "boxing", "CardioDance": "dance", "Climbing": "climbing",
    "Cooldown": "cooldown", "CoreTraining": "core_training", "Cricket": "cricket",
    "CrossCountrySkiing": "cross_country_skiing", "CrossTraining": "cross_training", "Curling": "curling",
    "Cycling": "cycling", "Dance": "dance", "DanceInspiredTraining": "dance", "DiscSports": "other",
    "DownhillSkiing": "downhill_skiing", "Elliptical": "elliptical", "EquestrianSports": "other",
    "Fencing": "fencing", "Fishing": "fishing", "FitnessGaming": "fitness_gaming", "Flexibility": "flexibility",
    "FunctionalStrengthTraining": "functional_training", "Golf": "golf", "Gymnastics": "gymnastics",
    "HandCycling": "cycling", "Handball": "handball", "HighIntensityIntervalTraining": "hiit",
    "Hiking": "hiking", "Hockey": "hockey", "Hunting": "hunting", "JumpRope": "jump_rope",
    "Kickboxing": "kickboxing", "Lacrosse": "lacrosse", "MartialArts": "martial_arts",
    "MindAndBody": "mind_and_body", "MixedCardio": "mixed_cardio", "MixedMetabolicCardioTraining": "mixed_cardio",
    "Other": "other", "PaddleSports": "paddling", "Pickleball": "pickleball", "Pilates": "pilates",
    "Play": "play", "PreparationAndRecovery": "flexibility", "Racquetball": "racquetball", "Rowing": "rowing",
    "Rugby": "rugby", "Running": "running", "Sailing": "sailing", "SkatingSports": "skating",
    "SnowSports": "other", "Snowboarding": "snowboarding", "Soccer": "soccer", "SocialDance": "dance",
    "Softball": "softball", "Squash": "squash", "StairClimbing": "stair_climbing", "Stairs": "stairs",
    "StepTraining": "step_training", "SurfingSports": "surfing", "SwimBikeRun": "other", "Swimming": "swimming",
    "TableTennis": "table_tennis", "TaiChi": "tai_chi", "Tennis": "tennis", "TrackAndField": "track_and_field",
    "TraditionalStrengthTraining": "strength_training", "Transition": "other", "UnderwaterDiving": "water_sports",
    "Volleyball": "volleyball", "Walking": "walking", "WaterFitness": "water_fitness", "WaterPolo": "water_polo",
    "WaterSports": "water_sports", "WheelchairRunPace": "wheelchair", "WheelchairWalkPace": "wheelchair",
    "Wrestling": "wrestling", "Yoga": "yoga",
}
