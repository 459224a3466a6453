"""Ingest's background jobs with real PostgreSQL, Auth and Tracking in-process: a job left behind
by a worker that stopped (after archiving, before or while parsing) is finished by the next one."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
import zlib
from pathlib import Path

import pytest
from healthmesh.auth.v1 import auth_service_pb2_grpc

from services.common.config import Settings
from services.common.db import create_engine, migrate
from services.common.ids import uuid7
from services.common.server import create_server, stop_server
from services.ingest import archive
from services.ingest.domain import Format, Ingestion, RequestHeaders, State, Tally
from services.ingest.repository import SqlIngestRepository
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.test_auth_service import register_and_login
from tests.integration.tracking_harness import start_tracking, stop_tracking

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hae" / "v1_legacy_mixed.json"


@pytest.fixture
async def mesh(migrated_dsn, auth_harness):
    await migrate(migrated_dsn, "ingest")
    tracking = await start_tracking(migrated_dsn, auth_harness.port)
    _, session = await register_and_login(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel))
    settings = Settings(DATABASE_URL=migrated_dsn, service_token=SERVICE_TOKEN,
                        auth_addr=f"127.0.0.1:{auth_harness.port}", tracking_addr=f"127.0.0.1:{tracking.port}")
    engine = create_engine(settings)
    yield settings, session, SqlIngestRepository(engine)
    await engine.dispose()
    await stop_tracking(tracking)


async def left_behind(repo: SqlIngestRepository, user_id, state: State, lease_until,
                      zlib_chunks: bool = False) -> Ingestion:
    """An archived upload whose worker stopped: PENDING, or RUNNING under an old lease; with
    `zlib_chunks`, archived as before LZ4 (zlib streams), and different bytes (so a digest of its own)."""
    spool = archive.Spool()
    body = FIXTURE.read_bytes() + (b"\n" if zlib_chunks else b"")
    spool.feed(body)
    digest = spool.finish()
    now = dt.datetime.now(dt.UTC)
    chunks = ([zlib.compress(body[i:i + archive.CHUNK_BYTES], 1) for i in range(0, len(body), archive.CHUNK_BYTES)]
              if zlib_chunks else spool.compressed_chunks())
    await repo.save_payload(digest, spool.size, "application/json", chunks, now)
    spool.close()
    return await repo.create(Ingestion(
        id=uuid7(), user_id=user_id, state=state, format=Format.HEALTH_AUTO_EXPORT, tally=Tally(),
        payload_digest=digest, payload_size_bytes=spool.size, content_type="application/json",
        request_headers=RequestHeaders(), request_id="", api_key="", reprocess_count=0, create_time=now,
        update_time=now, complete_time=None), lease_owner="a-worker-that-died" if lease_until else None,
        lease_until=lease_until)


@pytest.mark.parametrize("state, lease, zlib_chunks", [(State.PENDING, None, False),
                                                     (State.RUNNING, dt.timedelta(seconds=-5), False),
                                                     (State.PENDING, None, True)])
async def test_a_started_ingest_service_finishes_jobs_left_behind(mesh, state, lease, zlib_chunks):
    from services.ingest.app import build

    settings, session, repo = mesh
    user_id = uuid.UUID(session.user.name.split("/")[1])
    job = await left_behind(repo, user_id, state, dt.datetime.now(dt.UTC) + lease if lease else None, zlib_chunks)
    built = await build(settings)  # starts the background worker, as a restarted service would
    server, _ = await create_server(built.runtime, built.add_servicers)
    try:
        for _ in range(150):
            found = await repo.get(user_id, job.id)
            if found.state in (State.SUCCEEDED, State.FAILED):
                break
            await asyncio.sleep(0.1)
        assert found.state == State.SUCCEEDED
        assert found.tally.counts["blood_glucose"].accepted + found.tally.counts["blood_glucose"].duplicate == 2
        assert found.tally.counts["stateOfMind"].skipped >= 1
    finally:
        await stop_server(server, built.runtime, 0.5)
        await built.close()


async def test_progress_is_published_only_by_the_worker_holding_a_running_job(mesh):
    """save_processed_bytes, the once-a-second write: the holder's lands; one from a worker whose
    job was taken over, or after the outcome was saved, changes nothing."""
    _, session, repo = mesh
    user_id = uuid.UUID(session.user.name.split("/")[1])
    job = await left_behind(repo, user_id, State.RUNNING, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60))
    assert await repo.save_processed_bytes(user_id, job.id, "a-worker-that-died", 1234)
    assert (await repo.get(user_id, job.id)).processed_bytes == 1234
    assert not await repo.save_processed_bytes(user_id, job.id, "another-worker", 99)
    done = await repo.save_progress(user_id, job.id, State.SUCCEEDED, Tally(), job.payload_size_bytes,
                                    dt.datetime.now(dt.UTC), complete=True)
    assert not await repo.save_processed_bytes(user_id, job.id, "a-worker-that-died", 5)
    assert (await repo.get(user_id, job.id)).processed_bytes == done.processed_bytes == job.payload_size_bytes
