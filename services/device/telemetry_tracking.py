"""Telemetry's way to Tracking: a WriteSamples stream per telemetry stream, carrying bytes.

A TelemetryBatch has the field numbers of a WriteSamplesRequest (sequence 1, samples 3, columns
6), so its encoding is sent on as it is, with the user (2), ingest id (4) and default source (5)
appended: protobuf reads concatenated encodings as one message, the last value of a field
winning, so a device cannot name another user or source by setting those numbers itself. Its sync
fields (10, 11) are unknown to Tracking, which ignores them. Tracking's ack is a TelemetryAck's
encoding too, and goes back to the device as it came.
"""

from __future__ import annotations

import asyncio
import uuid

import grpc
from healthmesh.tracking.v1 import tracking_internal_service_pb2

from services.common.errors import InvalidArgument, Unavailable
from services.common.peers import Peers
from services.device.telemetry import AckCounts
from services.device.telemetry_service import Ack

WRITE_SAMPLES = "/healthmesh.tracking.v1.TrackingInternalService/WriteSamples"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(number: int, data: bytes) -> bytes:
    """One length-delimited field (a string, bytes or a message) as protobuf encodes it."""
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def envelope_tail(user_id: uuid.UUID, ingest_id: str, default_source: str) -> bytes:
    """What Device appends to every forwarded batch: WriteSamplesRequest's user, ingest_id and default_source."""
    return (length_delimited(2, f"users/{user_id}".encode()) + length_delimited(4, ingest_id.encode())
            + length_delimited(5, default_source.encode()))


def ack_of(payload: bytes) -> Ack:
    a = tracking_internal_service_pb2.WriteSamplesResponse.FromString(payload)
    return Ack(AckCounts(a.sequence, a.accepted, a.duplicate, a.updated, a.rejected), payload)


def _failure(exc: grpc.aio.AioRpcError) -> Exception:
    if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(f"tracking refused the batch: {exc.details()}")
    return Unavailable(f"tracking did not take the batch ({exc.code().name}); resend it")


class GrpcTrackingCall:
    def __init__(self, call, tail: bytes) -> None:
        self._call = call
        self._tail = tail

    async def write(self, payload: bytes) -> None:
        try:
            await self._call.write(payload + self._tail)
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc) from None
        except (grpc.aio.UsageError, asyncio.InvalidStateError):  # the call ended: its status comes with a read
            await self.read()
            raise Unavailable("tracking closed the sample stream; resend the batches not acknowledged") from None

    async def read(self) -> Ack:
        try:
            payload = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc) from None
        if payload is grpc.aio.EOF:
            raise Unavailable("tracking closed the sample stream; resend the batches not acknowledged")
        return ack_of(payload)

    async def done_writing(self) -> None:
        try:
            await self._call.done_writing()
            while await self._call.read() is not grpc.aio.EOF:  # drain, so the call ends cleanly
                pass
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc) from None

    def cancel(self) -> None:
        self._call.cancel()


class GrpcTracking:
    def __init__(self, peers: Peers) -> None:
        self._peers = peers

    def open(self, user_id: uuid.UUID, ingest_id: str, default_source: str) -> GrpcTrackingCall:
        # No serializers: the batches go as the bytes they came in, the acks come back as bytes.
        method = self._peers.channel("tracking").stream_stream(WRITE_SAMPLES)
        return GrpcTrackingCall(method(metadata=self._peers.metadata(str(user_id))),
                                envelope_tail(user_id, ingest_id, default_source))
