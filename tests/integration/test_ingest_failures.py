"""However an import stops, its ingestion ends FAILED with a reason (real PostgreSQL, Ingest's
use case with parsers and a Tracking that fail on purpose): an exception a parser lets escape,
Tracking going away while samples are stored, a bug, even the FAILED outcome itself refused once.
The caller hears a clean error for what is the client's to fix and the exception for a bug."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from services.common.config import Settings
from services.common.db import create_engine, migrate
from services.common.errors import InvalidArgument, Unavailable
from services.ingest.domain import Format, RequestHeaders, State
from services.ingest.records import SampleRecord
from services.ingest.repository import SqlIngestRepository
from services.ingest.service import IngestService

WHEN = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
async def repo(migrated_dsn):
    await migrate(migrated_dsn, "ingest")
    engine = create_engine(Settings(DATABASE_URL=migrated_dsn))
    yield SqlIngestRepository(engine)
    await engine.dispose()


def failing_source(exc: BaseException, after_records: bool = False):
    """A parser that reads the body, then raises `exc` (after a batch of one sample, if asked)."""

    async def records(chunks):
        async for _ in chunks:
            pass
        if after_records:
            yield [SampleRecord("heart_rate", "$[0]", "heart_rate", WHEN, None, 60, 60.0, "/min", "W")]
        raise exc

    return records


def one_sample_source():
    async def records(chunks):
        async for _ in chunks:
            pass
        yield [SampleRecord("heart_rate", "$[0]", "heart_rate", WHEN, None, 60, 60.0, "/min", "W")]

    return records


class _Stream:
    def __init__(self, error: BaseException) -> None:
        self._error = error

    async def send(self, tag, batch):
        raise self._error

    async def drain(self):
        return []

    async def close(self) -> None:
        pass


class FailingTracking:
    """Tracking that takes nothing: each sample stream fails with `error`."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def open_samples(self, user_id, ingest_name):
        return _Stream(self._error)

    async def import_records(self, user_id, records):
        raise self._error


class RefusesFailedOnce:
    """The real repository, except that the first FAILED outcome it is given is refused."""

    def __init__(self, repo: SqlIngestRepository) -> None:
        self._repo, self.refused = repo, 0

    async def save_progress(self, user_id, ingestion_id, state, tally, *rest, **kw):
        if state == State.FAILED and not self.refused:
            self.refused += 1
            raise RuntimeError("the database refused the tally")
        return await self._repo.save_progress(user_id, ingestion_id, state, tally, *rest, **kw)

    def __getattr__(self, name):
        return getattr(self._repo, name)


async def body():
    yield "application/json", b'{"data": {}}'


def service(repo, source, sink=None) -> IngestService:
    return IngestService(repo, sink or FailingTracking(AssertionError("not called")),
                         {Format.HEALTH_AUTO_EXPORT: source})


async def only_ingestion(repo, user_id):
    [ingestion] = await repo.list(user_id, None, None, 10, None)
    return ingestion


@pytest.mark.parametrize("exc, reason", [
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "INVALID_ENCODING"),
    (RecursionError("maximum recursion depth exceeded"), "TOO_DEEP"),
])
async def test_an_escaped_parser_error_about_the_bytes_is_invalid_argument(repo, exc, reason):
    user_id = uuid.uuid4()
    with pytest.raises(InvalidArgument) as err:
        await service(repo, failing_source(exc)).ingest_upload(user_id, "", Format.HEALTH_AUTO_EXPORT,
                                                               RequestHeaders(), body())
    assert err.value.reason == reason and err.value.metadata["ingestion"].startswith(f"users/{user_id}/")
    ingestion = await only_ingestion(repo, user_id)
    assert ingestion.state == State.FAILED and [e.reason for e in ingestion.tally.errors] == [reason]


@pytest.mark.parametrize("exc", [RuntimeError("a parser's bug"), ValueError("unexpected"), KeyError("x")])
async def test_a_bug_in_a_parser_ends_the_job_failed_and_reaches_the_interceptor(repo, exc):
    user_id = uuid.uuid4()
    with pytest.raises(type(exc)):
        await service(repo, failing_source(exc, after_records=True)).ingest_upload(
            user_id, "", Format.HEALTH_AUTO_EXPORT, RequestHeaders(), body())
    ingestion = await only_ingestion(repo, user_id)
    assert ingestion.state == State.FAILED and [e.reason for e in ingestion.tally.errors] == ["INTERNAL"]
    assert ingestion.complete_time is not None


async def test_tracking_going_away_while_storing_ends_the_job_failed(repo):
    user_id = uuid.uuid4()
    sink = FailingTracking(Unavailable("tracking did not take the samples: UNAVAILABLE"))
    with pytest.raises(Unavailable):
        await service(repo, one_sample_source(), sink).ingest_upload(user_id, "", Format.HEALTH_AUTO_EXPORT,
                                                                     RequestHeaders(), body())
    ingestion = await only_ingestion(repo, user_id)
    assert ingestion.state == State.FAILED and [e.reason for e in ingestion.tally.errors] == ["UNAVAILABLE"]


async def test_a_failed_outcome_refused_once_is_stored_bare(repo):
    user_id = uuid.uuid4()
    refusing = RefusesFailedOnce(repo)
    with pytest.raises(RuntimeError):
        await service(refusing, failing_source(RuntimeError("bug"))).ingest_upload(
            user_id, "", Format.HEALTH_AUTO_EXPORT, RequestHeaders(), body())
    assert refusing.refused == 1
    ingestion = await only_ingestion(repo, user_id)
    assert ingestion.state == State.FAILED
    assert [(e.path, e.reason) for e in ingestion.tally.errors] == [("$", "INTERNAL")]


async def test_a_stopped_import_stays_running_for_the_next_worker(repo):
    """Cancelled is not failed: the job keeps its state and lease, and is taken up again."""
    user_id = uuid.uuid4()
    with pytest.raises(asyncio.CancelledError):
        await service(repo, failing_source(asyncio.CancelledError())).ingest_upload(
            user_id, "", Format.HEALTH_AUTO_EXPORT, RequestHeaders(), body())
    assert (await only_ingestion(repo, user_id)).state == State.RUNNING
