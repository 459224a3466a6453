"""StreamTelemetry end to end in process (Auth, Tracking and Device servers on port 0, real
PostgreSQL): the contract comment on the RPC, and the client library against it."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from healthmesh.device.v1 import device_service_pb2 as pb

from client.telemetry import BufferFull, TelemetryClient, TelemetryError
from tests.integration.telemetry_harness import (
    Devices, Stack, heart_rate_columns, heart_rate_samples, new_user, start_device, stop_device, stored, until,
)
from tests.integration.tracking_harness import start_tracking, stop_tracking


@pytest.fixture
async def stack(auth_harness, migrated_dsn):
    tracking = await start_tracking(migrated_dsn, auth_harness.port)
    devices = Devices()
    device = await start_device(migrated_dsn, auth_harness.port, tracking.port, devices)
    yield Stack(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel), auth_harness.port, tracking, device,
                devices, migrated_dsn)
    await stop_device(device)
    await stop_tracking(tracking)




def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def batch(sequence: int, first: int, n: int) -> pb.StreamTelemetryRequest:
    return pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=sequence, samples=heart_rate_samples(first, n)))


def open_(device: str, resume: bool = True) -> pb.StreamTelemetryRequest:
    return pb.StreamTelemetryRequest(open=pb.TelemetryOpen(device=device, resume=resume))


async def opened(stack: Stack, token: str, device: str, resume: bool = True):
    call = stack.device.stub.StreamTelemetry(metadata=bearer(token))
    await call.write(open_(device, resume))
    first = await call.read()
    assert first.WhichOneof("kind") == "resume_point"
    return call, first.resume_point.last_sequence


async def rest_of(call) -> list[pb.StreamTelemetryResponse]:
    out = []
    while (r := await call.read()) is not grpc.aio.EOF:
        out.append(r)
    return out


async def ended_with(call) -> grpc.StatusCode:
    try:
        while await call.read() is not grpc.aio.EOF:
            pass
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return await call.code()


async def test_batches_are_acked_in_order_once_stored_and_half_close_ends_ok(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    call, point = await opened(stack, login.access_token, device.name)
    assert point == 0
    for n in range(1, 4):  # three batches before the first ack is read, then half-close
        await call.write(batch(n, (n - 1) * 100, 100))
    await call.done_writing()
    acks = [r.ack for r in await rest_of(call)]
    assert [a.sequence for a in acks] == [1, 2, 3]
    assert [a.accepted for a in acks] == [100, 100, 100]
    assert await call.code() == grpc.StatusCode.OK
    assert await stored(stack.dsn, user_id) == 300


async def test_resume_point_survives_the_stream_and_sequences_must_rise_above_it(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    call, _ = await opened(stack, login.access_token, device.name)
    for n in (1, 2, 5):
        await call.write(batch(n, n * 10, 10))
    await call.done_writing()
    assert [r.ack.sequence for r in await rest_of(call)] == [1, 2, 5]

    call, point = await opened(stack, login.access_token, device.name)
    assert point == 5
    await call.write(batch(5, 50, 10))  # not above the resume point
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call.read()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "batch.sequence" in err.value.details()

    call, point = await opened(stack, login.access_token, device.name, resume=False)
    assert point == 0  # afresh: the device's sequences start again
    await call.write(batch(1, 10, 10))  # batch 1's samples again
    ack = (await call.read()).ack
    assert (ack.sequence, ack.duplicate) == (1, 10)  # the same samples again: duplicates, not new rows
    await call.done_writing()
    assert await ended_with(call) == grpc.StatusCode.OK
    assert await stored(stack.dsn, user_id) == 30


async def test_a_bad_sample_is_rejected_in_the_ack_and_the_stream_goes_on(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    call, _ = await opened(stack, login.access_token, device.name)
    samples = heart_rate_samples(0, 5)
    samples[2].type = "no_such_type"
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=1, samples=samples)))
    ack = (await call.read()).ack
    assert (ack.accepted, ack.rejected) == (4, 1)
    assert [e.index for e in ack.errors] == [2] and ack.errors[0].reason
    await call.write(batch(2, 10, 5))
    assert (await call.read()).ack.accepted == 5
    await call.done_writing()
    assert await ended_with(call) == grpc.StatusCode.OK
    assert await stored(stack.dsn, user_id) == 9


async def test_bad_text_or_numbers_in_a_sample_are_rejected_in_the_ack_and_the_stream_goes_on(stack):
    """The request walk would end the stream for one NUL; streamed samples are checked per sample."""
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    call, _ = await opened(stack, login.access_token, device.name)
    few = heart_rate_samples(0, 6)  # checked row by row
    few[1].source = "Watch\x00"
    few[3].source = "x" * 300
    few[4].value = float("nan")
    few[5].min = float("nan")  # a min sent as NaN is refused, not read as no min
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=1, samples=few)))
    many = heart_rate_samples(100, 70)  # checked with arrays
    many[3].source = "Watch\x00"
    many[65].min = float("inf")
    many[66].min = float("nan")
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=2, samples=many)))
    columns = heart_rate_columns(200, 100)
    columns.strings.append("Bad\x00Watch")
    for i in range(10, 20):
        columns.source[i] = 3
    columns.min.extend([float("nan")] * 100)  # NaN in the columns form means none (its contract)
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=3, columns=columns)))
    acks = [(await call.read()).ack for _ in range(3)]
    assert [(e.index, e.field, e.reason) for e in acks[0].errors] == [
        (1, "source", "INVALID_TEXT"), (3, "source", "INVALID_TEXT"), (4, "value", "INVALID_VALUE"),
        (5, "min", "INVALID_VALUE")]
    assert "NUL" in acks[0].errors[0].message and "256" in acks[0].errors[1].message
    assert [(e.index, e.field, e.reason) for e in acks[1].errors] == [
        (3, "source", "INVALID_TEXT"), (65, "min", "INVALID_VALUE"), (66, "min", "INVALID_VALUE")]
    assert [(e.index, e.reason) for e in acks[2].errors] == [(i, "INVALID_TEXT") for i in range(10, 20)]
    assert [(a.accepted, a.rejected) for a in acks] == [(2, 4), (67, 3), (90, 10)]
    await call.write(batch(4, 400, 5))
    assert (await call.read()).ack.accepted == 5
    await call.done_writing()
    assert await ended_with(call) == grpc.StatusCode.OK
    assert await stored(stack.dsn, user_id) == 2 + 67 + 90 + 5


async def test_columns_are_stored_like_samples_and_default_to_the_device_source(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    call, _ = await opened(stack, login.access_token, device.name)
    await call.write(pb.StreamTelemetryRequest(batch=pb.TelemetryBatch(sequence=1, columns=heart_rate_columns(0, 500))))
    await call.write(batch(2, 1000, 3))  # no source: the device's sample_source
    assert (await call.read()).ack.accepted == 500
    assert (await call.read()).ack.accepted == 3
    await call.done_writing()
    assert await ended_with(call) == grpc.StatusCode.OK
    import asyncpg
    conn = await asyncpg.connect(stack.dsn)
    try:
        sources = dict(await conn.fetch("SELECT source, count(*) FROM tracking.samples WHERE user_id = $1 "
                                        "GROUP BY source", __import__("uuid").UUID(user_id)))
    finally:
        await conn.close()
    assert sources == {"Column Watch": 500, "Test Watch": 3}


@pytest.mark.parametrize("first, reason", [
    (pb.StreamTelemetryRequest(heartbeat=pb.TelemetryHeartbeat()), "not open"),
    (None, "second open"),
    ("both", "samples and columns"),
    ("big", "too big"),
])
async def test_envelope_errors_end_the_stream_with_invalid_argument(stack, first, reason):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    if isinstance(first, pb.StreamTelemetryRequest):
        call = stack.device.stub.StreamTelemetry(metadata=bearer(login.access_token))
        await call.write(first)
    else:
        call, _ = await opened(stack, login.access_token, device.name)
        if first is None:
            await call.write(open_(device.name))
        elif first == "both":
            b = pb.TelemetryBatch(sequence=1, samples=heart_rate_samples(0, 1), columns=heart_rate_columns(5, 1))
            await call.write(pb.StreamTelemetryRequest(batch=b))
        else:
            await call.write(batch(1, 0, 10_001))
    assert await ended_with(call) == grpc.StatusCode.INVALID_ARGUMENT, reason


async def test_another_users_device_is_permission_denied_and_an_unknown_one_not_found(stack):
    owner, _ = await new_user(stack.auth)
    _, other = await new_user(stack.auth)
    device = stack.devices.add(owner)
    call = stack.device.stub.StreamTelemetry(metadata=bearer(other.access_token))
    await call.write(open_(device.name))
    assert await ended_with(call) == grpc.StatusCode.PERMISSION_DENIED
    call = stack.device.stub.StreamTelemetry(metadata=bearer(other.access_token))
    await call.write(open_("users/me/devices/0192f5b0-0000-7000-8000-000000000000"))
    assert await ended_with(call) == grpc.StatusCode.NOT_FOUND


async def test_a_paused_device_cannot_stream(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id, paused=True)
    call = stack.device.stub.StreamTelemetry(metadata=bearer(login.access_token))
    await call.write(open_(device.name))
    assert await ended_with(call) == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_newer_stream_aborts_the_older_one(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    older, _ = await opened(stack, login.access_token, device.name)
    await older.write(batch(1, 0, 10))
    assert (await older.read()).ack.sequence == 1
    newer, point = await opened(stack, login.access_token, device.name)
    assert await ended_with(older) == grpc.StatusCode.ABORTED
    await newer.write(batch(point + 1, 10, 10))
    assert (await newer.read()).ack.accepted == 10
    await newer.done_writing()
    assert await ended_with(newer) == grpc.StatusCode.OK


async def test_logging_out_ends_the_stream_at_once_with_unauthenticated(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    call, _ = await opened(stack, login.access_token, device.name)
    await stack.auth.Logout(auth_service_pb2.LogoutRequest(refresh_token=login.refresh_token),
                            metadata=bearer(login.access_token))
    # The stream is idle: only the revocation (not a batch, not the minute's re-check) can end it.
    assert await ended_with(call) == grpc.StatusCode.UNAUTHENTICATED


async def test_shutdown_ends_streams_with_unavailable_after_acking_what_tracking_has(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    call, _ = await opened(stack, login.access_token, device.name)
    await call.write(batch(1, 0, 10))
    assert (await call.read()).ack.sequence == 1
    stack.device.runtime.shutdown.set()
    assert await ended_with(call) == grpc.StatusCode.UNAVAILABLE
    refused = stack.device.stub.StreamTelemetry(metadata=bearer(login.access_token))
    await refused.write(open_(device.name))
    assert await ended_with(refused) == grpc.StatusCode.UNAVAILABLE


async def test_credential_is_checked_again_on_the_timer(auth_harness, migrated_dsn):
    """With a short re-check period, a revoked API key ends an idle stream even when the
    revocation is not seen (the watcher's callback is left out here)."""
    tracking = await start_tracking(migrated_dsn, auth_harness.port)
    devices = Devices()
    device_server = await start_device(migrated_dsn, auth_harness.port, tracking.port, devices, recheck_seconds=0.2)
    device_server.runtime.authenticator.revocations._subscribers.clear()
    auth = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    try:
        user_id, login = await new_user(auth)
        key = await auth.CreateApiKey(auth_service_pb2.CreateApiKeyRequest(
            parent="users/me", api_key={"display_name": "watch"}), metadata=bearer(login.access_token))
        device = devices.add(user_id)
        call = device_server.stub.StreamTelemetry(metadata=bearer(key.secret))
        await call.write(open_(device.name))
        assert (await call.read()).WhichOneof("kind") == "resume_point"
        await auth.DeleteApiKey(auth_service_pb2.DeleteApiKeyRequest(name=key.api_key.name),
                                metadata=bearer(login.access_token))
        assert await ended_with(call) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await stop_device(device_server)
        await stop_tracking(tracking)


# The client library.

async def test_client_streams_rows_and_columns_and_closes_with_everything_acked(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    async with TelemetryClient(f"127.0.0.1:{stack.device.port}", device.name, login.access_token) as client:
        for n in range(10):
            await client.send(samples=heart_rate_samples(n * 100, 100))
        for n in range(10):
            await client.send(columns=heart_rate_columns(1000 + n * 100, 100))
    assert client.totals.accepted == 2000 and client.totals.batches == 20
    assert await stored(stack.dsn, user_id) == 2000


async def test_client_resumes_after_the_device_server_goes_away(auth_harness, migrated_dsn):
    tracking = await start_tracking(migrated_dsn, auth_harness.port)
    devices = Devices()
    first = await start_device(migrated_dsn, auth_harness.port, tracking.port, devices)
    port = first.port
    auth = auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)
    user_id, login = await new_user(auth)
    device = devices.add(user_id)
    second = None
    try:
        client = TelemetryClient(f"127.0.0.1:{port}", device.name, login.access_token, max_unacked=1000)
        await client.start()
        for n in range(20):
            await client.send(samples=heart_rate_samples(n * 50, 50))
        await until(lambda: _true(client.totals.batches >= 5))
        await stop_device(first, grace=0)  # streams end UNAVAILABLE; batches in flight are resent
        # At once on the same port: while it is free another process may be given it (and gRPC
        # binds with SO_REUSEPORT, so both would serve it).
        second = await start_device(migrated_dsn, auth_harness.port, tracking.port, devices, port=port)
        for n in range(20, 40):
            await client.send(samples=heart_rate_samples(n * 50, 50))
        await client.close()
        assert client.totals.reconnects >= 1
        assert await stored(migrated_dsn, user_id) == 2000, client.totals
    finally:
        if second is not None:
            await stop_device(second)
        await stop_tracking(tracking)


async def _true(value: bool) -> bool:
    return value


async def test_client_asks_for_a_fresh_token_after_unauthenticated(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    tokens = iter(["not-a-token", login.access_token])
    asked = []

    def token() -> str:
        asked.append(1)
        return next(tokens)

    async with TelemetryClient(f"127.0.0.1:{stack.device.port}", device.name, token) as client:
        await client.send(samples=heart_rate_samples(0, 10))
    assert len(asked) == 2 and client.totals.accepted == 10


async def test_client_gives_up_when_a_fresh_token_is_refused_too(stack):
    user_id, _ = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    client = TelemetryClient(f"127.0.0.1:{stack.device.port}", device.name, lambda: "still-not-a-token")
    with pytest.raises(TelemetryError) as err:
        await client.start()
    assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
    await client.abort()


async def test_client_buffer_is_bounded_with_a_clear_error(stack):
    user_id, login = await new_user(stack.auth)
    device = stack.devices.add(user_id)
    client = TelemetryClient(f"127.0.0.1:{stack.device.port}", device.name, login.access_token, max_unacked=2)
    await client.send(samples=heart_rate_samples(0, 1), wait=False)  # before start: nothing can be acked yet
    await client.send(samples=heart_rate_samples(1, 1), wait=False)
    with pytest.raises(BufferFull, match="max_unacked=2"):
        await client.send(samples=heart_rate_samples(2, 1), wait=False)
    assert [b.sequence for b in client.unacked()] == [1, 2]
    await client.start()
    await client.close()
    assert client.totals.accepted == 2


async def test_client_stops_on_an_error_resending_cannot_fix(stack):
    owner, _ = await new_user(stack.auth)
    _, other = await new_user(stack.auth)
    device = stack.devices.add(owner)
    client = TelemetryClient(f"127.0.0.1:{stack.device.port}", device.name, other.access_token)
    with pytest.raises(TelemetryError) as err:
        await client.start()
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    await client.abort()
