"""Routes parsed records to Tracking and counts what became of every input item.

Samples are batched per input metric (so each ack counts for one metric), workouts go one by
one, and sleep segments of one source that follow each other are joined into nights first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass, field

from services.ingest.domain import Tally
from services.ingest.records import (
    ProfileRecord, Record, Rejected, SampleRecord, Skipped, SleepRecord, SleepStage, WorkoutRecord,
)
from services.ingest.profile_sink import ProfileSink
from services.ingest.tracking_sink import SampleStream, TrackingSink

BATCH = 5000  # samples per WriteSamples batch: large batches make Tracking's set-based writes cheap
STREAMS = 2  # WriteSamples streams in parallel: Tracking checks and the database writes on both cores
CREATES = 8  # activities and sleep nights being created at once
NIGHT_GAP = dt.timedelta(hours=3)  # segments further apart than this belong to different nights


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
        self._pending: dict[tuple[str, bool], list[SampleRecord]] = {}
        self._nights: dict[str, _Night] = {}
        self._creating: list[asyncio.Task] = []  # kept to the end, so no failure goes unseen
        self._slots = asyncio.Semaphore(CREATES)

    async def run(self, batches: AsyncIterable[list[Record]]) -> None:
        try:
            async for batch in batches:
                for record in batch:
                    if type(record) is SampleRecord:  # by far the most common, so without a coroutine
                        full = self._pend(record)
                        if full is not None:
                            await self._flush(full)
                    else:
                        await self.take(record)
            await self.finish()
        except BaseException:
            for task in self._creating:
                task.cancel()
            raise
        finally:
            for stream in self._streams:
                await stream.close()

    def _pend(self, record: SampleRecord) -> tuple[str, bool] | None:
        """Adds a sample to its metric's batch; returns the batch's key once it is full."""
        key = (record.metric, record.utc_offset_minutes is None)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = []
        pending.append(record)
        return key if len(pending) >= BATCH else None

    async def take(self, record: Record) -> None:
        match record:
            case SampleRecord():
                full = self._pend(record)
                if full is not None:
                    await self._flush(full)
            case Skipped():
                self.tally.add(record.metric, "skipped")
            case Rejected():
                self.tally.reject(record.metric, record.path, record.reason, record.message)
            case WorkoutRecord():
                self.tally.saw_time(record.start_time)
                await self._create(self._write_workout(record))
            case SleepRecord():
                self.tally.saw_time(record.start_time)
                await self._add_sleep(record)
            case ProfileRecord():
                if self._profiles is None:
                    self.tally.add(record.metric, "skipped")
                    return
                outcome = await self._profiles.apply(self._user, record)
                self._count(record.metric, record.path, outcome.outcome, outcome.reason, outcome.message)

    async def finish(self) -> None:
        for key in list(self._pending):
            await self._flush(key)
        for stream in self._streams:
            self._count_acks(await stream.drain())
        for source in list(self._nights):
            await self._create(self._write_night(self._nights.pop(source)))
        await asyncio.gather(*self._creating)

    async def _flush(self, key: tuple[str, bool]) -> None:
        batch = self._pending.pop(key, [])
        starts = [r.start_time for r in batch]
        if None in starts:  # Tracking's columns need a start on every row
            for record in batch:
                if record.start_time is None:
                    self.tally.reject(record.metric, record.path, "MISSING_FIELD", "start_time is required")
            batch = [r for r in batch if r.start_time is not None]
            starts = [r.start_time for r in batch]
        if not batch:
            return
        self.tally.saw_time(min(starts))
        self.tally.saw_time(max(starts))
        if not self._streams:
            self._streams = [self._sink.open_samples(self._user, self._ingest) for _ in range(STREAMS)]
        self._turn = (self._turn + 1) % len(self._streams)
        self._count_acks(await self._streams[self._turn].send((key[0], batch), batch))

    def _count_acks(self, acks: list) -> None:
        for (metric, batch), ack in acks:
            self.tally.add(metric, "accepted", ack.accepted)
            self.tally.add(metric, "duplicate", ack.duplicate)
            self.tally.add(metric, "updated", ack.updated)
            for index, reason, message in ack.errors:
                self.tally.reject(metric, batch[index].path, reason, message)

    async def _add_sleep(self, record: SleepRecord) -> None:
        night = self._nights.get(record.source)
        if night is not None and record.start_time - night.end > NIGHT_GAP:
            await self._create(self._write_night(self._nights.pop(record.source)))
            night = None
        if night is None:
            night = self._nights[record.source] = _Night()
        night.records.append(record)

    async def _create(self, write) -> None:
        """Runs a create RPC alongside the others, at most CREATES at once; finish() waits for all."""
        await self._slots.acquire()

        async def run() -> None:
            try:
                await write
            finally:
                self._slots.release()

        self._creating.append(asyncio.create_task(run()))

    async def _write_workout(self, record: WorkoutRecord) -> None:
        outcome = await self._sink.workout(self._user, record)
        self._count(record.metric, record.path, outcome.outcome, outcome.reason, outcome.message)

    async def _write_night(self, night: _Night) -> None:
        outcome = await self._sink.sleep(self._user, night.joined())
        for record in night.records:  # every input item of the night shares its outcome
            self._count(record.metric, record.path, outcome.outcome, outcome.reason, outcome.message)

    def _count(self, metric: str, path: str, outcome: str, reason: str, message: str) -> None:
        if outcome == "rejected":
            self.tally.reject(metric, path, reason, message)
            return
        self.tally.add(metric, outcome)
        if outcome == "skipped" and reason:
            self.tally.error(path, reason, message)  # said, so a skip is never silent
