"""Where a pull sync's records go: Tracking, through its generated stubs, as the device's user.

Samples go as WriteSamples batches on one stream per sync (the device's name as ingest_id, its
sample_source as the default source); sleep sessions through ImportRecords, with a request id
derived from the vendor's id of the night, so a night pulled again is a duplicate.
"""

from __future__ import annotations

import uuid

import grpc
from healthmesh.tracking.v1 import sample_pb2, sleep_session_pb2 as sleep_pb2, tracking_internal_service_pb2, tracking_internal_service_pb2_grpc

from services.common.convert import set_timestamp
from services.common.peers import Peers
from services.device.sync_domain import PulledSample, PulledSleep, SyncCounts, SyncFailed

NAMESPACE = uuid.UUID("0b6f3f4e-2a53-4f7e-8d0c-5d2f0f9b7c31")  # request ids of pulled sleep sessions
BATCH = 2000
_REJECTED = tracking_internal_service_pb2.ImportResult.REJECTED
_DUPLICATE = tracking_internal_service_pb2.ImportResult.DUPLICATE


def _sample(s: PulledSample) -> sample_pb2.Sample:
    out = sample_pb2.Sample(type=s.type, value=s.value, unit=s.unit)
    if s.utc_offset_minutes is not None:
        out.utc_offset_minutes = s.utc_offset_minutes
    set_timestamp(out.start_time, s.start)
    set_timestamp(out.end_time, s.end)
    return out


def _sleep(s: PulledSleep, source: str) -> sleep_pb2.SleepSession:
    out = sleep_pb2.SleepSession(utc_offset_minutes=s.utc_offset_minutes, source=source)
    set_timestamp(out.start_time, s.start)
    set_timestamp(out.end_time, s.end)
    for stage in s.stages:
        period = out.stages.add(stage=sleep_pb2.SleepStage.Value(stage.stage))
        set_timestamp(period.start_time, stage.start)
        set_timestamp(period.end_time, stage.end)
    if s.score is not None:
        out.score = s.score
    return out


class TrackingSyncSink:
    """One sync's way into Tracking; use as `async with`, which closes its sample stream."""

    def __init__(self, peers: Peers, user_id: uuid.UUID, device_id: uuid.UUID, sample_source: str) -> None:
        self._peers = peers
        self._user_id = user_id
        self._device = f"users/{user_id}/devices/{device_id}"
        self._source = sample_source
        self._stub = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(peers.channel("tracking"))
        self._call = None
        self._sequence = 0

    async def __aenter__(self) -> TrackingSyncSink:
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._call is not None:
            call, self._call = self._call, None
            try:
                await call.done_writing()
                while await call.read() is not grpc.aio.EOF:
                    pass
            except grpc.aio.AioRpcError:
                pass  # every batch was acked before; nothing is lost by a stream that ends badly

    async def write_samples(self, samples: list[PulledSample], counts: SyncCounts) -> None:
        """Writes the samples, a batch at a time, each acked (stored) before the next is sent."""
        if self._call is None:
            self._call = self._stub.WriteSamples(metadata=self._peers.metadata(str(self._user_id)))
        for i in range(0, len(samples), BATCH):
            self._sequence += 1
            request = tracking_internal_service_pb2.WriteSamplesRequest(
                sequence=self._sequence, user=f"users/{self._user_id}", ingest_id=self._device,
                default_source=self._source, samples=[_sample(s) for s in samples[i:i + BATCH]])
            try:
                await self._call.write(request)
                ack = await self._call.read()
            except grpc.aio.AioRpcError as exc:
                raise SyncFailed("TRACKING_UNAVAILABLE", f"Tracking did not store the samples ({exc.code().name})") from None
            if ack is grpc.aio.EOF:
                raise SyncFailed("TRACKING_UNAVAILABLE", "Tracking closed the sample stream")
            counts.add(ack.accepted, ack.duplicate, ack.updated, [(e.index, e.reason, e.message) for e in ack.errors])

    async def import_sleep(self, sleeps: list[PulledSleep], counts: SyncCounts) -> None:
        imported = tracking_internal_service_pb2.ImportedRecord
        for i in range(0, len(sleeps), 500):  # ImportRecords takes at most 500
            part = sleeps[i:i + 500]
            request = tracking_internal_service_pb2.ImportRecordsRequest(user=f"users/{self._user_id}", records=[
                imported(request_id=str(uuid.uuid5(NAMESPACE, f"{self._device}/sleep/{s.vendor_id}")),
                         sleep_session=_sleep(s, self._source)) for s in part])
            try:
                reply = await self._stub.ImportRecords(request, metadata=self._peers.metadata(str(self._user_id)),
                                                       timeout=60)
            except grpc.aio.AioRpcError as exc:
                raise SyncFailed("TRACKING_UNAVAILABLE", f"Tracking did not store the sleep ({exc.code().name})") from None
            outcomes = [r.outcome for r in reply.results]
            counts.add(sum(o not in (_REJECTED, _DUPLICATE) for o in outcomes), outcomes.count(_DUPLICATE), 0,
                       [(j, "INVALID_RECORD", r.message) for j, r in enumerate(reply.results) if r.outcome == _REJECTED])
