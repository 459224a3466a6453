"""NotifySamplesWritten's use case: Tracking's outbox says which users' samples changed.

Each change is checked, then handed to the change listeners (the analytics' cache invalidation,
the alert rules' evaluation) in the order Tracking committed them. A listener may see a change
twice (the outbox delivers at least once), so listeners must be idempotent: dropping a cached
answer twice is, and the alerts' evaluation claims each event id once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.common.errors import Violations


MAX_CHANGES = 1000
ACTIVITY = "activity"  # what Tracking's outbox names a changed workout (sleep is `sleep_asleep`)


@dataclass(frozen=True)
class SamplesWritten:
    event_id: str
    user: str  # users/{user}
    sample_types: tuple[str, ...]
    start_time: dt.datetime | None
    end_time: dt.datetime | None


@dataclass(frozen=True)
class Change:
    """A checked change: the user's id parsed, the types as a set."""

    event_id: str
    user_id: uuid.UUID
    sample_types: frozenset[str]
    start_time: dt.datetime | None
    end_time: dt.datetime | None


ChangeListener = Callable[[Change], Awaitable[None]]


def _user_id(name: str) -> uuid.UUID | None:
    prefix, _, rest = name.partition("/")
    try:
        return uuid.UUID(rest) if prefix == "users" and rest else None
    except ValueError:
        return None


class NotifyService:
    def __init__(self) -> None:
        self.listeners: list[ChangeListener] = []

    @staticmethod
    def check(changes: list[SamplesWritten]) -> list[Change]:
        v = Violations()
        if not changes:
            v.add("changes", "at least one change is required")
        if len(changes) > MAX_CHANGES:
            v.add("changes", f"at most {MAX_CHANGES} changes, got {len(changes)}")
        checked = []
        for i, c in enumerate(changes[:MAX_CHANGES]):
            user_id = _user_id(c.user)
            if not c.event_id:
                v.add(f"changes[{i}].event_id", "is required")
            if user_id is None:
                v.add(f"changes[{i}].user", "must be users/{user} with a user id")
            if not c.sample_types:
                v.add(f"changes[{i}].sample_types", "at least one sample type is required")
            if c.start_time and c.end_time and c.start_time > c.end_time:
                v.add(f"changes[{i}].start_time", "is after end_time")
            if user_id is not None:
                checked.append(Change(c.event_id, user_id, frozenset(c.sample_types), c.start_time, c.end_time))
        v.raise_if_any()
        return checked

    async def samples_written(self, changes: list[SamplesWritten]) -> None:
        for change in self.check(changes):
            for listener in self.listeners:
                await listener(change)
