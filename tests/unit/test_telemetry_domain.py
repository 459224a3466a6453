"""Telemetry's rules without servers: sequences, the registry of open streams, the forwarded
encoding, and the client's backoff and RetryInfo; a stream's write quotas, capabilities and
last_seen_time, with Tracking and the registry faked."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from healthmesh.device.v1 import device_service_pb2 as pb
from healthmesh.tracking.v1 import sample_pb2, tracking_internal_service_pb2

from client.telemetry import Backoff, retry_delay
from services.common.errors import InvalidArgument, ResourceExhausted
from services.common.principal import Principal
from services.common.revocation import Kind, Revocation
from services.device.domain import Rejection
from services.device.telemetry import (
    AckCounts, BatchEnvelope, SeenThrottle, Sequencer, SyncRequest, TelemetryStreams, SYNC_REQUESTS,
)
from services.device.telemetry_repository import Opened
from services.device.telemetry_rpc import ProtoBatches, envelope
from services.device.telemetry_service import Ack, Batch, StreamDevice, TelemetryService
from services.device.telemetry_tracking import ack_of, envelope_tail

USER = uuid.uuid4()


def env(sequence: int, size: int = 1, samples: bool = True, columns: bool = False) -> BatchEnvelope:
    return BatchEnvelope(sequence, size, samples, columns)


def test_sequences_rise_above_the_resume_point_and_each_other():
    seq = Sequencer(resume_point=7)
    with pytest.raises(InvalidArgument) as err:
        seq.check(env(7))
    assert err.value.reason == "SEQUENCE_NOT_INCREASING" and err.value.violations[0].field == "batch.sequence"
    seq.check(env(8))
    seq.check(env(20))  # gaps are fine
    with pytest.raises(InvalidArgument):
        seq.check(env(20))


def test_batch_size_and_form_are_checked():
    with pytest.raises(InvalidArgument, match="10,000"):
        Sequencer(0).check(env(1, size=10_001))
    Sequencer(0).check(env(1, size=10_000))
    with pytest.raises(InvalidArgument, match="samples or columns"):
        Sequencer(0).check(env(1, samples=True, columns=True))


def test_envelope_counts_rows_of_either_form():
    rows = pb.TelemetryBatch(sequence=3, samples=[sample_pb2.Sample()] * 4, sync="users/u/devices/d/syncs/s")
    assert envelope(rows) == BatchEnvelope(3, 4, True, False, "users/u/devices/d/syncs/s", False)
    cols = pb.TelemetryBatch(sequence=4, columns=tracking_internal_service_pb2.SampleColumns(
        start_time_micros=[1, 2, 3], value=[1, 2, 3]), sync_complete=True)
    assert envelope(cols) == BatchEnvelope(4, 3, False, True, "", True)


def test_a_forwarded_batch_reads_as_write_samples_with_the_device_s_user_whatever_it_sent():
    batch = pb.TelemetryBatch(sequence=9, columns=tracking_internal_service_pb2.SampleColumns(value=[1.5]),
                              sync="users/u/devices/d/syncs/s")
    forged = batch.SerializeToString() + tracking_internal_service_pb2.WriteSamplesRequest(
        user="users/someone-else", default_source="forged").SerializeToString()
    request = tracking_internal_service_pb2.WriteSamplesRequest.FromString(
        forged + envelope_tail(USER, f"users/{USER}/devices/d", "Watch"))
    assert request.sequence == 9 and list(request.columns.value) == [1.5]
    assert (request.user, request.ingest_id, request.default_source) == (
        f"users/{USER}", f"users/{USER}/devices/d", "Watch")


def test_tracking_s_ack_is_a_telemetry_ack():
    raw = tracking_internal_service_pb2.WriteSamplesResponse(
        sequence=5, accepted=3, rejected=1, errors=[{"index": 2, "reason": "VALUE_OUT_OF_RANGE"}]).SerializeToString()
    ack = ack_of(raw)
    assert (ack.counts.sequence, ack.counts.accepted, ack.counts.rejected) == (5, 3, 1)
    assert pb.TelemetryAck.FromString(ack.payload).errors[0].index == 2


async def test_a_newer_stream_ends_the_older_one_of_the_same_device_only():
    streams = TelemetryStreams()
    device, other = uuid.uuid4(), uuid.uuid4()
    p = Principal("user", str(USER), f"users/{USER}")
    older = streams.open(USER, device, p)
    neighbour = streams.open(USER, other, p)
    newer = streams.open(USER, device, p)
    assert older.ended.is_set() and older.error.code == "ABORTED"
    assert not newer.ended.is_set() and not neighbour.ended.is_set()
    streams.close(older)  # the older one's cleanup leaves the newer registered
    assert streams.is_open(device)


async def test_revocations_end_the_streams_they_name():
    streams = TelemetryStreams()
    by_session = streams.open(USER, uuid.uuid4(), Principal("user", str(USER), session="s1"))
    by_key = streams.open(USER, uuid.uuid4(), Principal("api_key", str(USER), api_key="k1"))
    other_user = streams.open(uuid.uuid4(), uuid.uuid4(), Principal("user", "someone", session="s2"))
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    streams.revoked(Revocation(1, Kind.API_KEY, str(USER), "k1", now))
    assert by_key.ended.is_set() and by_key.error.code == "UNAUTHENTICATED"
    assert not by_session.ended.is_set()
    streams.revoked(Revocation(2, Kind.USER, str(USER), "", now))
    assert by_session.ended.is_set() and not other_user.ended.is_set()


async def test_sync_requests_reach_the_open_stream_and_are_bounded():
    streams = TelemetryStreams()
    device = uuid.uuid4()
    t = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    request = SyncRequest("users/u/devices/d/syncs/s", t, t)
    assert not streams.request_sync(device, request)  # no stream open here
    stream = streams.open(USER, device, Principal("user", str(USER)))
    assert all(streams.request_sync(device, request) for _ in range(SYNC_REQUESTS))
    assert not streams.request_sync(device, request)  # full: the sync waits, nothing grows
    assert stream.sync_requests.qsize() == SYNC_REQUESTS


async def test_shutdown_ends_every_stream_and_refuses_new_ones():
    streams = TelemetryStreams()
    stream = streams.open(USER, uuid.uuid4(), Principal("user", str(USER)))
    streams.end_device(uuid.uuid4())  # another device: nothing happens
    assert not stream.ended.is_set()
    streams.shutdown()
    assert stream.error.code == "UNAVAILABLE"
    with pytest.raises(Exception) as err:
        streams.open(USER, uuid.uuid4(), Principal("user", str(USER)))
    assert err.value.code == "UNAVAILABLE"


def test_backoff_is_exponential_with_full_jitter_and_capped():
    backoff = Backoff(initial=0.1, maximum=2.0, rng=random.Random(7))
    delays = [backoff.next() for _ in range(12)]
    assert all(0 <= d <= min(2.0, 0.1 * 2 ** i) for i, d in enumerate(delays))
    assert len(set(delays)) == len(delays)  # jittered, not a fixed ladder
    backoff.reset()
    assert backoff.next() <= 0.1


class _Error(grpc.aio.AioRpcError):
    def __init__(self, trailers) -> None:
        super().__init__(grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers))


def test_retry_delay_reads_retry_info():
    info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=500_000_000))
    status = status_pb2.Status(code=8)
    status.details.add().Pack(info)
    assert retry_delay(_Error([("grpc-status-details-bin", status.SerializeToString())])) == 2.5
    assert retry_delay(_Error([])) is None


# Quotas, capabilities and last_seen_time on a stream, with Tracking and the registry faked.

def test_a_stream_s_batches_touch_last_seen_with_the_first_then_every_30_seconds():
    throttle = SeenThrottle()
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert throttle.due(t0)  # the first batch after open
    assert not throttle.due(t0 + dt.timedelta(seconds=29))
    assert throttle.due(t0 + dt.timedelta(seconds=30))
    assert not throttle.due(t0 + dt.timedelta(seconds=59))
    assert throttle.due(t0 - dt.timedelta(hours=1))  # a clock set back does not silence it for an hour


def _rows(*types: str) -> pb.TelemetryBatch:
    return pb.TelemetryBatch(sequence=7, sync="users/u/devices/d/syncs/s", sync_complete=True, samples=[
        sample_pb2.Sample(type=t, value=float(i)) for i, t in enumerate(types)])


def _columns(*types: str, optional: bool = True) -> pb.TelemetryBatch:
    strings = sorted(set(types)) + ["count/min"]
    n = len(types)
    c = tracking_internal_service_pb2.SampleColumns(
        strings=strings, type=[strings.index(t) for t in types], unit=[len(strings) - 1] * n, source=[0] * n,
        start_time_micros=list(range(n)), value=[float(i) for i in range(n)])
    if optional:
        c.end_time_micros.extend(range(10, 10 + n))
    return pb.TelemetryBatch(sequence=8, columns=c)


def _batch(message: pb.TelemetryBatch, decoded: bool = True) -> Batch:
    return Batch(envelope(message), message.SerializeToString(), message if decoded else None)


def test_batch_codec_reads_the_types_of_either_form_and_passes_malformed_columns_on():
    codec = ProtoBatches()
    assert codec.distinct_types(_batch(_rows("heart_rate", "step_count", "heart_rate"))) == {"heart_rate",
                                                                                              "step_count"}
    assert codec.types(_batch(_rows("heart_rate", "step_count"), decoded=False)) == ["heart_rate", "step_count"]
    cols = _columns("step_count", "heart_rate", "step_count")
    assert codec.distinct_types(_batch(cols)) == {"heart_rate", "step_count"}
    assert codec.types(_batch(cols)) == ["step_count", "heart_rate", "step_count"]
    cols.columns.type.append(9)  # a row too many, and its string missing: Tracking refuses the batch whole
    assert not codec.distinct_types(_batch(cols))


def test_batch_codec_keeps_only_the_kept_samples_or_rows_and_the_batch_s_own_fields():
    codec = ProtoBatches()
    rows = pb.TelemetryBatch.FromString(codec.only(_batch(_rows("a", "b", "c", "d")), [0, 2]))
    assert [(s.type, s.value) for s in rows.samples] == [("a", 0.0), ("c", 2.0)]
    assert (rows.sequence, rows.sync, rows.sync_complete) == (7, "users/u/devices/d/syncs/s", True)
    cols = pb.TelemetryBatch.FromString(codec.only(_batch(_columns("a", "b", "a", "b")), [1, 3])).columns
    assert [cols.strings[i] for i in cols.type] == ["b", "b"]
    assert (list(cols.start_time_micros), list(cols.end_time_micros), list(cols.value)) == ([1, 3], [11, 13],
                                                                                            [1.0, 3.0])
    assert not cols.utc_offset_minutes and not cols.min  # absent columns stay absent
    empty = pb.TelemetryBatch.FromString(codec.only(_batch(_columns("b", "b")), []))
    assert empty.sequence == 8 and not empty.samples and not empty.HasField("columns")  # acked at once by Tracking


def test_batch_codec_maps_tracking_s_ack_back_onto_the_whole_batch():
    theirs = tracking_internal_service_pb2.WriteSamplesResponse(
        sequence=7, accepted=2, duplicate=1, rejected=1,
        errors=[{"index": 1, "field": "value", "reason": "INVALID_VALUE", "message": "m"}]).SerializeToString()
    own = (Rejection(0, "TYPE_NOT_IN_CAPABILITIES", "x"), Rejection(4, "TYPE_NOT_IN_CAPABILITIES", "y"))
    ack = ProtoBatches().with_rejections(ack_of(theirs), [1, 2, 3, 5], own)
    sent = pb.TelemetryAck.FromString(ack.payload)
    assert (sent.sequence, sent.accepted, sent.duplicate, sent.rejected) == (7, 2, 1, 3)
    assert [(e.index, e.reason) for e in sent.errors] == [
        (0, "TYPE_NOT_IN_CAPABILITIES"), (2, "INVALID_VALUE"), (4, "TYPE_NOT_IN_CAPABILITIES")]
    assert ack.counts == AckCounts(7, 2, 1, 0, 3)


class _Tracking:
    """Acks each batch once written, in order; keeps what was written."""

    def __init__(self) -> None:
        self.written: list[tracking_internal_service_pb2.WriteSamplesRequest] = []
        self.payloads: list[bytes] = []
        self._acks: asyncio.Queue = asyncio.Queue()

    def open(self, user_id, ingest_id, default_source):
        return self

    async def write(self, payload: bytes) -> None:
        request = tracking_internal_service_pb2.WriteSamplesRequest.FromString(payload)
        self.written.append(request)
        self.payloads.append(payload)
        self._acks.put_nowait(request)

    async def read(self) -> Ack:
        request = await self._acks.get()
        n = len(request.samples) or len(request.columns.start_time_micros)
        return ack_of(tracking_internal_service_pb2.WriteSamplesResponse(
            sequence=request.sequence, accepted=n).SerializeToString())

    async def done_writing(self) -> None:
        pass

    def cancel(self) -> None:
        pass


class _Points:
    def __init__(self) -> None:
        self.advanced: list[int] = []

    async def open(self, user_id, device_id, resume, now) -> Opened:
        return Opened(0, 1)

    async def advance(self, user_id, device_id, epoch, sequence, now) -> bool:
        self.advanced.append(sequence)
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def _stream_service(device: StreamDevice, tracking: _Tracking, points: _Points, **ports) -> TelemetryService:
    class Access:
        async def for_stream(self, principal, name):
            return device

    async def authenticate(metadata):
        return Principal("user", str(device.user_id))
    return TelemetryService(TelemetryStreams(), points, tracking, Access(), authenticate, batches=ProtoBatches(),
                            **ports)


def _heart_rate(sequence: int, n: int) -> Batch:
    return _batch(pb.TelemetryBatch(sequence=sequence, samples=[sample_pb2.Sample(type="heart_rate")] * n))


async def _run(service: TelemetryService, device: StreamDevice, batches) -> list:
    out = []
    async for message in service.run(device, Principal("user", str(device.user_id)), {}, True, batches):
        out.append(message)
    return out


async def test_a_batch_beyond_the_quota_is_not_written_and_ends_the_stream_after_the_earlier_acks():
    device = StreamDevice(USER, uuid.uuid4(), f"users/{USER}/devices/d", "Watch")
    tracking, points = _Tracking(), _Points()
    charged: list[int] = []

    async def charge(d: StreamDevice, samples: int) -> None:
        if sum(charged) + samples > 250:
            raise ResourceExhausted("used up", "WRITE_QUOTA_EXCEEDED", retry_after_seconds=42)
        charged.append(samples)

    async def batches():
        for n in range(1, 6):
            yield _heart_rate(n, 100)

    out: list = []
    with pytest.raises(ResourceExhausted) as err:
        async for message in _stream_service(device, tracking, points, charge=charge).run(
                device, Principal("user", str(USER)), {}, True, batches()):
            out.append(message)
    assert err.value.metadata == {"retry_after_seconds": "42"}
    assert [r.sequence for r in tracking.written] == [1, 2]  # batch 3 never reached Tracking
    assert [m.counts.sequence for m in out if isinstance(m, Ack)] == [1, 2]  # 2 was in flight when 3 was refused
    assert points.advanced[-1] == 2  # the resume point is written before the end: 3 is resent, 1 and 2 are not
    assert charged == [100, 100]


async def test_samples_outside_the_capabilities_are_not_sent_and_are_rejected_in_the_ack():
    device = StreamDevice(USER, uuid.uuid4(), f"users/{USER}/devices/d", "Watch", capabilities=("heart_rate",))
    tracking = _Tracking()
    clean = _heart_rate(3, 2)

    async def batches():
        yield _batch(pb.TelemetryBatch(sequence=1, samples=[sample_pb2.Sample(type=t) for t in (
            "step_count", "heart_rate", "step_count", "heart_rate")]))
        yield _batch(pb.TelemetryBatch(sequence=2, samples=[sample_pb2.Sample(type="step_count")]))
        yield clean

    out = await _run(_stream_service(device, tracking, _Points()), device, batches())
    assert [len(r.samples) for r in tracking.written] == [2, 0, 2]
    assert all(s.type == "heart_rate" for r in tracking.written for s in r.samples)
    acks = [pb.TelemetryAck.FromString(m.payload) for m in out if isinstance(m, Ack)]
    assert [(a.sequence, a.accepted, a.rejected) for a in acks] == [(1, 2, 2), (2, 0, 1), (3, 2, 0)]
    assert [(e.index, e.reason) for e in acks[0].errors] == [(0, "TYPE_NOT_IN_CAPABILITIES"),
                                                             (2, "TYPE_NOT_IN_CAPABILITIES")]
    assert tracking.payloads[2] == clean.payload  # a batch within the capabilities goes on as it came


async def test_batches_move_last_seen_with_the_first_and_then_at_most_every_30_seconds():
    device = StreamDevice(USER, uuid.uuid4(), f"users/{USER}/devices/d", "Watch")
    clock = _Clock()
    seen: list[dt.datetime] = []

    async def hook(d: StreamDevice) -> None:
        seen.append(clock.now)

    async def batches():
        for n, later in enumerate((5, 10, 10, 11, 1), start=1):  # seconds since the previous message
            clock.now += dt.timedelta(seconds=later)
            yield _heart_rate(n, 1)

    t0 = clock.now
    await _run(_stream_service(device, _Tracking(), _Points(), seen=[hook], clock=clock), device, batches())
    # the open, the first batch (5 s on), none until 30 s after it (36 s on), none at 37 s
    assert [(t - t0).total_seconds() for t in seen] == [0, 5, 36]
