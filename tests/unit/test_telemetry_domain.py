"""Telemetry's rules without servers: sequences, the registry of open streams, the forwarded
encoding, and the client's backoff and RetryInfo."""

from __future__ import annotations

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
from services.common.errors import InvalidArgument
from services.common.principal import Principal
from services.common.revocation import Kind, Revocation
from services.device.telemetry import BatchEnvelope, Sequencer, SyncRequest, TelemetryStreams, SYNC_REQUESTS
from services.device.telemetry_rpc import envelope
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
