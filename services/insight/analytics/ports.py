"""What the analyses read, as Tracking's and Auth's RPCs give it (tracking.py implements it over
gRPC; unit tests use fakes at this seam)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.insight.analytics.daily import Series, TypeInfo, Window


@dataclass(frozen=True)
class Profile:
    birth_date: dt.date | None
    sex: str  # FEMALE, MALE, OTHER or "" when not given
    time_zone: str  # IANA name; "" means UTC

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass(frozen=True)
class Latest:
    """The most recent sample of a type."""

    type: str
    value: float
    unit: str
    time: dt.datetime


@dataclass(frozen=True)
class GoalPeriod:
    """One period of a goal: its local dates, the value measured and whether it met the target."""

    first: dt.date
    last: dt.date
    value: float
    met: bool


@dataclass(frozen=True)
class Goal:
    name: str  # users/{user}/goals/{goal}
    metric: str
    unit: str
    target: float
    at_most: bool  # AT_MOST; otherwise AT_LEAST
    period: str  # DAILY, WEEKLY or MONTHLY
    start_date: dt.date | None


@dataclass(frozen=True)
class GoalHistory:
    goal: Goal
    periods: tuple[GoalPeriod, ...]  # oldest first, the current one last


class Tracking(Protocol):
    async def catalog(self) -> dict[str, TypeInfo]:
        """Every sample type, in catalog order."""
        ...

    async def daily(self, user_id: uuid.UUID, types: Sequence[str], window: Window) -> dict[str, Series]:
        """The DAY aggregates of each type in the window (an empty Series for a type without data)."""
        ...

    async def nights(self, user_id: uuid.UUID, window: Window, time_zone: str) -> Series:
        """Hours asleep per night (`sleep_asleep`), by the local date each night ends on."""
        ...

    async def latest(self, user_id: uuid.UUID, types: Sequence[str] = ()) -> dict[str, Latest]:
        """The most recent sample of each type (of every type the user has, when types is empty)."""
        ...

    async def goals(self, user_id: uuid.UUID) -> list[Goal]:
        """The user's ACTIVE and ACHIEVED goals."""
        ...

    async def goal_history(self, user_id: uuid.UUID, goal: Goal, periods: int) -> GoalHistory:
        """The goal's current period and up to `periods` before it."""
        ...


class Profiles(Protocol):
    async def profile(self, user_id: uuid.UUID) -> Profile: ...


@dataclass(frozen=True)
class Finding:
    """A recommendation as it is kept as an Insight (kind RECOMMENDATION)."""

    rule: str
    category: str
    severity: str
    title: str
    body: str
    sample_type: str
    start_date: dt.date
    end_date: dt.date


class InsightsStore(Protocol):
    async def record(self, user_id: uuid.UUID, findings: Sequence[Finding], settled: bool) -> None:
        """Keeps the findings as Insights; one still standing is not stored again. When `settled`
        (the findings of the default window), a standing finding not among them stops standing,
        so that it is kept anew if its rule applies again later."""
        ...
