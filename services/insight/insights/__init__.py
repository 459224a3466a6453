"""Insights: the findings of the analyses kept for the user to read (ListInsights, MarkInsightRead)."""
