"""Assembles Ingest: archive and ingestion storage, parsers, the path into Tracking, servicers."""

from __future__ import annotations

import asyncio

from healthmesh.ingest.v1 import ingest_service_pb2_grpc

from services.common import readiness
from services.common.app import Built, consume_erasures, remote_runtime
from services.common.background import cancel
from services.common.config import Settings
from services.common.db import create_engine
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec
from services.ingest.domain import Format
from services.ingest.erasure import erase_user
from services.ingest.apple import parse_export
from services.ingest.hae.parser import HaeParser
from services.ingest.profile_sink import ProfileSink
from services.ingest.repository import SqlIngestRepository
from services.ingest.service import IngestService
from services.ingest.servicer import IngestServicer
from services.ingest.sources import from_file, incremental
from services.ingest.tracking_sink import TrackingSink

SPEC = ServiceSpec("ingest")


async def build(settings: Settings) -> Built:
    engine = create_engine(settings, "ingest")
    runtime = remote_runtime(SPEC, settings, engine)
    runtime.readiness_check = readiness.database(settings.database_url, SPEC.name)
    page_tokens = PageTokens.from_config(settings.page_token_keys, settings.service_token)
    parsers = {Format.HEALTH_AUTO_EXPORT: incremental(HaeParser), Format.APPLE_HEALTH_EXPORT: from_file(parse_export)}
    service = IngestService(SqlIngestRepository(engine), TrackingSink(runtime.peers), parsers,
                            background_bytes=settings.ingest_background_bytes, profiles=ProfileSink(runtime.peers))
    # The background worker: large uploads, and jobs left unfinished by a stopped worker.
    jobs = asyncio.create_task(service.run_jobs(runtime.shutdown), name="ingest-jobs")

    async def stop_jobs() -> None:
        await cancel(jobs)

    def add_servicers(server) -> None:
        ingest_service_pb2_grpc.add_IngestServiceServicer_to_server(IngestServicer(service, page_tokens), server)

    stop_erasures = consume_erasures(runtime, engine, erase_user)
    return Built(runtime, add_servicers, [engine.dispose, stop_jobs, stop_erasures])
