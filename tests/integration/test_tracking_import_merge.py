"""ImportRecords with a request id used before (issue 17, item 1), over real gRPC and PostgreSQL:
the same content is DUPLICATE and writes nothing; new content is UPDATED, merged field by field
(a field sent replaces one that was not, one not sent is kept), with an outbox row for Insight."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from healthmesh.tracking.v1 import (
    activity_pb2, sleep_session_pb2, tracking_internal_service_pb2 as internal_pb2, tracking_service_pb2 as pb,
)

from tests.integration.test_tracking_import_records import Importer, importer, night, rid  # noqa: F401
from tests.integration.test_tracking_samples import T0, tracking, ts  # noqa: F401 (tracking: fixture)

Outcome = internal_pb2.ImportResult
MINUTE = dt.timedelta(minutes=1)


def walk(*, route: bool = False, heart_rate: bool = False) -> activity_pb2.Activity:
    out = activity_pb2.Activity(type="walking", display_name="Outdoor Walk", start_time=ts(T0),
                                end_time=ts(T0 + 45 * MINUTE), source="Watch")
    if route:
        out.route.extend(activity_pb2.RoutePoint(time=ts(T0 + i * 10 * MINUTE), latitude=40.7 + i * 1e-3,
                                                 longitude=-74.0) for i in range(5))
    if heart_rate:
        out.heart_rate.avg_bpm = 112
        out.distance_meters = 4023.36
        out.duration_seconds = 2640
    return out


@pytest.fixture
async def outbox_rows(tracking, migrated_dsn):  # noqa: F811
    user_id = tracking[2].user.name.split("/")[1]
    conn = await asyncpg.connect(migrated_dsn)

    async def rows() -> list[tuple[list[str], dt.datetime, dt.datetime]]:
        found = await conn.fetch("SELECT sample_types, start_time, end_time FROM tracking.outbox"
                                 " WHERE user_id = $1 ORDER BY seq", user_id)
        return [(list(r["sample_types"]), r["start_time"], r["end_time"]) for r in found]

    yield rows
    await conn.close()


async def stored_walk(tracking) -> activity_pb2.Activity:  # noqa: F811
    stub, md, *_ = tracking
    (one,) = (await stub.ListActivities(pb.ListActivitiesRequest(parent="users/me"), metadata=md)).activities
    return await stub.GetActivity(pb.GetActivityRequest(name=one.name, view=activity_pb2.FULL), metadata=md)


@pytest.mark.parametrize("order", ["route first", "heart rate first"])
async def test_a_walk_sent_again_with_more_in_it_is_updated_and_keeps_both(tracking, importer,  # noqa: F811
                                                                          outbox_rows, order):
    request_id = rid()
    parts = [walk(route=True), walk(heart_rate=True)]
    if order == "heart rate first":
        parts.reverse()
    first = await importer.call([internal_pb2.ImportedRecord(request_id=request_id, activity=parts[0])])
    assert [o for o, _ in first] == [Outcome.ACCEPTED]
    before = await stored_walk(tracking)
    again = await importer.call([internal_pb2.ImportedRecord(request_id=request_id, activity=parts[1])])
    assert again == [(Outcome.UPDATED, "")]
    after = await stored_walk(tracking)
    assert after.name == before.name and after.create_time == before.create_time
    assert len(after.route) == 5 and after.route[4].latitude == pytest.approx(40.704)
    assert after.heart_rate.avg_bpm == 112 and after.distance_meters == pytest.approx(4023.36)
    assert after.duration_seconds == 2640 and after.display_name == "Outdoor Walk"
    # Insight hears of the change: one row for the insert, one for the update.
    assert await outbox_rows() == [(["activity"], T0, T0 + 45 * MINUTE)] * 2

    # Either part again: nothing new, nothing written.
    for part in parts:
        assert await importer.call([internal_pb2.ImportedRecord(request_id=request_id, activity=part)]) == [
            (Outcome.DUPLICATE, "")]
    assert (await stored_walk(tracking)).update_time == after.update_time
    assert len(await outbox_rows()) == 2


async def test_a_field_sent_again_with_another_value_replaces_it(tracking, importer):  # noqa: F811
    request_id = rid()
    await importer.call([internal_pb2.ImportedRecord(request_id=request_id, activity=walk(heart_rate=True))])
    changed = walk()
    changed.heart_rate.avg_bpm = 118
    assert await importer.call([internal_pb2.ImportedRecord(request_id=request_id, activity=changed)]) == [
        (Outcome.UPDATED, "")]
    after = await stored_walk(tracking)
    assert after.heart_rate.avg_bpm == 118 and after.distance_meters == pytest.approx(4023.36)


async def test_a_merge_that_does_not_hold_together_is_rejected_and_leaves_the_stored_one(tracking,  # noqa: F811
                                                                                      importer):
    request_id = rid()
    await importer.call([internal_pb2.ImportedRecord(request_id=request_id, activity=walk(route=True))])
    shorter = walk()
    shorter.end_time.CopyFrom(ts(T0 + 20 * MINUTE))  # the route's last points now lie after its end
    ((outcome, message),) = await importer.call([internal_pb2.ImportedRecord(request_id=request_id,
                                                                             activity=shorter)])
    assert outcome == Outcome.REJECTED and "route" in message
    after = await stored_walk(tracking)
    assert after.end_time.ToDatetime(dt.UTC) == T0 + 45 * MINUTE and len(after.route) == 5


async def test_one_call_with_both_parts_stores_one_merged_walk(tracking, importer):  # noqa: F811
    request_id = rid()
    outcomes = await importer.call([internal_pb2.ImportedRecord(request_id=request_id, activity=walk(route=True)),
                                    internal_pb2.ImportedRecord(request_id=request_id,
                                                                activity=walk(heart_rate=True))])
    assert [o for o, _ in outcomes] == [Outcome.ACCEPTED, Outcome.UPDATED]
    after = await stored_walk(tracking)
    assert len(after.route) == 5 and after.heart_rate.avg_bpm == 112


async def test_a_night_sent_again_with_its_totals_is_updated_and_keeps_its_stages(tracking, importer,  # noqa: F811
                                                                                 outbox_rows):
    stub, md, *_ = tracking
    request_id = rid()
    start = T0 - dt.timedelta(hours=9)
    assert await importer.call([internal_pb2.ImportedRecord(request_id=request_id, sleep_session=night(start))]) \
        == [(Outcome.ACCEPTED, "")]
    totals = sleep_session_pb2.SleepSession(start_time=ts(start), end_time=ts(start + 420 * MINUTE), source="Watch",
                                            reported_asleep_seconds=24_000, reported_time_in_bed_seconds=25_000)
    assert await importer.call([internal_pb2.ImportedRecord(request_id=request_id, sleep_session=totals)]) == [
        (Outcome.UPDATED, "")]
    (session,) = (await stub.ListSleepSessions(pb.ListSleepSessionsRequest(parent="users/me"),
                                               metadata=md)).sleep_sessions
    assert len(session.stages) == 3 and session.asleep_seconds == 24_000 and session.time_in_bed_seconds == 25_000
    assert len(await outbox_rows()) == 2
    for again in (night(start), totals):
        assert await importer.call([internal_pb2.ImportedRecord(request_id=request_id, sleep_session=again)]) == [
            (Outcome.DUPLICATE, "")]
    assert len(await outbox_rows()) == 2
