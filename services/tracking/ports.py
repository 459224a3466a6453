"""What the parts of Tracking need from each other and from outside, as small interfaces.

Activities, sleep, nutrition and goals read samples through SampleReader (never the samples'
tables), and anything that needs a user's profile asks Profiles (Auth, behind the scenes).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Protocol

from services.tracking.samples.domain import Bucket, Interval, Sample


@dataclass(frozen=True)
class Profile:
    birth_date: dt.date | None
    sex: str  # "FEMALE", "MALE", "OTHER" or "" when not given
    time_zone: str  # IANA name, "" for UTC


class Profiles(Protocol):
    async def profile(self, user_id: uuid.UUID) -> Profile: ...


class SampleReader(Protocol):
    async def aggregate(self, user_id: uuid.UUID, type: str, interval: Interval, start: dt.datetime,
                        end: dt.datetime, source: str = "") -> list[Bucket]:
        """Buckets with data, oldest first, on the samples' own local days (DESIGN.md section 5)."""
        ...

    async def samples(self, user_id: uuid.UUID, type: str, start: dt.datetime, end: dt.datetime,
                      limit: int = 100_000) -> list[Sample]:
        """Samples of one type starting in [start, end), oldest first."""
        ...
