"""Signed page tokens over real gRPC, with Tracking, Auth and Ingest wired as in production (app.py):
pages still walk whole lists, and tokens a client made itself are INVALID_ARGUMENT on page_token."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from healthmesh.auth.v1 import api_key_pb2, auth_service_pb2, auth_service_pb2_grpc
from healthmesh.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc
from healthmesh.tracking.v1 import sample_pb2, tracking_service_pb2, tracking_service_pb2_grpc

from services.common.config import Settings
from services.common.db import migrate
from services.common.server import create_server, stop_server
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.test_auth_service import bearer, register_and_login
from tests.integration.tracking_harness import start_tracking, stop_tracking

T0 = dt.datetime(2026, 3, 1, 7, 0, tzinfo=dt.UTC)
URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def unsigned_token(cursor: list, query: dict) -> str:
    """A token in the format before signing, as anyone could make one: base64 JSON of the cursor
    and an unkeyed fingerprint of the query, computed exactly as the server used to."""
    fingerprint = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]
    payload = json.dumps({"c": cursor, "q": fingerprint}, default=str).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def page_token_violations(err: grpc.aio.AioRpcError) -> list[str]:
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    return [v.field for v in bad.field_violations]
    return []


async def refused(call) -> list[str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return page_token_violations(err.value)


def ts(t: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(t)
    return out


def weight(minutes: int) -> sample_pb2.Sample:
    return sample_pb2.Sample(type="weight", start_time=ts(T0 + dt.timedelta(minutes=minutes)), value=70 + minutes,
                             unit="kg", source="Scale", utc_offset_minutes=60)


@pytest.fixture
async def tracking(migrated_dsn, auth_harness):
    server = await start_tracking(migrated_dsn, auth_harness.port)
    yield tracking_service_pb2_grpc.TrackingServiceStub(server.channel), auth_service_pb2_grpc.AuthServiceStub(
        auth_harness.channel), server.port
    await stop_tracking(server)


async def test_sample_pages_walk_the_whole_list_with_signed_tokens(tracking):
    stub, auth, _ = tracking
    _, session = await register_and_login(auth)
    md = bearer(session.access_token)
    await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(
        parent="users/me", samples=[weight(i) for i in range(5)]), metadata=md)
    request = tracking_service_pb2.ListSamplesRequest(parent="users/me", type="weight", page_size=2)
    seen, tokens = [], []
    while True:
        page = await stub.ListSamples(request, metadata=md)
        seen += [s.value for s in page.samples]
        if not page.next_page_token:
            break
        tokens.append(page.next_page_token)
        request.page_token = page.next_page_token
    assert seen == [74, 73, 72, 71, 70] and len(tokens) == 2  # newest first, as the contract says
    assert all(set(t) <= URL_SAFE and len(t) < 200 for t in tokens)


async def test_forged_sample_tokens_are_invalid_argument_on_page_token(tracking):
    stub, auth, _ = tracking
    user, session = await register_and_login(auth)
    md = bearer(session.access_token)
    await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(
        parent="users/me", samples=[weight(i) for i in range(3)]), metadata=md)
    query = {"user": user.name.removeprefix("users/"), "type": "weight", "source": None, "start": None, "end": None,
             "order": "desc"}
    forged = [
        # A well-formed cursor the old server accepted: it resumed wherever the client said.
        unsigned_token([(T0 + dt.timedelta(minutes=1)).isoformat(), "weight", "Scale"], query),
        unsigned_token(["9999-12-31T23:59:59+00:00", "weight", "Scale"], query),
        unsigned_token(["0001-01-01T00:00:00+01:00", "weight", "Scale"], query),
        unsigned_token([T0.isoformat(), "weight", "Sc\x00ale"], query),
        unsigned_token([123], query),
        "!!!",
    ]
    for token in forged:
        assert await refused(stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
            parent="users/me", type="weight", page_token=token), metadata=md)) == ["page_token"], token


async def test_a_token_is_bound_to_the_user_and_filters_that_made_it(tracking):
    stub, auth, _ = tracking
    _, first = await register_and_login(auth)
    _, second = await register_and_login(auth)
    for session in (first, second):
        await stub.BatchCreateSamples(tracking_service_pb2.BatchCreateSamplesRequest(
            parent="users/me", samples=[weight(i) for i in range(3)]), metadata=bearer(session.access_token))
    page = await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
        parent="users/me", type="weight", page_size=1), metadata=bearer(first.access_token))
    assert await refused(stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
        parent="users/me", type="weight", page_size=1, page_token=page.next_page_token),
        metadata=bearer(second.access_token))) == ["page_token"]
    assert await refused(stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
        parent="users/me", type="heart_rate", page_size=1, page_token=page.next_page_token),
        metadata=bearer(first.access_token))) == ["page_token"]
    # A token from one list is not a token for another list of the same user.
    assert await refused(stub.ListActivities(tracking_service_pb2.ListActivitiesRequest(
        parent="users/me", page_token=page.next_page_token), metadata=bearer(first.access_token))) == ["page_token"]


@pytest.mark.parametrize("cursor", [[123], [[]], ["not-a-uuid"]])
async def test_forged_api_key_tokens_are_invalid_argument_on_page_token(auth_harness, cursor):
    stub = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    user, session = await register_and_login(stub)
    md = bearer(session.access_token)
    for i in range(3):
        await stub.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
            parent="users/me", api_key=api_key_pb2.ApiKey(display_name=f"k{i}")), metadata=md)
    token = unsigned_token(cursor, {"parent": user.name.removeprefix("users/")})
    assert await refused(stub.ListApiKeys(auth_service_pb2.ListApiKeysRequest(
        parent="users/me", page_token=token), metadata=md)) == ["page_token"]
    page = await stub.ListApiKeys(auth_service_pb2.ListApiKeysRequest(parent="users/me", page_size=2), metadata=md)
    rest = await stub.ListApiKeys(auth_service_pb2.ListApiKeysRequest(
        parent="users/me", page_size=2, page_token=page.next_page_token), metadata=md)
    assert len({k.name for k in [*page.api_keys, *rest.api_keys]}) == 3 and not rest.next_page_token


async def test_ingestion_pages_are_signed_and_walk_the_whole_list(migrated_dsn, auth_harness, tracking):
    from services.ingest.app import build

    _, auth, tracking_port = tracking
    await migrate(migrated_dsn, "ingest")
    user, session = await register_and_login(auth)
    md = bearer(session.access_token)
    built = await build(Settings(DATABASE_URL=migrated_dsn, service_token=SERVICE_TOKEN,
                                 auth_addr=f"127.0.0.1:{auth_harness.port}", tracking_addr=f"127.0.0.1:{tracking_port}"))
    server, port = await create_server(built.runtime, built.add_servicers)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub = ingest_service_pb2_grpc.IngestServiceStub(channel)
        for i in range(3):
            await stub.IngestBatch(ingest_service_pb2.IngestBatchRequest(
                parent="users/me", request_id=str(uuid.uuid4()), samples=[weight(i)]), metadata=md)
        request = ingest_service_pb2.ListIngestionsRequest(parent="users/me", page_size=2)
        names = []
        while True:
            page = await stub.ListIngestions(request, metadata=md)
            names += [i.name for i in page.ingestions]
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        assert len(set(names)) == 3
        query = {"parent": user.name.removeprefix("users/"), "state": 0, "format": 0}
        for cursor in ([names[0].rsplit("/", 1)[1]], [123]):
            assert await refused(stub.ListIngestions(ingest_service_pb2.ListIngestionsRequest(
                parent="users/me", page_token=unsigned_token(cursor, query)), metadata=md)) == ["page_token"]
    finally:
        await channel.close()
        await stop_server(server, built.runtime, 0.5)
        await built.close()
