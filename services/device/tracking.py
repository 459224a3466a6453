"""Device's registry meets Tracking through its generated stubs: the sample catalog (for
capabilities) and WriteSamples for uploads, as the user the device belongs to."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

import grpc
from healthmesh.tracking.v1 import (
    tracking_internal_service_pb2, tracking_internal_service_pb2_grpc, tracking_service_pb2,
    tracking_service_pb2_grpc,
)

from services.common.errors import InvalidArgument, Unavailable
from services.common.peers import Peers
from services.device.domain import Device, Rejection, WriteCounts


class TrackingSampleTypes:
    """Tracking's catalog keys, read once and again every `ttl_seconds` (the catalog is code in
    Tracking and changes only with a release)."""

    def __init__(self, peers: Peers, ttl_seconds: float = 600.0) -> None:
        self._peers = peers
        self._ttl = ttl_seconds
        self._types: frozenset[str] = frozenset()
        self._read_at = -1e18

    async def known(self) -> Collection[str]:
        if time.monotonic() - self._read_at < self._ttl and self._types:
            return self._types
        stub = tracking_service_pb2_grpc.TrackingServiceStub(self._peers.channel("tracking"))
        types: set[str] = set()
        token = ""
        try:
            while True:
                reply = await stub.ListSampleTypes(
                    tracking_service_pb2.ListSampleTypesRequest(page_size=1000, page_token=token),
                    metadata=self._peers.metadata(), timeout=5.0)
                types.update(t.type for t in reply.sample_types)
                token = reply.next_page_token
                if not token:
                    break
        except grpc.aio.AioRpcError as exc:
            if self._types:  # an old catalog beats none
                return self._types
            raise Unavailable(f"tracking's sample catalog could not be read ({exc.code().name}); try again") from None
        self._types, self._read_at = frozenset(types), time.monotonic()
        return self._types


class GrpcSampleWriter:
    """One upload is one batch on a WriteSamples stream of its own."""

    def __init__(self, peers: Peers, timeout_seconds: float = 60.0) -> None:
        self._peers = peers
        self._timeout = timeout_seconds

    async def write(self, device: Device, samples: Sequence[object], kept: Sequence[int]) -> WriteCounts:
        request = tracking_internal_service_pb2.WriteSamplesRequest(
            sequence=1, user=f"users/{device.user_id}", ingest_id=device.name, default_source=device.sample_source)
        request.samples.extend(samples[i] for i in kept)
        stub = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(self._peers.channel("tracking"))
        try:
            call = stub.WriteSamples(metadata=self._peers.metadata(str(device.user_id)), timeout=self._timeout)
            await call.write(request)
            await call.done_writing()
            ack = await call.read()
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(f"tracking refused the samples: {exc.details()}") from None
            raise Unavailable(f"tracking did not take the samples ({exc.code().name}); send them again") from None
        if ack is grpc.aio.EOF:
            raise Unavailable("tracking closed the sample stream without an answer; send the samples again")
        return WriteCounts(ack.accepted, ack.duplicate, ack.updated, ack.rejected,
                           tuple(Rejection(e.index, e.reason, e.message, e.field) for e in ack.errors))
