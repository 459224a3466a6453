"""Ingest's gRPC surface: parse the request, call the use case, render the response."""

from __future__ import annotations

import uuid

from healthmesh.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc

from services.common import pagination
from services.common.errors import InvalidArgument
from services.common.principal import caller_parent, current_principal, parse_name
from services.ingest import convert
from services.ingest.domain import Format, State
from services.ingest.service import IngestService


def _caller() -> tuple[uuid.UUID, str]:
    principal = current_principal.get()
    user_id = uuid.UUID(principal.require_user())
    return user_id, principal.actor if principal.kind == "api_key" else ""


def _name(name: str) -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, "users/{user}/ingestions/{ingestion}", current_principal.get())
    return uuid.UUID(ids["user"]), uuid.UUID(ids["ingestion"])


async def _body(request_iterator):
    """(content type, bytes) of each HttpBody chunk Envoy streams in."""
    async for part in request_iterator:
        yield part.content_type, part.data


class IngestServicer(ingest_service_pb2_grpc.IngestServiceServicer):
    def __init__(self, service: IngestService, page_tokens: pagination.PageTokens) -> None:
        self._svc = service
        self._page_tokens = page_tokens

    async def _upload(self, request_iterator, context, fmt: Format):
        user_id, api_key = _caller()
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        # RFC 7240: `Prefer: respond-async` asks for the background path whatever the size.
        respond_async = "respond-async" in metadata.get("prefer", "")
        ingestion = await self._svc.ingest_upload(user_id, api_key, fmt, convert.request_headers(metadata),
                                                  _body(request_iterator), respond_async)
        return convert.ingestion(ingestion)

    async def IngestHealthAutoExport(self, request_iterator, context):
        return await self._upload(request_iterator, context, Format.HEALTH_AUTO_EXPORT)

    async def UploadAppleHealthExport(self, request_iterator, context):
        return await self._upload(request_iterator, context, Format.APPLE_HEALTH_EXPORT)

    async def IngestBatch(self, request, context):
        user_id = caller_parent(request.parent)
        _, api_key = _caller()
        records = [convert.sample_record(s.type or "unknown", f"$.samples[{i}]", s) for i, s in enumerate(request.samples)]
        return convert.ingestion(await self._svc.ingest_batch(user_id, api_key, request.request_id, records))

    async def GetIngestion(self, request, context):
        return convert.ingestion(await self._svc.get(*_name(request.name)))

    async def ReprocessIngestion(self, request, context):
        return convert.ingestion(await self._svc.reprocess(*_name(request.name)))

    async def ListIngestions(self, request, context):
        user_id = caller_parent(request.parent)
        try:
            state = State(request.state) if request.state else None
            fmt = Format(request.format) if request.format else None
        except ValueError:
            raise InvalidArgument.field("state", "is not a known value") from None
        query = {"parent": str(user_id), "state": request.state, "format": request.format}
        size = pagination.page_size(request.page_size)
        cursor = self._page_tokens.decode_keyset(request.page_token, query, uuid.UUID)
        found = await self._svc.list(user_id, state, fmt, size, cursor[0] if cursor else None)
        token = self._page_tokens.encode([str(found[-1].id)], query) if len(found) == size else ""
        return ingest_service_pb2.ListIngestionsResponse(ingestions=[convert.ingestion(i) for i in found],
                                                         next_page_token=token)
