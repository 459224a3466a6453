"""Insight's analytics: recommendations, trends, anomalies, correlations and summaries, computed
from Tracking's daily values and cached per user until their data changes."""
