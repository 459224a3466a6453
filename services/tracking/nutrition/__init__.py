"""Nutrition entries: what the user ate or drank, mirrored into dietary samples, and daily totals."""
