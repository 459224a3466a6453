"""Ingest's use cases: take an upload, archive it, parse it into Tracking, and say what happened."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable

from services.common import checks, metrics, telemetry
from services.common import jobs
from services.common.background import cancel
from services.common.clock import Clock, utcnow
from services.common.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, Violations
from services.common.ids import uuid7
from services.ingest import archive
from services.ingest.domain import OUTCOMES, Format, Ingestion, RequestHeaders, State, Tally
from services.ingest.pipeline import Pipeline
from services.ingest.profile_sink import ProfileSink
from services.ingest.records import PayloadError, SampleRecord
from services.ingest.repository import SqlIngestRepository
from services.ingest.sources import RecordSource, read_ahead
from services.ingest.tracking_sink import TrackingSink

MAX_BATCH = 10_000
log = logging.getLogger(__name__)


class IngestService:
    """Uploads run as jobs under a lease: small ones in the request that brought them, large ones
    (or on request) in the background while the client polls. A job whose worker stopped is
    taken up again from its archived payload, by this process after a restart or by a replica."""

    LEASE = dt.timedelta(seconds=60)
    # How often a running job publishes processed_bytes (one small UPDATE), so a polling client
    # and the CLI's bar move; counts and errors go with the lease renewals and the outcome.
    PROGRESS_SECONDS = 1.0

    def __init__(self, repo: SqlIngestRepository, sink: TrackingSink, parsers: dict[Format, RecordSource],
                 clock: Clock = utcnow, background_bytes: int = 16 << 20,
                 profiles: ProfileSink | None = None, progress_seconds: float = PROGRESS_SECONDS) -> None:
        self._repo = repo
        self._progress_seconds = progress_seconds
        self._sink = sink
        self._profiles = profiles
        self._parsers = parsers
        self._now = clock
        self._background_bytes = background_bytes
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()

    async def ingest_upload(self, user_id: uuid.UUID, api_key: str, fmt: Format, headers: RequestHeaders,
                            chunks: AsyncIterable[tuple[str, bytes]], respond_async: bool = False) -> Ingestion:
        """Spools and archives the whole body first (content-addressed, compressed), then parses it:
        here, or in the background when it is large or the client asked (the answer is then PENDING)."""
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
            with telemetry.span("ingest.archive", {"healthmesh.bytes": spool.size}):
                await self._repo.save_payload(digest, spool.size, content_type, spool.compressed_chunks(), now)
            log.info("upload of %d bytes received in %.2f s, archived as %s in %.2f s", spool.size,
                     received - started, digest[:19], time.perf_counter() - received)
            background = respond_async or spool.size >= self._background_bytes
            ingestion = await self._repo.create(Ingestion(
                id=uuid7(), user_id=user_id, state=State.PENDING, format=fmt, tally=Tally(), payload_digest=digest,
                payload_size_bytes=spool.size, content_type=content_type, request_headers=headers, request_id="",
                api_key=api_key, reprocess_count=0, create_time=now, update_time=now, complete_time=None,
                traceparent=telemetry.traceparent()),
                lease_owner=None if background else self._owner, lease_until=None if background else now + self.LEASE)
            if background:
                self._wake.set()
                return ingestion
            return await self._run(ingestion, _from_sync(spool.raw_chunks()))
        finally:
            spool.close()

    async def reprocess(self, user_id: uuid.UUID, ingestion_id: uuid.UUID) -> Ingestion:
        """Parses the archived payload again (after a mapping fix); its counts are replaced."""
        found = await self._repo.get(user_id, ingestion_id)
        if found is None:
            raise NotFound(f"users/{user_id}/ingestions/{ingestion_id} does not exist")
        if not found.payload_digest:
            raise FailedPrecondition("this ingestion has no archived payload to reprocess", "NO_PAYLOAD")
        now = self._now()
        ingestion = await self._repo.start_reprocess(user_id, ingestion_id, self._owner, now + self.LEASE, now)
        if ingestion is None:
            raise FailedPrecondition("the ingestion is still running; reprocess it once it has finished",
                                     "INGESTION_RUNNING")
        return await self._run(ingestion, self._archived_chunks(ingestion.payload_digest))

    async def run_jobs(self, stop: asyncio.Event, poll_seconds: float = 2.0) -> None:
        """The background worker: takes jobs until `stop`; an unfinished job is left to be taken up again."""

        def failed(job: Ingestion, exc: Exception) -> None:
            if isinstance(exc, DomainError):  # the upload's own fault, or Tracking away: said, recorded as FAILED
                log.warning("ingestion %s failed: %s", job.id, exc.reason or exc.code)
            else:
                log.error("ingestion %s failed", job.id, exc_info=exc)  # a bug; recorded as FAILED by _process

        await jobs.run_worker(
            lambda: self._repo.claim_job(self._owner, self.LEASE, self._now()),
            lambda job: self._run(job, self._archived_chunks(job.payload_digest)),
            lambda job: self._repo.extend_lease(job.user_id, job.id, self._owner, None),  # free for the next worker
            stop, self._wake, poll_seconds, failed, name="ingest.job")

    async def _archived_chunks(self, digest: str) -> AsyncIterator[bytes]:
        async for packed in read_ahead(self._repo.payload_chunks(digest)):
            yield archive.decompress(packed)

    async def _run(self, ingestion: Ingestion, chunks: AsyncIterable[bytes]) -> Ingestion:
        """Processes a job this worker holds, renewing its lease and publishing progress meanwhile."""
        tally, progress = Tally(), {"bytes": 0}

        async def renew() -> None:
            await self._repo.extend_lease(ingestion.user_id, ingestion.id, self._owner, self._now() + self.LEASE)
            await self._repo.save_progress(ingestion.user_id, ingestion.id, State.RUNNING, tally,
                                           progress["bytes"], self._now(), complete=False)

        async def publish() -> None:
            published = 0
            while True:
                await asyncio.sleep(self._progress_seconds)
                if progress["bytes"] == published:
                    continue  # nothing new read (Tracking slow to acknowledge): no write
                try:
                    await self._repo.save_processed_bytes(ingestion.user_id, ingestion.id, self._owner,
                                                          progress["bytes"])
                    published = progress["bytes"]
                except Exception as exc:  # the database away for a moment: the next tick tries again
                    log.warning("ingestion %s: progress not published: %s", ingestion.id, type(exc).__name__)

        await self._repo.save_progress(ingestion.user_id, ingestion.id, State.RUNNING, tally, 0, self._now(),
                                       complete=False)
        publishing = asyncio.create_task(publish(), name=f"ingestion-progress-{ingestion.id}")
        try:
            async with jobs.heartbeat(self.LEASE, renew):
                return await self._process(ingestion, chunks, tally, progress)
        finally:
            await cancel(publishing)

    async def _process(self, ingestion: Ingestion, chunks: AsyncIterable[bytes], tally: Tally,
                       progress: dict[str, int]) -> Ingestion:
        source = self._parsers[ingestion.format]
        pipeline = Pipeline(self._sink, ingestion.user_id, f"users/{ingestion.user_id}/ingestions/{ingestion.id}",
                            tally, self._profiles)

        async def counted() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                progress["bytes"] += len(chunk)
                yield chunk

        started = time.perf_counter()
        try:
            # The parse of the whole payload; Tracking's writes of what it yields are its children.
            with telemetry.span("ingest.parse", {"healthmesh.format": ingestion.format.name.lower()}):
                await pipeline.run(source(counted()))
        except asyncio.CancelledError:
            raise  # stopped, not failed: the job stays RUNNING and is taken up again once its lease ends
        except BaseException as exc:
            # Whatever went wrong, the job ends FAILED, saying why; then the caller hears of it.
            error = _unreadable(exc)
            if error is not None:
                tally.error(error.path, error.reason, error.message)
            elif isinstance(exc, DomainError):
                tally.error("$", exc.reason or exc.code, exc.message)
            else:
                tally.error("$", "INTERNAL", "the import stopped on an internal error; reprocess it later")
            failed = await self._fail(ingestion, tally, progress["bytes"])
            if error is None:
                raise
            invalid = InvalidArgument.field("body", error.message, error.reason)
            invalid.metadata["ingestion"] = f"users/{failed.user_id}/ingestions/{failed.id}"
            raise invalid from None
        log.info("ingestion %s: %d bytes parsed and written in %.2f s", ingestion.id, progress["bytes"],
                 time.perf_counter() - started)
        try:
            done = await self._repo.save_progress(ingestion.user_id, ingestion.id, State.SUCCEEDED, tally,
                                                  progress["bytes"], self._now(), complete=True)
            _count(ingestion, State.SUCCEEDED, tally, progress["bytes"])
            return done
        except Exception:
            tally.error("$", "INTERNAL", "the outcome could not be stored; reprocess it later")
            await self._fail(ingestion, tally, progress["bytes"])
            raise

    async def _fail(self, ingestion: Ingestion, tally: Tally, processed: int) -> Ingestion:
        """Records the job FAILED. Should its tally be refused, the job still ends FAILED, with the
        one error that says so, rather than stay RUNNING."""
        _count(ingestion, State.FAILED, tally, processed)
        try:
            return await self._repo.save_progress(ingestion.user_id, ingestion.id, State.FAILED, tally, processed,
                                                  self._now(), complete=True)
        except Exception:
            log.exception("ingestion %s: its outcome could not be stored", ingestion.id)
            bare = Tally(data_start=tally.data_start, data_end=tally.data_end)
            bare.error("$", "INTERNAL", "the outcome of this import could not be stored; reprocess it")
            return await self._repo.save_progress(ingestion.user_id, ingestion.id, State.FAILED, bare, processed,
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
            await pipeline.run(_from_sync([samples]))
        except BaseException as exc:
            if isinstance(exc, DomainError):
                tally.error("$", exc.reason or exc.code, exc.message)
            else:
                tally.error("$", "INTERNAL", "the import stopped on an internal error")
            await self._fail(ingestion, tally, 0)
            raise
        done = await self._repo.save_progress(user_id, ingestion.id, State.SUCCEEDED, tally, 0, self._now(),
                                              complete=True)
        _count(ingestion, State.SUCCEEDED, tally, 0)
        return done

    async def get(self, user_id: uuid.UUID, ingestion_id: uuid.UUID) -> Ingestion:
        found = await self._repo.get(user_id, ingestion_id)
        if found is None:
            raise NotFound(f"users/{user_id}/ingestions/{ingestion_id} does not exist")
        return found

    async def list(self, user_id: uuid.UUID, state: State | None, fmt: Format | None, limit: int,
                   before: uuid.UUID | None) -> list[Ingestion]:
        return await self._repo.list(user_id, state, fmt, limit, before)


def _count(ingestion: Ingestion, state: State, tally: Tally, processed_bytes: int) -> None:
    """An ingestion's end in the metrics: by format and outcome only (no user, no metric names)."""
    items = {o: sum(getattr(c, o) for c in tally.counts.values()) for o in OUTCOMES}
    metrics.ingest_finished(ingestion.format.name.lower(), state.name, processed_bytes, items)


def _unreadable(exc: BaseException) -> PayloadError | None:
    """The PayloadError of an exception that says the bytes cannot be read (the client's to fix),
    or None for one that is ours (a bug, Tracking away)."""
    if isinstance(exc, PayloadError):
        return exc
    if isinstance(exc, UnicodeError):  # (the parsers say so themselves; this is for one that does not)
        return PayloadError("$", "INVALID_ENCODING", "the body is not in the encoding its format requires")
    if isinstance(exc, RecursionError):
        return PayloadError("$", "TOO_DEEP", "the body nests values too deeply to be read")
    return None


async def _from_sync(batches: Iterable[list]) -> AsyncIterator[list]:
    for batch in batches:
        yield batch
