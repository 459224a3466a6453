"""Samples' use cases: check, convert, store by natural key, read, aggregate."""

from __future__ import annotations

import collections
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from services.common import telemetry
from services.common.clock import Clock, utcnow
from services.common.convert import from_micros
from services.common.errors import InvalidArgument, NotFound, shown
from services.tracking import local_time
from services.tracking.ports import Profiles
from services.tracking.samples.catalog import CATALOG, SUM, SampleType
from services.tracking.samples.bulk import check_columns
from services.tracking.samples.columns import (
    MAX_BATCH, CheckedColumns, Checks, ItemError, SampleColumns, SampleInput,
)
from services.tracking.samples.domain import (
    Bucket, Interval, MealContext, Sample, day_buckets, merge_buckets, start_of_sample_id,
)
from services.tracking.samples.repository import SqlSampleRepository

# The longest window an aggregate may span, per interval, so a response stays a sensible size.
MAX_WINDOW = {Interval.HOUR: dt.timedelta(days=93), Interval.DAY: dt.timedelta(days=3660),
              Interval.WEEK: dt.timedelta(days=36600), Interval.MONTH: dt.timedelta(days=36600)}


def newest_first(order_by: str) -> bool:
    """ListSamples' order_by (AIP-132): empty or `start_time desc` lists newest first (the contract's
    default), `start_time` or `start_time asc` oldest first. Ties keep (type, source) in that direction."""
    words = order_by.split()
    if not words:
        return True
    if words[0] == "start_time" and len(words) <= 2:
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction in ("asc", "desc"):
            return direction == "desc"
    raise InvalidArgument.field("order_by", f"{shown(order_by)} is not an order: use `start_time desc` (the default) "
                                "or `start_time`")


@dataclass
class WriteResult:
    """What happened to each item of a batch; accepted + duplicate + updated + rejected = items."""

    accepted: int = 0
    duplicate: int = 0
    updated: int = 0
    errors: list[ItemError] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)  # stored samples of the items kept, in order

    @property
    def rejected(self) -> int:
        return len(self.errors)


@dataclass(frozen=True)
class CheckedBatch:
    """A batch checked and ready to store."""

    user_id: uuid.UUID
    ingest_id: str
    now: dt.datetime
    checks: Checks


