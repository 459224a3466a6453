"""Ingestions: what was sent, what became of every item. No grpc, protobuf or SQL here."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field

MAX_ERRORS = 1000  # errors kept per ingestion; the rest are counted in errors_truncated
# What a tally holds comes from the upload (metric names, JSON keys in paths, values quoted in
# messages) and is stored as JSON in PostgreSQL, which refuses NUL: cut and cleaned on the way in.
MAX_KEY = 256
MAX_PATH = 512
MAX_MESSAGE = 512


def storable(text: str, limit: int) -> str:
    """The text with NUL as U+FFFD and at most `limit` characters (marked when cut)."""
    if len(text) > limit:
        text = text[:limit] + "..."
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
PARSER_VERSION = "1"


class State(enum.IntEnum):
    UNSPECIFIED = 0
    PENDING = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4


class Format(enum.IntEnum):
    UNSPECIFIED = 0
    HEALTH_AUTO_EXPORT = 1
    APPLE_HEALTH_EXPORT = 2
    BATCH = 3


OUTCOMES = ("accepted", "duplicate", "updated", "rejected", "skipped")


@dataclass
class Counts:
    accepted: int = 0
    duplicate: int = 0
    updated: int = 0
    rejected: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, o) for o in OUTCOMES)


@dataclass(frozen=True)
class ItemError:
    path: str
    reason: str
    message: str


@dataclass
class Tally:
    """Counts per input metric name and the per-item errors; every item lands in exactly one count."""

    counts: dict[str, Counts] = field(default_factory=dict)
    errors: list[ItemError] = field(default_factory=list)
    errors_truncated: int = 0
    data_start: dt.datetime | None = None
    data_end: dt.datetime | None = None

    def add(self, metric: str, outcome: str, n: int = 1) -> None:
        counts = self.counts.get(metric)
        if counts is None:
            counts = self.counts.setdefault(storable(metric, MAX_KEY), Counts())
        setattr(counts, outcome, getattr(counts, outcome) + n)

    def reject(self, metric: str, path: str, reason: str, message: str) -> None:
        self.add(metric, "rejected")
        self.error(path, reason, message)

    def error(self, path: str, reason: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(ItemError(storable(path, MAX_PATH), reason, storable(message, MAX_MESSAGE)))
        else:
            self.errors_truncated += 1

    def saw_time(self, t: dt.datetime) -> None:
        self.data_start = t if self.data_start is None or t < self.data_start else self.data_start
        self.data_end = t if self.data_end is None or t > self.data_end else self.data_end


@dataclass(frozen=True)
class RequestHeaders:
    automation_name: str = ""
    automation_id: str = ""
    automation_aggregation: str = ""
    automation_period: str = ""
    session_id: str = ""
    user_agent: str = ""


@dataclass
class Ingestion:
    id: uuid.UUID
    user_id: uuid.UUID
    state: State
    format: Format
    tally: Tally
    payload_digest: str
    payload_size_bytes: int
    content_type: str
    request_headers: RequestHeaders
    request_id: str
    api_key: str
    reprocess_count: int
    create_time: dt.datetime
    update_time: dt.datetime
    complete_time: dt.datetime | None
    processed_bytes: int = 0
    parser_version: str = PARSER_VERSION
    traceparent: str = ""  # the request that queued it, for the job's span to link to (telemetry)
