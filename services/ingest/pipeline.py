"""Routes parsed records to Tracking and counts what became of every input item.

Samples are batched per input metric (so each ack counts for one metric); workouts and sleep
nights (segments of one source that follow each other, joined first) are batched together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass, field

from services.common.convert import from_micros
from services.common.checks import MAX_TEXT, NUL, text_limit, text_problem
from services.common.errors import shown
from services.ingest.domain import Tally
from services.ingest.records import (
    ProfileRecord, Record, Rejected, SampleRecord, SampleRows, Skipped, SleepRecord, SleepStage, WorkoutRecord,
)
from services.ingest.profile_sink import ProfileSink
from services.ingest.tracking_sink import SampleStream, TrackingSink

BATCH = 10_000  # samples per WriteSamples batch (the most Tracking takes): large batches make its set-based writes cheap
STREAMS = 2  # WriteSamples streams in parallel: Tracking checks and the database writes on both cores
IMPORT_RECORDS = 50  # activities and sleep nights per ImportRecords call (Tracking takes up to 500): small
# enough that the calls overlap with the reading, and the last one, which the import waits for, is short
IMPORT_POINTS = 50_000  # ... or fewer, once their route, heart-rate and stage points reach this many
IMPORTS = 2  # ImportRecords calls at once: the next batch is read while the last one is stored
NIGHT_GAP = dt.timedelta(hours=3)  # segments further apart than this belong to different nights

# What a skipped kind's error says after the metric's name, by reason.
SKIP_MESSAGES = {
    "UNSUPPORTED_METRIC": "has no mapping to a sample type (a reprocess after a mapping fix can store it)",
    "UNSUPPORTED_UNIT": "comes in a unit its sample type does not take",
    "UNSUPPORTED_SLEEP_STAGE": "names a sleep stage that has no mapping",
}

# Reasons of items whose text Tracking could not store (NUL, or longer than a request may hold).
INVALID_NAME = "INVALID_NAME"
INVALID_TEXT = "INVALID_TEXT"


def _unfit(text: str) -> bool:
    """Whether a string is one no request may carry (request_checks' rule), in the fewest steps:
    this runs for every record read."""
    return len(text) > MAX_TEXT or NUL in text


def _text_fault(record: SampleRecord | WorkoutRecord | SleepRecord) -> tuple[str, str] | None:
    """(reason, message) for a record whose metric name or text Tracking could not store: the
    record is rejected, the rest of the upload goes on. Internal calls to Tracking are not
    checked on arrival (request_checks.py), so this is where an upload's text is."""
    if _unfit(record.metric):
        return INVALID_NAME, f"the metric name {text_problem(record.metric)}"
    fields = (("source", record.source),)
    if type(record) is WorkoutRecord:
        fields = (("source", record.source), ("name", record.name), ("notes", record.notes))
    for name, value in fields:
        problem = text_problem(value, text_limit(name))
        if problem is not None:
            return INVALID_TEXT, f"{name} {problem}"
    return None


@dataclass
class _Night:
    records: list[SleepRecord] = field(default_factory=list)

    @property
    def end(self) -> dt.datetime:
        return max(r.end_time for r in self.records)

    def joined(self) -> SleepRecord:
        first = min(self.records, key=lambda r: r.start_time)
        stages = sorted((s for r in self.records for s in r.stages), key=lambda s: (s.start_time, s.stage))
        # In-bed periods overlap the stages measured inside them; keep them only when nothing else says more.
        detailed = [s for s in stages if s.stage != "IN_BED"]
        return SleepRecord(
            metric=first.metric, path=first.path, start_time=first.start_time, end_time=self.end,
            utc_offset_minutes=first.utc_offset_minutes, source=first.source,
            stages=tuple(_merge_touching(detailed or stages)),
            asleep_seconds=first.asleep_seconds if len(self.records) == 1 else None,
            in_bed_seconds=first.in_bed_seconds if len(self.records) == 1 else None)


def _merge_touching(stages: list[SleepStage]) -> list[SleepStage]:
    """Drops stages that overlap the one before (sources repeat themselves), keeping the timeline valid."""
    kept: list[SleepStage] = []
    for stage in stages:
        if kept and stage.start_time < kept[-1].end_time:
            continue
        kept.append(stage)
    return kept


class Pipeline:
    def __init__(self, sink: TrackingSink, user_id: uuid.UUID, ingest_name: str, tally: Tally,
                 profiles: ProfileSink | None = None) -> None:
        self._sink = sink
        self._profiles = profiles
        self._user = user_id
        self._ingest = ingest_name
        self.tally = tally
        self._streams: list[SampleStream] = []
        self._turn = 0
        # Per input metric, and apart for samples with no offset (Tracking's columns need either all or none).
        self._pending: dict[tuple[str, bool], SampleRows] = {}
        self._nights: dict[str, _Night] = {}
        # Records to import, each with the input items it stands for (a night's segments share its outcome).
        self._records: list[tuple[WorkoutRecord | SleepRecord, list[Record]]] = []
        self._points = 0
        self._importing: list[asyncio.Task] = []  # kept to the end, so no failure goes unseen
        self._slots = asyncio.Semaphore(IMPORTS)
        self._skipped_kinds: set[tuple[str, str]] = set()  # (metric, reason) already in the errors

    async def run(self, batches: AsyncIterable[list[Record]]) -> None:
        try:
            async for batch in batches:
                for record in batch:
                    if type(record) is SampleRecord:  # by far the most common, so without a coroutine
                        full = self._pend(record)
                        if full is not None:
                            await self._flush(full, whole=True)
                    else:
                        await self.take(record)
            await self.finish()
        except BaseException:
            for task in self._importing:
                task.cancel()
            raise
        finally:
            for stream in self._streams:
                await stream.close()

    def _pend(self, record: SampleRecord | SampleRows) -> tuple[str, bool] | None:
        """Adds samples to their metric's batch; returns the batch's key once it is full."""
        if type(record) is SampleRows:
            if _unfit(record.metric) or any(_unfit(source) for source in set(record.source)):
                return self._pend_rows_apart(record)
            key = (record.metric, record.offset is None)
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = record
            else:
                pending.extend(record)
            return key if len(pending) >= BATCH else None
        if record.start_time is None:  # Tracking's columns need a start on every row
            self.tally.reject(record.metric, record.path, "MISSING_FIELD", "start_time is required")
            return None
        if _unfit(record.source) or _unfit(record.metric):
            self.tally.reject(record.metric, record.path, *_text_fault(record))
            return None
        key = (record.metric, record.utc_offset_minutes is None)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = SampleRows(record.metric, None if key[1] else [])
        pending.add(record)
        return key if len(pending) >= BATCH else None

    def _pend_rows_apart(self, rows: SampleRows) -> tuple[str, bool] | None:
        """Rows some of which Tracking could not store: each goes on its own, the bad ones rejected
        (rare, so one record at a time)."""
        full = None
        for record in rows.records():
            full = self._pend(record) or full
        return full

    async def take(self, record: Record) -> None:
        match record:
            case SampleRecord() | SampleRows():
                full = self._pend(record)
                if full is not None:
                    await self._flush(full, whole=True)
            case Skipped():
                if _unfit(record.metric):  # said, with why, rather than counted under a name no one sent
                    self.tally.reject(record.metric, record.path, INVALID_NAME,
                                      f"the metric name {text_problem(record.metric)}")
                else:
                    self.tally.add(record.metric, "skipped")
                    self._report_kind(record)
            case Rejected():
                self.tally.reject(record.metric, record.path, record.reason, record.message)
            case WorkoutRecord():
                fault = _text_fault(record)
                if fault is not None:
                    self.tally.reject(record.metric, record.path, *fault)
                    return
                self.tally.saw_time(record.start_time)
                for key, count in record.extra.items():  # parts of it that could not be read: said, not silent
                    if key.endswith("_dropped"):
                        what = key.removesuffix("_dropped").replace("_", " ")
                        self.tally.error(record.path, "PARTLY_READ", f"{count:g} {what} could not be read: left out")
                await self._import(record, [record])
            case SleepRecord():
                fault = _text_fault(record)
                if fault is not None:
                    self.tally.reject(record.metric, record.path, *fault)
                    return
                self.tally.saw_time(record.start_time)
                await self._add_sleep(record)
            case ProfileRecord():
                if self._profiles is None:
                    self.tally.add(record.metric, "skipped")
                    return
                outcome = await self._profiles.apply(self._user, record)
                self._count(record.metric, record.path, outcome.outcome, outcome.reason, outcome.message)

    def _report_kind(self, record: Skipped) -> None:
        """Each kind of skipped item (its metric and reason) once in the errors, at the first one's
        path (ItemCounts.skipped: each skipped kind is reported)."""
        kind = (record.metric, record.reason)
        if kind in self._skipped_kinds:
            return
        self._skipped_kinds.add(kind)
        why = SKIP_MESSAGES.get(record.reason, "is not stored")
        self.tally.error(record.path, record.reason, f"{shown(record.metric)} {why}: its items are counted as skipped")

    async def finish(self) -> None:
        for key in list(self._pending):
            await self._flush(key)
        for stream in self._streams:
            self._count_acks(await stream.drain())
        for source in list(self._nights):
            await self._import_night(self._nights.pop(source))
        await self._send_records()
        await asyncio.gather(*self._importing)

    async def _flush(self, key: tuple[str, bool], whole: bool = False) -> None:
        """Sends the metric's pending samples in batches of BATCH; with `whole`, only full
        batches (the rest waits for more)."""
        rows = self._pending.pop(key, None)
        while rows is not None and len(rows) >= BATCH:
            batch, rows = rows.split(BATCH)
            await self._send(batch)
        if rows:
            if whole:
                self._pending[key] = rows
            else:
                await self._send(rows)

    async def _send(self, batch: SampleRows) -> None:
        self.tally.saw_time(from_micros(min(batch.start_us)))
        self.tally.saw_time(from_micros(max(batch.start_us)))
        if not self._streams:
            self._streams = [self._sink.open_samples(self._user, self._ingest) for _ in range(STREAMS)]
        self._turn = (self._turn + 1) % len(self._streams)
        self._count_acks(await self._streams[self._turn].send(batch, batch))

    def _count_acks(self, acks: list) -> None:
        for batch, ack in acks:
            self.tally.add(batch.metric, "accepted", ack.accepted)
            self.tally.add(batch.metric, "duplicate", ack.duplicate)
            self.tally.add(batch.metric, "updated", ack.updated)
            for index, reason, message in ack.errors:
                self.tally.reject(batch.metric, batch.paths[index], reason, message)

    async def _add_sleep(self, record: SleepRecord) -> None:
        night = self._nights.get(record.source)
        if night is not None and record.start_time - night.end > NIGHT_GAP:
            await self._import_night(self._nights.pop(record.source))
            night = None
        if night is None:
            night = self._nights[record.source] = _Night()
        night.records.append(record)

    async def _import_night(self, night: _Night) -> None:
        await self._import(night.joined(), list(night.records))

    async def _import(self, record: WorkoutRecord | SleepRecord, items: list[Record]) -> None:
        self._records.append((record, items))
        if isinstance(record, WorkoutRecord):
            self._points += len(record.route) + len(record.heart_rate_series)
        else:
            self._points += len(record.stages)
        if len(self._records) >= IMPORT_RECORDS or self._points >= IMPORT_POINTS:
            await self._send_records()

    async def _send_records(self) -> None:
        """Imports the records queued, alongside reading on (at most IMPORTS calls at once)."""
        batch, self._records, self._points = self._records, [], 0
        if not batch:
            return
        await self._slots.acquire()

        async def run() -> None:
            try:
                outcomes = await self._sink.import_records(self._user, [record for record, _ in batch])
            finally:
                self._slots.release()
            for (_, items), outcome in zip(batch, outcomes, strict=True):
                for item in items:  # every input item of a night shares its outcome
                    self._count(item.metric, item.path, outcome.outcome, outcome.reason, outcome.message)

        self._importing.append(asyncio.create_task(run()))

    def _count(self, metric: str, path: str, outcome: str, reason: str, message: str) -> None:
        if outcome == "rejected":
            self.tally.reject(metric, path, reason, message)
            return
        self.tally.add(metric, outcome)
        if outcome == "skipped" and reason:
            self.tally.error(path, reason, message)  # said, so a skip is never silent
