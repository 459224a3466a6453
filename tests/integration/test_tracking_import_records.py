"""ImportRecords (activities and sleep sessions in bulk, Ingest's path) over real gRPC and a real
PostgreSQL: outcomes per record, idempotency by request id, what is stored, and bad calls."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from healthmesh.tracking.v1 import (
    activity_pb2, sleep_session_pb2, tracking_internal_service_pb2 as internal_pb2, tracking_internal_service_pb2_grpc,
    tracking_service_pb2 as pb,
)

from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.test_tracking_samples import T0, tracking, ts  # noqa: F401 (tracking: fixture)

Outcome = internal_pb2.ImportResult


def run(start: dt.datetime, points: int = 0, minutes: int = 40) -> activity_pb2.Activity:
    return activity_pb2.Activity(
        type="running", start_time=ts(start), end_time=ts(start + dt.timedelta(minutes=minutes)), source="Watch",
        route=[activity_pb2.RoutePoint(time=ts(start + dt.timedelta(seconds=i)), latitude=52.5 + i * 1e-5,
                                       longitude=13.4) for i in range(points)],
        heart_rate_series=[activity_pb2.HeartRatePoint(time=ts(start + dt.timedelta(minutes=i)), bpm=130 + i)
                           for i in range(min(points, minutes))])


def night(start: dt.datetime) -> sleep_session_pb2.SleepSession:
    stages = [(sleep_session_pb2.CORE, 0, 90), (sleep_session_pb2.DEEP, 90, 150), (sleep_session_pb2.REM, 150, 420)]
    return sleep_session_pb2.SleepSession(
        start_time=ts(start), end_time=ts(start + dt.timedelta(minutes=420)), source="Watch",
        stages=[sleep_session_pb2.SleepStagePeriod(stage=s, start_time=ts(start + dt.timedelta(minutes=a)),
                                                   end_time=ts(start + dt.timedelta(minutes=b)))
                for s, a, b in stages])


def rid() -> str:
    return str(uuid.uuid4())


class Importer:
    """ImportRecords as Ingest calls it: the service token and the end user's principal."""

    def __init__(self, channel: grpc.aio.Channel, user: str) -> None:
        self.stub = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
        self.user = user
        self.metadata = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", user.split("/")[1]))

    async def call(self, records: list[internal_pb2.ImportedRecord], user: str | None = None
                   ) -> list[tuple[int, str]]:
        reply = await self.stub.ImportRecords(internal_pb2.ImportRecordsRequest(user=user or self.user,
                                                                                records=records),
                                              metadata=self.metadata)
        return [(r.outcome, r.message) for r in reply.results]


@pytest.fixture
def importer(tracking):  # noqa: F811
    _, _, session, channel, _ = tracking
    return Importer(channel, session.user.name)


async def test_each_record_gets_its_outcome_and_the_good_ones_are_stored_once(tracking, importer):  # noqa: F811
    stub, md, *_ = tracking
    ids = [rid() for _ in range(4)]
    records = [
        internal_pb2.ImportedRecord(request_id=ids[0], activity=run(T0, points=300)),
        internal_pb2.ImportedRecord(request_id=ids[1], sleep_session=night(T0 - dt.timedelta(hours=9))),
        internal_pb2.ImportedRecord(request_id=ids[2], activity=run(T0 + dt.timedelta(hours=5))),
        internal_pb2.ImportedRecord(request_id=ids[3], activity=run(T0 + dt.timedelta(hours=8), minutes=-5)),
        internal_pb2.ImportedRecord(activity=run(T0 + dt.timedelta(hours=9))),  # no request id
        internal_pb2.ImportedRecord(request_id=rid()),  # nothing to create
        internal_pb2.ImportedRecord(request_id="not-a-uuid", sleep_session=night(T0 + dt.timedelta(days=1))),
        internal_pb2.ImportedRecord(request_id=ids[2], activity=run(T0 + dt.timedelta(hours=5))),  # ids[2] again
    ]
    first = await importer.call(records)
    assert [o for o, _ in first] == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.REJECTED,
                                     Outcome.REJECTED, Outcome.REJECTED, Outcome.REJECTED, Outcome.DUPLICATE]
    messages = [m for _, m in first]
    assert "end_time" in messages[3] and "request_id: is required" in messages[4]
    assert "records[5]" in messages[5] and "request_id: must be a UUID" in messages[6]
    assert not any(messages[i] for i in (0, 1, 2, 7))

    activities = (await stub.ListActivities(pb.ListActivitiesRequest(parent="users/me"), metadata=md)).activities
    assert sorted(a.start_time.ToDatetime(dt.UTC) for a in activities) == [T0, T0 + dt.timedelta(hours=5)]
    with_route = next(a for a in activities if a.start_time.ToDatetime(dt.UTC) == T0)
    full = await stub.GetActivity(pb.GetActivityRequest(name=with_route.name), metadata=md)
    assert len(full.route) == 300 and full.route[-1].latitude == pytest.approx(52.5 + 299e-5)
    assert [p.bpm for p in full.heart_rate_series] == [130 + i for i in range(40)]
    (session,) = (await stub.ListSleepSessions(pb.ListSleepSessionsRequest(parent="users/me"),
                                               metadata=md)).sleep_sessions
    assert [s.stage for s in session.stages] == [sleep_session_pb2.CORE, sleep_session_pb2.DEEP,
                                                 sleep_session_pb2.REM]

    again = await importer.call(records[:3])
    assert [o for o, _ in again] == [Outcome.DUPLICATE] * 3
    assert len((await stub.ListActivities(pb.ListActivitiesRequest(parent="users/me"), metadata=md)).activities) == 2


async def test_calls_out_of_bounds_or_for_another_user_are_refused(tracking, importer):  # noqa: F811
    one = internal_pb2.ImportedRecord(request_id=rid(), activity=run(T0))
    for records in ([], [one] * 501):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await importer.call(records)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "records" in err.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await importer.call([one], user=f"users/{uuid.uuid4()}")
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    stub, md, *_ = tracking
    assert not (await stub.ListActivities(pb.ListActivitiesRequest(parent="users/me"), metadata=md)).activities