class SampleService:
    def __init__(self, repo: SqlSampleRepository, profiles: Profiles, clock: Clock = utcnow) -> None:
        self._repo = repo
        self._profiles = profiles
        self._now = clock

    @staticmethod
    def catalog() -> list[SampleType]:
        return sorted(CATALOG.values(), key=lambda t: t.key)

    # Writes.

    async def write(self, user_id: uuid.UUID, items: list[SampleInput], ingest_id: str = "",
                    default_source: str = "", want_samples: bool = False) -> WriteResult:
        """Writes samples given as rows (the API's own form)."""
        checked = await self.check(user_id, SampleColumns.from_rows(items), ingest_id, default_source)
        return await self.store(checked, want_samples)

    async def check(self, user_id: uuid.UUID, columns: SampleColumns, ingest_id: str = "",
                    default_source: str = "") -> CheckedBatch:
        """The first half of a write: checks and conversion, no storage (a stream checks the next
        batch while the last one is being stored)."""
        if len(columns) > MAX_BATCH:
            raise InvalidArgument.field("samples", f"at most {MAX_BATCH} samples per batch, got {len(columns)}")
        now = self._now()
        with telemetry.span("tracking.check", {"healthmesh.rows": len(columns)}):
            default_offset = await self._default_offset(user_id, columns)
            return CheckedBatch(user_id, ingest_id, now, check_columns(columns, now, default_offset, default_source))

    async def store(self, batch: CheckedBatch, want_samples: bool = False) -> WriteResult:
        """The second half: stores what check() kept and counts every input row's outcome."""
        user_id, checks, now = batch.user_id, batch.checks, batch.now
        result = WriteResult(errors=checks.errors)
        rows = checks.rows
        if want_samples:
            stored = await self._repo.write(user_id, rows, batch.ingest_id, now)
            rows = rows.as_lists()  # read row by row below
            outcomes = collections.Counter(outcome for outcome, *_ in stored)
            result.accepted, result.duplicate, result.updated = (outcomes["accepted"], outcomes["duplicate"],
                                                                 outcomes["updated"])
            by_row = {rows.row[k]: _stored(sample_id, user_id, rows, k, created, updated)
                      for k, (_, sample_id, created, updated) in enumerate(stored)}
        else:
            result.accepted, result.duplicate, result.updated = await self._repo.write_counts(
                user_id, rows, batch.ingest_id, now)
        for _, _, same in checks.superseded:
            if same:
                result.duplicate += 1
            else:
                result.updated += 1
        if want_samples:
            # Every good input row answers with what is stored under its key, superseded ones too.
            winner = {earlier: later for earlier, later, _ in checks.superseded}
            good = sorted(set(rows.row) | set(winner))
            result.samples = [by_row[_final(winner, i)] for i in good]
        return result

    async def create(self, user_id: uuid.UUID, item: SampleInput) -> Sample:
        result = await self.write(user_id, [item], want_samples=True)
        if result.errors:
            e = result.errors[0]
            raise InvalidArgument.field(f"sample.{e.field}" if e.field else "sample", e.message, e.reason)
        return result.samples[0]

    async def _default_offset(self, user_id: uuid.UUID, columns: SampleColumns) -> Callable[[dt.datetime], int]:
        """The user's profile time zone decides the offset of samples that carry none."""
        if columns.offsets_given():
            return lambda _: 0
        time_zone = (await self._profiles.profile(user_id)).time_zone
        return lambda t: local_time.offset_minutes(time_zone, t)

    async def delete_keys(self, user_id: uuid.UUID, keys: list[tuple[str, dt.datetime, str]]) -> int:
        return await self._repo.delete_keys(user_id, keys)

    # Reads.

    async def get(self, user_id: uuid.UUID, sample_id: uuid.UUID) -> Sample:
        start = start_of_sample_id(sample_id)
        sample = await self._repo.get(user_id, sample_id, start) if start else None
        if sample is None:
            raise NotFound(f"users/{user_id}/samples/{sample_id} does not exist")
        return sample

    async def delete(self, user_id: uuid.UUID, sample_id: uuid.UUID) -> None:
        start = start_of_sample_id(sample_id)
        if start is None or not await self._repo.delete(user_id, sample_id, start):
            raise NotFound(f"users/{user_id}/samples/{sample_id} does not exist")

    async def list(self, user_id: uuid.UUID, type: str, source: str | None, start: dt.datetime | None,
                   end: dt.datetime | None, limit: int, after, newest: bool = True) -> list[Sample]:
        if type and type not in CATALOG:
            raise InvalidArgument.field("type", f"{shown(type)} is not a sample type")
        if start and end and end <= start:
            raise InvalidArgument.field("end_time", "must be after start_time")
        return await self._repo.list(user_id, type, source, start, end, limit, after, newest)

    async def latest(self, user_id: uuid.UUID, types: list[str]) -> list[Sample]:
        unknown = [t for t in types if t not in CATALOG]
        if unknown:
            raise InvalidArgument.field("types", f"not sample types: {', '.join(unknown)}")
        return await self._repo.latest(user_id, sorted(set(types)) or sorted(CATALOG))

    async def aggregate(self, user_id: uuid.UUID, type: str, interval: Interval, start: dt.datetime | None,
                        end: dt.datetime | None, source: str = "") -> list[Bucket]:
        spec = CATALOG.get(type)
        if spec is None:
            raise InvalidArgument.field("type", f"{shown(type)} is not a sample type" if type else "is required")
        if interval == Interval.UNSPECIFIED:
            raise InvalidArgument.field("interval", "is required: HOUR, DAY, WEEK or MONTH")
        if start is None or end is None:
            raise InvalidArgument.field("start_time" if start is None else "end_time", "is required")
        if end <= start:
            raise InvalidArgument.field("end_time", "must be after start_time")
        if end - start > MAX_WINDOW[interval]:
            raise InvalidArgument.field("end_time", f"a {interval.name} aggregate spans at most "
                                        f"{MAX_WINDOW[interval].days} days")
        summing = spec.aggregation == SUM
        # Summing types merge sources per hour, so they always start from hourly rows; level types
        # read daily rows for week and month buckets, and their DAY buckets come from hourly rows
        # the database added up per local day.
        if not summing and interval == Interval.DAY:
            return day_buckets(await self._repo.hour_days(user_id, type, start, end, source))
        if summing or interval in (Interval.HOUR, Interval.DAY):
            rows = await self._repo.hour_rows(user_id, type, start, end, source)
        else:
            rows = await self._repo.day_rows(user_id, type, start, end, source)
        return merge_buckets(rows, interval, summing)

    async def samples(self, user_id: uuid.UUID, type: str, start: dt.datetime, end: dt.datetime,
                      limit: int = 100_000) -> list[Sample]:
        return await self._repo.samples(user_id, type, start, end, limit)


def _final(winner: dict[int, int], row: int) -> int:
    """The row whose values are stored for this input row (a key given again: the last one)."""
    while row in winner:
        row = winner[row]
    return row


def _stored(sample_id: uuid.UUID, user_id: uuid.UUID, rows: CheckedColumns, k: int, created: dt.datetime,
            updated: dt.datetime) -> Sample:
    original_value = rows.original_value[k]
    return Sample(sample_id, user_id, rows.strings[rows.type[k]], from_micros(rows.start_us[k]),
                  from_micros(rows.end_us[k]), rows.offset[k], rows.value[k], rows.min[k], rows.max[k],
                  rows.value2[k], CATALOG[rows.strings[rows.type[k]]].unit, original_value,
                  rows.strings[rows.original_unit[k]], rows.strings[rows.source[k]],
                  MealContext(rows.meal_context[k]), created, updated)
