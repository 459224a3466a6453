"""Numbers and units as the sentences of recommendations, anomalies and correlations show them."""

from __future__ import annotations

UNIT_WORDS = {"{count}": "", "/min": "bpm", "kcal": "kcal", "mL": "ml", "g": "g", "kg": "kg", "h": "h", "ms": "ms",
              "m": "m", "min": "min", "%": "%", "Cel": "°C", "mg/dL": "mg/dL", "mm[Hg]": "mmHg", "kg/m2": "kg/m²"}


def number(value: float) -> str:
    """4218 -> "4,218"; 6.24 -> "6.2"; 0.034 -> "0.034": as many digits as a person reads."""
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1 or size == 0:
        return f"{value:,.1f}".removesuffix(".0")
    return f"{value:.2g}"


def amount(value: float, unit: str) -> str:
    """A number with the unit people say: "4,218", "62 bpm", "1,850 ml"."""
    word = UNIT_WORDS.get(unit, unit)
    return f"{number(value)} {word}".rstrip()


def days(n: int, what: str = "day") -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"
