"""Ingest's use cases: take an upload, archive it, parse it into Tracking, and say what happened."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable

from services.common import checks
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, Violations
from services.common.ids import uuid7
from services.ingest import archive
from services.ingest.domain import Format, Ingestion, RequestHeaders, State, Tally
from services.ingest.pipeline import Pipeline
from services.ingest.records import PayloadError, SampleRecord
from services.ingest.repository import SqlIngestRepository
from services.ingest.sources import RecordSource
from services.ingest.tracking_sink import TrackingSink

MAX_BATCH = 10_000
log = logging.getLogger(__name__)



def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IngestService:
    def __init__(self, repo: SqlIngestRepository, sink: TrackingSink, parsers: dict[Format, RecordSource],
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._repo = repo
        self._sink = sink
        self._parsers = parsers
        self._now = clock

    async def ingest_upload(self, user_id: uuid.UUID, api_key: str, fmt: Format, headers: RequestHeaders,
                            chunks: AsyncIterable[tuple[str, bytes]]) -> Ingestion:
        """Spools and archives the whole body first (content-addressed, compressed), then parses it."""
        if fmt not in self._parsers:
            raise FailedPrecondition(f"{fmt.name} imports are not available yet", "FORMAT_UNAVAILABLE")
        spool = archive.Spool()
        started = time.perf_counter()
        try:
            content_type = ""
            async for part_type, data in chunks:
                content_type = content_type or part_type
                spool.feed(data)
            digest = spool.finish()
            received = time.perf_counter()
            if spool.size == 0:
                raise InvalidArgument.field("body", "is empty: send the export as the request body")
            now = self._now()
            await self._repo.save_payload(digest, spool.size, content_type, spool.compressed_chunks(), now)
            log.info("upload of %d bytes received in %.2f s, archived as %s in %.2f s", spool.size,
                     received - started, digest[:19], time.perf_counter() - received)
            ingestion = await self._repo.create(Ingestion(
                id=uuid7(), user_id=user_id, state=State.RUNNING, format=fmt, tally=Tally(), payload_digest=digest,
                payload_size_bytes=spool.size, content_type=content_type, request_headers=headers, request_id="",
                api_key=api_key, reprocess_count=0, create_time=now, update_time=now, complete_time=None))
            return await self._process(ingestion, _from_sync(spool.raw_chunks()))
        finally:
            spool.close()

    async def reprocess(self, user_id: uuid.UUID, ingestion_id: uuid.UUID) -> Ingestion:
        """Parses the archived payload again (after a mapping fix); its counts are replaced."""
        found = await self._repo.get(user_id, ingestion_id)
        if found is None:
            raise NotFound(f"users/{user_id}/ingestions/{ingestion_id} does not exist")
        if not found.payload_digest:
            raise FailedPrecondition("this ingestion has no archived payload to reprocess", "NO_PAYLOAD")
        ingestion = await self._repo.start_reprocess(user_id, ingestion_id, self._now())
        if ingestion is None:
            raise FailedPrecondition("the ingestion is still running; reprocess it once it has finished",
                                     "INGESTION_RUNNING")
        return await self._process(ingestion, self._archived_chunks(ingestion.payload_digest))

    async def _archived_chunks(self, digest: str) -> AsyncIterator[bytes]:
        async for packed in self._repo.payload_chunks(digest):
            yield archive.decompress(packed)

    async def _process(self, ingestion: Ingestion, chunks: AsyncIterable[bytes]) -> Ingestion:
        source = self._parsers[ingestion.format]
        tally = Tally()
        pipeline = Pipeline(self._sink, ingestion.user_id, f"users/{ingestion.user_id}/ingestions/{ingestion.id}",
                            tally)
        processed = 0

        async def counted() -> AsyncIterator[bytes]:
            nonlocal processed
            async for chunk in chunks:
                processed += len(chunk)
                yield chunk

        started = time.perf_counter()
        try:
            await pipeline.run(source(counted()))
        except PayloadError as exc:
            tally.error(exc.path, exc.reason, exc.message)
            failed = await self._repo.save_progress(ingestion.user_id, ingestion.id, State.FAILED, tally, processed,
                                                    self._now(), complete=True)
            error = InvalidArgument.field("body", exc.message, exc.reason)
            error.metadata["ingestion"] = f"users/{failed.user_id}/ingestions/{failed.id}"
            raise error from None
        except BaseException:
            await self._repo.save_progress(ingestion.user_id, ingestion.id, State.FAILED, tally, processed,
                                           self._now(), complete=True)
            raise
        log.info("ingestion %s: %d bytes parsed and written in %.2f s", ingestion.id, processed,
                 time.perf_counter() - started)
        return await self._repo.save_progress(ingestion.user_id, ingestion.id, State.SUCCEEDED, tally, processed,
                                              self._now(), complete=True)

    async def ingest_batch(self, user_id: uuid.UUID, api_key: str, request_id: str,
                           samples: list[SampleRecord]) -> Ingestion:
        """Typed samples, checked by Tracking one by one; counted per sample type."""
        if not samples or len(samples) > MAX_BATCH:
            raise InvalidArgument.field("samples", f"must hold 1 to {MAX_BATCH:,} samples, got {len(samples)}")
        v = Violations()
        checks.request_id(request_id, v)
        v.raise_if_any()
        now = self._now()
        ingestion = await self._repo.create(Ingestion(
            id=uuid7(), user_id=user_id, state=State.RUNNING, format=Format.BATCH, tally=Tally(), payload_digest="",
            payload_size_bytes=0, content_type="application/grpc", request_headers=RequestHeaders(),
            request_id=request_id, api_key=api_key, reprocess_count=0, create_time=now, update_time=now,
            complete_time=None))
        if ingestion.state != State.RUNNING or ingestion.create_time != now:
            return ingestion  # a retry of a request id already answered
        tally = Tally()
        pipeline = Pipeline(self._sink, user_id, f"users/{user_id}/ingestions/{ingestion.id}", tally)
        try:
            await pipeline.run(_from_sync(samples))
        except BaseException:
            await self._repo.save_progress(user_id, ingestion.id, State.FAILED, tally, 0, self._now(), complete=True)
            raise
        return await self._repo.save_progress(user_id, ingestion.id, State.SUCCEEDED, tally, 0, self._now(),
                                              complete=True)

    async def get(self, user_id: uuid.UUID, ingestion_id: uuid.UUID) -> Ingestion:
        found = await self._repo.get(user_id, ingestion_id)
        if found is None:
            raise NotFound(f"users/{user_id}/ingestions/{ingestion_id} does not exist")
        return found

    async def list(self, user_id: uuid.UUID, state: State | None, fmt: Format | None, limit: int,
                   before: uuid.UUID | None) -> list[Ingestion]:
        return await self._repo.list(user_id, state, fmt, limit, before)


async def _from_sync(items: Iterable) -> AsyncIterator:
    for item in items:
        yield item
