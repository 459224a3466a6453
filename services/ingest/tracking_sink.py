"""Where ingested records go: Tracking, through its generated stubs, as the user they belong to.

Samples travel as columns over WriteSamples streams (a few batches in flight, acks back in order);
activities and sleep nights a few hundred at a time through ImportRecords, with a request id
derived from each record's identity, so importing the same workout twice stores it once.
"""

from __future__ import annotations

import collections
import uuid
from dataclasses import dataclass

import grpc
from healthmesh.tracking.v1 import tracking_internal_service_pb2, tracking_internal_service_pb2_grpc

from services.common.errors import Unavailable
from services.common.peers import Peers
from services.ingest import convert
from services.ingest.records import SampleRows, SleepRecord, WorkoutRecord

NAMESPACE = uuid.UUID("6f1d7c52-5a0e-4f0e-9a53-4c1bde0b7a11")  # request ids of imported records


@dataclass(frozen=True)
class Ack:
    accepted: int
    duplicate: int
    updated: int
    errors: list[tuple[int, str, str]]  # (index in the batch, reason, message)


@dataclass(frozen=True)
class Outcome:
    outcome: str  # accepted, duplicate, updated or rejected
    reason: str = ""
    message: str = ""


class SampleStream:
    """A WriteSamples stream with a small window of batches in flight, so Ingest parses and
    encodes the next batch while Tracking commits the last one. Acks come back in order."""

    WINDOW = 2

    def __init__(self, call, user_name: str, ingest_name: str) -> None:
        self._call = call
        self._user = user_name
        self._ingest = ingest_name
        self._sequence = 0
        self._in_flight: collections.deque[object] = collections.deque()

    async def send(self, tag: object, batch: SampleRows) -> list[tuple[object, Ack]]:
        """Sends a batch; returns (tag, ack) for the batches acknowledged meanwhile."""
        self._sequence += 1
        try:
            await self._call.write(tracking_internal_service_pb2.WriteSamplesRequest(
                sequence=self._sequence, user=self._user, ingest_id=self._ingest,
                columns=convert.sample_columns(batch)))
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"tracking did not take the samples: {exc.code().name}") from None
        self._in_flight.append(tag)
        done = []
        while len(self._in_flight) > self.WINDOW:
            done.append(await self._ack())
        return done

    async def drain(self) -> list[tuple[object, Ack]]:
        """Waits for every batch in flight."""
        return [await self._ack() for _ in range(len(self._in_flight))]

    async def _ack(self) -> tuple[object, Ack]:
        try:
            ack = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"tracking did not take the samples: {exc.code().name}") from None
        if ack is grpc.aio.EOF:
            raise Unavailable("tracking closed the sample stream")
        tag = self._in_flight.popleft()
        return tag, Ack(ack.accepted, ack.duplicate, ack.updated, [(e.index, e.reason, e.message) for e in ack.errors])

    async def close(self) -> None:
        await self._call.done_writing()
        while await self._call.read() is not grpc.aio.EOF:  # drain, so the call ends cleanly
            pass


class TrackingSink:
    def __init__(self, peers: Peers) -> None:
        self._peers = peers

    def _metadata(self, user_id: uuid.UUID):
        return self._peers.metadata(str(user_id))

    def open_samples(self, user_id: uuid.UUID, ingest_name: str) -> SampleStream:
        stub = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(self._peers.channel("tracking"))
        return SampleStream(stub.WriteSamples(metadata=self._metadata(user_id)), f"users/{user_id}", ingest_name)

    async def import_records(self, user_id: uuid.UUID, records: list[WorkoutRecord | SleepRecord]) -> list[Outcome]:
        """Activities and sleep nights in one call, each with a request id derived from its
        identity (so importing it twice stores it once); one outcome per record, in order."""
        stub = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(self._peers.channel("tracking"))
        imported = tracking_internal_service_pb2.ImportedRecord
        request = tracking_internal_service_pb2.ImportRecordsRequest(user=f"users/{user_id}", records=[
            imported(request_id=_request_id(user_id, r), activity=convert.activity(r)) if isinstance(r, WorkoutRecord)
            else imported(request_id=_request_id(user_id, r), sleep_session=convert.sleep_session(r))
            for r in records])
        try:
            reply = await stub.ImportRecords(request, metadata=self._metadata(user_id), timeout=60)
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"tracking did not take the records: {exc.code().name}") from None
        return [Outcome("rejected", "INVALID_RECORD", r.message) if r.outcome == _REJECTED
                else Outcome(_OUTCOMES[r.outcome]) for r in reply.results]


_REJECTED = tracking_internal_service_pb2.ImportResult.REJECTED
_OUTCOMES = {tracking_internal_service_pb2.ImportResult.ACCEPTED: "accepted",
             tracking_internal_service_pb2.ImportResult.DUPLICATE: "duplicate",
             tracking_internal_service_pb2.ImportResult.UPDATED: "updated"}


def _request_id(user_id: uuid.UUID, r: WorkoutRecord | SleepRecord) -> str:
    """The record's identity as a request id: sent again, with the same content or more, it is the
    same record (Tracking answers DUPLICATE or UPDATED)."""
    if isinstance(r, WorkoutRecord) and r.app_id:  # the app's own id: stays when its times or type change
        identity = f"{user_id}/activity/id/{r.app_id}"
    elif isinstance(r, WorkoutRecord):
        identity = f"{user_id}/activity/{r.type}/{r.start_time.isoformat()}/{r.source}"
    else:
        identity = f"{user_id}/sleep/{r.start_time.isoformat()}/{r.end_time.isoformat()}/{r.source}"
    return str(uuid.uuid5(NAMESPACE, identity))
