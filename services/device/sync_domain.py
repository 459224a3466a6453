"""What a sync works with, free of grpc, HTTP and SQL: its data window, the records a pull adapter
brings back, the counts it keeps and the ways it fails."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_ERRORS = 100  # a Sync keeps the first 100 rejected samples and why
MAX_ATTEMPTS = 5  # runs of one sync before a failure that might pass later is final
OVERLAP = dt.timedelta(hours=6)  # a later window starts this long before the last sync
PUSH_DEADLINE = dt.timedelta(minutes=15)  # a push sync waits this long for a stream, then for the data
MAX_BACKFILL_DAYS = 365
# Failures worth another run later; the others (expired credentials, a refusal) are final.
RETRYABLE = frozenset({"VENDOR_UNAVAILABLE", "TRACKING_UNAVAILABLE"})


class State(enum.IntEnum):
    UNSPECIFIED = 0
    PENDING = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4
    CANCELLED = 5


OPEN = frozenset({State.PENDING, State.RUNNING})
RETRIABLE_STATES = frozenset({State.FAILED, State.CANCELLED})


class Trigger(enum.IntEnum):
    UNSPECIFIED = 0
    MANUAL = 1
    SCHEDULED = 2
    RETRY = 3


class SyncFailed(Exception):
    """Ends a sync FAILED: `reason` is the contract's UPPER_SNAKE failure_reason (CREDENTIALS_EXPIRED,
    VENDOR_UNAVAILABLE, DEVICE_DISCONNECTED, ...), `message` the sentence for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Window:
    """The data a sync fetches, start to end."""

    start: dt.datetime
    end: dt.datetime


def window_for(now: dt.datetime, last_synced: dt.datetime | None, backfill_days: int,
               overlap: dt.timedelta, asked_start: dt.datetime | None = None) -> Window:
    """A first sync covers backfill_days; a later one goes from the last synced time, with an
    overlap (the vendor fills the last hours late: today's steps grow, a night is scored after
    waking), never further back than backfill_days. A start the caller asked for wins."""
    if asked_start is not None:
        return Window(asked_start, now)
    backfill = now - dt.timedelta(days=backfill_days or 30)
    if last_synced is None:
        return Window(backfill, now)
    return Window(max(backfill, min(last_synced, now) - overlap), now)


def backoff(attempts: int, rand: Callable[[], float], base: dt.timedelta = dt.timedelta(seconds=30),
            cap: dt.timedelta = dt.timedelta(hours=1)) -> dt.timedelta:
    """The wait before run `attempts + 1`: full jitter over an exponential ceiling."""
    return rand() * min(cap, base * 2 ** max(attempts - 1, 0))


@dataclass(frozen=True)
class PulledSample:
    """One measured value from a vendor, in Tracking's catalog terms."""

    type: str
    start: dt.datetime
    end: dt.datetime
    utc_offset_minutes: int | None  # None: Tracking takes the user's time zone
    value: float
    unit: str


@dataclass(frozen=True)
class SleepStage:
    stage: str  # AWAKE, LIGHT, DEEP, REM (Tracking's SleepStage names)
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class PulledSleep:
    """One night (or nap) from a vendor; `vendor_id` makes importing it again a duplicate."""

    vendor_id: str
    start: dt.datetime
    end: dt.datetime
    utc_offset_minutes: int
    stages: list[SleepStage]
    score: int | None = None


@dataclass
class SyncCounts:
    """What a sync did with each item it brought in; the errors are (index over the whole sync,
    reason, message), the first MAX_ERRORS of them."""

    accepted: int = 0
    duplicate: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.updated + self.rejected

    def add(self, accepted: int, duplicate: int, updated: int, errors: list[tuple[int, str, str]],
            rejected: int | None = None) -> None:
        """Adds one batch's outcome; its error indexes count within the batch. `rejected` when
        the batch's errors are not all given (a telemetry ack counts them only)."""
        base = self.total
        self.accepted += accepted
        self.duplicate += duplicate
        self.updated += updated
        self.rejected += len(errors) if rejected is None else rejected
        room = MAX_ERRORS - len(self.errors)
        self.errors.extend((base + i, reason, message) for i, reason, message in errors[:max(room, 0)])


@dataclass(frozen=True)
class Sync:
    id: uuid.UUID
    user_id: uuid.UUID
    device_id: uuid.UUID
    state: State
    trigger: Trigger
    window: Window
    counts: SyncCounts
    failure_reason: str
    failure_message: str
    retry_of: uuid.UUID | None
    attempts: int
    create_time: dt.datetime
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    update_time: dt.datetime

    @property
    def device_name(self) -> str:
        return f"users/{self.user_id}/devices/{self.device_id}"

    @property
    def name(self) -> str:
        return f"{self.device_name}/syncs/{self.id}"


@dataclass(frozen=True)
class SyncRequest:
    """What a push device is asked for over its open stream (a sync_request)."""

    sync: str  # the sync's name
    start: dt.datetime
    end: dt.datetime
    sample_types: tuple[str, ...]
