"""Insight alert rules: when a rule fires, free of grpc and SQL."""
