"""Tracking's declarative base; each part of Tracking declares its tables in its own tables.py."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.db import metadata_for


class Base(DeclarativeBase):
    metadata = metadata_for("tracking")
