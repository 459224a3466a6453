"""Tracking's outbox for Insight, with real Tracking servers (services/tracking/app.py's build) on a
real PostgreSQL: every write path records one row in its own transaction, and the relay delivers
the rows to an Insight stand-in (insight_stand_in.py) in order per user, deleting them only after
OK, through failures, a restart of Insight, a refused change and two Tracking processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

import asyncpg
import grpc
import pytest
from google.protobuf import field_mask_pb2
from healthmesh.auth.v1 import auth_service_pb2_grpc
from healthmesh.tracking.v1 import (
    activity_pb2, nutrition_entry_pb2, sleep_session_pb2, tracking_internal_service_pb2 as internal_pb2,
    tracking_service_pb2 as pb, tracking_service_pb2_grpc,
)

from services.common.config import Settings
from services.common.db import create_engine
from services.common.outbox import OutboxRelay
from services.tracking.erasure import erase_user
from services.tracking.outbox import OUTBOX
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.insight_stand_in import StandInInsight, wait_for
from tests.integration.test_auth_service import bearer, register_and_login
from tests.integration.test_tracking_import_records import Importer, night, rid, run
from tests.integration.test_tracking_sample_columns import Internal, columns, heart_rate
from tests.integration.test_tracking_samples import T0, sample, ts
from tests.integration.tracking_harness import start_tracking, stop_tracking

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
async def insight():
    stand_in = StandInInsight()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def db(migrated_dsn):
    conn = await asyncpg.connect(migrated_dsn)
    yield conn
    await conn.close()


class User:
    def __init__(self, user, session) -> None:
        self.name = user.name
        self.id = uuid.UUID(user.name.removeprefix("users/"))
        self.md = bearer(session.access_token)


async def new_user(auth_harness) -> User:
    return User(*await register_and_login(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel)))


@pytest.fixture
async def user(auth_harness) -> User:
    return await new_user(auth_harness)


async def tracking_for(migrated_dsn, auth_harness, insight: StandInInsight, **settings):
    return await start_tracking(migrated_dsn, auth_harness.port, insight_addr=f"127.0.0.1:{insight.port}",
                                **settings)


@pytest.fixture
async def tracking(migrated_dsn, auth_harness, insight):
    server = await tracking_for(migrated_dsn, auth_harness, insight)
    yield server
    await stop_tracking(server)


def stub(server) -> tracking_service_pb2_grpc.TrackingServiceStub:
    return tracking_service_pb2_grpc.TrackingServiceStub(server.channel)


async def outbox(db: asyncpg.Connection, user: User) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM tracking.outbox WHERE user_id = $1 ORDER BY seq", user.id)


def change(row) -> tuple[list[str], dt.datetime, dt.datetime]:
    return list(row["sample_types"]), row["start_time"], row["end_time"]


async def heart_rates(stub_, user: User, first_minute: int, n: int = 3, value: float = 70) -> None:
    await stub_.BatchCreateSamples(pb.BatchCreateSamplesRequest(parent="users/me", samples=[
        sample("heart_rate", T0 + (first_minute + i) * MINUTE, value, "count/min") for i in range(n)]),
        metadata=user.md)


# Each write path: one row, in the write's transaction. Insight is down, so the rows stay.


async def test_sample_writes_by_rest_record_one_row_each_and_duplicates_none(tracking, insight, user, db):
    insight.down = True
    samples = stub(tracking)
    weight = await samples.CreateSample(
        pb.CreateSampleRequest(parent="users/me", sample=sample("weight", T0, 70, "kg")), metadata=user.md)
    assert [change(r) for r in await outbox(db, user)] == [(["weight"], T0, T0)]

    batch = [sample("heart_rate", T0 + i * MINUTE, 60 + i % 30, "count/min", end_time=ts(T0 + (i + 1) * MINUTE))
             for i in range(499)]
    batch.append(sample("step_count", T0 + 10 * MINUTE, 120, "count", end_time=ts(T0 + 600 * MINUTE)))
    reply = await samples.BatchCreateSamples(pb.BatchCreateSamplesRequest(parent="users/me", samples=batch),
                                             metadata=user.md)
    assert reply.accepted == 500
    rows = await outbox(db, user)
    assert len(rows) == 2 and change(rows[1]) == (["heart_rate", "step_count"], T0, T0 + 600 * MINUTE)

    again = await samples.BatchCreateSamples(pb.BatchCreateSamplesRequest(parent="users/me", samples=batch),
                                             metadata=user.md)
    assert again.duplicate == 500 and len(await outbox(db, user)) == 2  # nothing changed: no row

    await samples.CreateSample(pb.CreateSampleRequest(parent="users/me", sample=sample(
        "weight", T0, 71, "kg")), metadata=user.md)  # the same key, a new value: an update
    await samples.DeleteSample(pb.DeleteSampleRequest(name=weight.name), metadata=user.md)
    rows = await outbox(db, user)
    assert [change(r) for r in rows[2:]] == [(["weight"], T0, T0), (["weight"], T0, T0)]
    assert len({r["event_id"] for r in rows}) == 4 and all(r["commit_time"] and not r["reject_time"] for r in rows)


async def test_write_samples_records_one_row_per_batch_in_rows_and_columns(tracking, insight, user, db):
    insight.down = True
    internal = Internal(tracking.channel, user.name)
    rows_batch = [sample("heart_rate", T0 + i * MINUTE, 70, "count/min") for i in range(500)]
    acks = await internal.write(internal.batch(1, samples=rows_batch[:250]),
                                internal.batch(2, samples=rows_batch[250:]))
    assert [a.accepted for a in acks] == [250, 250]
    assert [change(r) for r in await outbox(db, user)] == [
        (["heart_rate"], T0, T0 + 249 * MINUTE), (["heart_rate"], T0 + 250 * MINUTE, T0 + 499 * MINUTE)]

    later = [heart_rate(1000 + i, 80, end=T0 + (1001 + i) * MINUTE) for i in range(10)]
    await internal.write(internal.batch(1, columns(later)))
    assert change((await outbox(db, user))[-1]) == (["heart_rate"], T0 + 1000 * MINUTE, T0 + 1010 * MINUTE)

    await internal.write(internal.batch(1, columns(later)))
    assert len(await outbox(db, user)) == 3  # all duplicates: no row
    later[3]["value"], later[6]["value"] = 90, 91  # two updates among duplicates: the row spans just them
    await internal.write(internal.batch(1, columns(later)))
    rows = await outbox(db, user)
    assert len(rows) == 4 and change(rows[-1]) == (["heart_rate"], T0 + 1003 * MINUTE, T0 + 1007 * MINUTE)


async def test_nutrition_entries_record_their_dietary_types(tracking, insight, user, db):
    insight.down = True
    nutrition = stub(tracking)
    entry = await nutrition.CreateNutritionEntry(pb.CreateNutritionEntryRequest(
        parent="users/me", request_id=rid(), nutrition_entry=nutrition_entry_pb2.NutritionEntry(
            consume_time=ts(T0), utc_offset_minutes=60, food_name="oats", calories_kcal=300, protein_grams=10)),
        metadata=user.md)
    await nutrition.DeleteNutritionEntry(pb.DeleteNutritionEntryRequest(name=entry.name), metadata=user.md)
    assert [change(r) for r in await outbox(db, user)] == [(["dietary_energy", "protein"], T0, T0)] * 2


async def test_sleep_sessions_and_activities_record_sleep_asleep_and_activity(tracking, insight, user, db):
    insight.down = True
    records = stub(tracking)
    hours = dt.timedelta(hours=1)
    session = await records.CreateSleepSession(pb.CreateSleepSessionRequest(
        parent="users/me", sleep_session=night(T0)), metadata=user.md)
    moved = sleep_session_pb2.SleepSession(name=session.name, start_time=ts(T0 - hours))
    await records.UpdateSleepSession(pb.UpdateSleepSessionRequest(
        sleep_session=moved, update_mask=field_mask_pb2.FieldMask(paths=["start_time"])), metadata=user.md)
    await records.DeleteSleepSession(pb.DeleteSleepSessionRequest(name=session.name), metadata=user.md)
    activity = await records.CreateActivity(pb.CreateActivityRequest(parent="users/me", activity=run(T0)),
                                            metadata=user.md)
    longer = activity_pb2.Activity(name=activity.name, end_time=ts(T0 + 2 * hours))
    await records.UpdateActivity(pb.UpdateActivityRequest(
        activity=longer, update_mask=field_mask_pb2.FieldMask(paths=["end_time"])), metadata=user.md)
    await records.DeleteActivity(pb.DeleteActivityRequest(name=activity.name), metadata=user.md)
    end_of_night, end_of_run = T0 + 7 * hours, T0 + 40 * MINUTE
    assert [change(r) for r in await outbox(db, user)] == [
        (["sleep_asleep"], T0, end_of_night), (["sleep_asleep"], T0 - hours, end_of_night),
        (["sleep_asleep"], T0 - hours, end_of_night),
        (["activity"], T0, end_of_run), (["activity"], T0, T0 + 2 * hours), (["activity"], T0, T0 + 2 * hours)]


async def test_import_records_record_one_row_per_kind_and_none_for_a_request_id_used_before(tracking, insight,
                                                                                           user, db):
    insight.down = True
    importer = Importer(tracking.channel, user.name)
    day = dt.timedelta(days=1)
    runs = [internal_pb2.ImportedRecord(request_id=rid(), activity=run(T0 + i * day)) for i in range(3)]
    nights = [internal_pb2.ImportedRecord(request_id=rid(), sleep_session=night(T0 + i * day)) for i in range(2)]
    await importer.call(runs + nights)
    assert [change(r) for r in await outbox(db, user)] == [
        (["activity"], T0, T0 + 2 * day + 40 * MINUTE), (["sleep_asleep"], T0, T0 + day + 7 * dt.timedelta(hours=1))]
    await importer.call(runs + nights)  # every request id used before: nothing stored
    assert len(await outbox(db, user)) == 2


async def test_a_write_that_fails_at_its_commit_leaves_neither_samples_nor_a_row(tracking, insight, user, db):
    """The row is in the write's own transaction: a deferred check failing at the commit takes the
    samples back too (were the row written apart, the samples would stay)."""
    insight.down = True
    await db.execute(f"""
        CREATE FUNCTION tracking.refuse_outbox_test() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.user_id = '{user.id}' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$;
        CREATE CONSTRAINT TRIGGER refuse_outbox_test AFTER INSERT ON tracking.outbox
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tracking.refuse_outbox_test();""")
    try:
        samples = stub(tracking)
        with pytest.raises(grpc.aio.AioRpcError):
            await heart_rates(samples, user, 0)
        internal = Internal(tracking.channel, user.name)
        with pytest.raises(grpc.aio.AioRpcError):
            await internal.write(internal.batch(1, columns([heart_rate(100 + i, 70) for i in range(5)])))
        stored = await samples.ListSamples(pb.ListSamplesRequest(parent="users/me", type="heart_rate"),
                                           metadata=user.md)
        assert list(stored.samples) == [] and await outbox(db, user) == []
    finally:
        await db.execute("DROP TRIGGER refuse_outbox_test ON tracking.outbox;"
                         " DROP FUNCTION tracking.refuse_outbox_test()")
    await heart_rates(samples, user, 0)
    assert len(await outbox(db, user)) == 1


# The relay.


async def test_the_relay_delivers_in_order_per_user_and_deletes_only_after_ok(tracking, insight, auth_harness, db):
    insight.down = True
    samples = stub(tracking)
    ada, bob = await new_user(auth_harness), await new_user(auth_harness)
    for i in range(6):
        await heart_rates(samples, ada if i % 2 else bob, i * 10)
        await heart_rates(samples, ada, i * 10 + 5)
    written = {u.name: [str(r["event_id"]) for r in await outbox(db, u)] for u in (ada, bob)}
    assert [len(ids) for ids in written.values()] == [9, 3]

    still_there: list[bool] = []

    async def check_rows_are_kept_until_answered(request) -> None:
        ids = [c.event_id for c in request.changes]
        kept = await db.fetchval("SELECT count(*) FROM tracking.outbox WHERE event_id::text = ANY($1)", ids)
        still_there.append(kept == len(ids))

    insight.before_ok = check_rows_are_kept_until_answered
    insight.down = False
    await wait_for(lambda: all(len(insight.delivered(u)) == len(written[u]) for u in written), "the changes")
    for name, ids in written.items():
        assert [c.event_id for c in insight.delivered(name)] == ids  # in commit order, each once
    assert still_there and all(still_there)
    await wait_for(lambda: _none_left(db, ada, bob), "the rows to be deleted")
    first = insight.delivered(bob.name)[0]
    assert list(first.sample_types) == ["heart_rate"] and first.start_time.ToDatetime(dt.UTC) == T0
    assert first.end_time.ToDatetime(dt.UTC) == T0 + 2 * MINUTE and first.HasField("commit_time")
    assert all(md.get("x-healthmesh-service-token") == SERVICE_TOKEN and md.get("x-healthmesh-service") == "tracking"
               for md in insight.metadata)


async def _none_left(db, *users: User) -> bool:
    return not await db.fetchval("SELECT count(*) FROM tracking.outbox WHERE user_id = ANY($1)", [u.id for u in users])


async def test_the_relay_retries_through_failures_and_a_restart_of_insight(tracking, insight, user, db):
    samples = stub(tracking)
    insight.fail_next = 3
    await heart_rates(samples, user, 0)
    await wait_for(lambda: len(insight.delivered(user.name)) == 1, "the change after three failures")
    assert insight.attempts >= 4
    await wait_for(lambda: _none_left(db, user), "the delivered row to be deleted")  # it goes after the OK

    await insight.stop()  # Insight away: writes go on, rows wait
    for i in range(3):
        await heart_rates(samples, user, 100 + i * 10)
    waiting = [str(r["event_id"]) for r in await outbox(db, user)]
    assert len(waiting) == 3
    await insight.start(insight.port)
    await wait_for(lambda: len(insight.delivered(user.name)) == 4, "the changes after the restart")
    assert [c.event_id for c in insight.delivered(user.name)[1:]] == waiting
    await wait_for(lambda: _none_left(db, user), "the rows to be deleted")


async def test_a_notify_wakes_the_relay_long_before_its_poll(migrated_dsn, auth_harness, insight, user):
    server = await tracking_for(migrated_dsn, auth_harness, insight, outbox_poll_seconds=60)
    try:
        samples = stub(server)
        await heart_rates(samples, user, 0)
        await wait_for(lambda: len(insight.delivered(user.name)) == 1, "the first change")
        await heart_rates(samples, user, 10)  # the relay is idle now, its next poll a minute away
        await wait_for(lambda: len(insight.delivered(user.name)) == 2, "the change, woken by NOTIFY", limit=10)
    finally:
        await stop_tracking(server)


async def test_a_refused_change_is_parked_and_the_others_go_on(tracking, insight, auth_harness, db, caplog):
    insight.down = True
    samples = stub(tracking)
    good, bad = await new_user(auth_harness), await new_user(auth_harness)
    insight.refused_users = {bad.name}
    for i in range(3):
        await heart_rates(samples, good, i * 10)
        if i == 1:
            await heart_rates(samples, bad, 0)
    written = [str(r["event_id"]) for r in await outbox(db, good)]
    insight.down = False
    await wait_for(lambda: len(insight.delivered(good.name)) == 3, "the good user's changes")
    await wait_for(lambda: _none_left(db, good), "the good user's rows to be deleted")
    assert [c.event_id for c in insight.delivered(good.name)] == written and insight.delivered(bad.name) == []
    parked = await outbox(db, bad)
    assert len(parked) == 1 and parked[0]["reject_time"] is not None
    lines = [r.getMessage() for r in caplog.records
             if r.name == "services.common.outbox" and r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "refused 1 events" in lines[0] and str(bad.id) not in lines[0]
    await heart_rates(samples, good, 100)  # a parked row is not sent again, and holds nothing up
    await wait_for(lambda: len(insight.delivered(good.name)) == 4, "the next change")
    assert insight.delivered(bad.name) == []


async def test_two_trackings_deliver_each_change_once_in_order_and_hand_over(migrated_dsn, auth_harness, insight,
                                                                              user, db):
    """Both relays hear every NOTIFY; only the one holding the lock sends."""
    seq_of: dict[str, int] = {}
    one_query = asyncio.Lock()

    async def note_seqs(request) -> None:
        async with one_query:
            for row in await db.fetch("SELECT event_id::text, seq FROM tracking.outbox WHERE event_id::text = ANY($1)",
                                      [c.event_id for c in request.changes]):
                seq_of[row["event_id"]] = row["seq"]
        await asyncio.sleep(0.05)  # a slow answer: a second relay, if one sent, would send the same rows meanwhile

    insight.before_ok = note_seqs
    first = await tracking_for(migrated_dsn, auth_harness, insight)
    second = await tracking_for(migrated_dsn, auth_harness, insight)
    try:
        for i in range(10):
            await heart_rates(stub(first if i % 2 else second), user, i * 10)
        await wait_for(lambda: _none_left(db, user), "the rows to be delivered and deleted")
        delivered = [seq_of[c.event_id] for c in insight.delivered(user.name)]
        assert len(delivered) == 10 and delivered == sorted(set(delivered))  # each once, in commit order
        # Whichever relayed, stopping each in turn leaves one that takes over.
        await stop_tracking(first)
        await heart_rates(stub(second), user, 200)
        await wait_for(lambda: len(insight.delivered(user.name)) == 11, "a change after the first stopped")
        first = await tracking_for(migrated_dsn, auth_harness, insight)
        await stop_tracking(second)
        second = None
        await heart_rates(stub(first), user, 300)
        await wait_for(lambda: len(insight.delivered(user.name)) == 12, "a change after the second stopped")
    finally:
        for server in (first, second):
            if server is not None:
                await stop_tracking(server)
    assert len({c.event_id for c in insight.delivered(user.name)}) == 12


async def test_a_relay_that_does_not_lead_asks_for_the_lock_once_a_poll_not_once_a_notify(migrated_dsn, db):
    """Every write NOTIFYs both relays; the one without the lock must not answer each by asking
    for it (it did: one wake left it asking in a loop, a core's worth)."""
    async def keep(rows) -> None:
        raise RuntimeError("not delivering")  # the rows stay for Tracking's own relay tests

    relays = [OutboxRelay(migrated_dsn, OUTBOX, keep, poll_seconds=0.5) for _ in range(2)]
    for relay in relays:
        relay.start()
    try:
        await wait_for(lambda: any(r.leading for r in relays), "one relay to lead")
        follower = next(r for r in relays if not r.leading)
        await wait_for(lambda: follower.lock_attempts >= 1, "the follower's first try")
        before = follower.lock_attempts
        for _ in range(50):
            await db.execute(f"SELECT pg_notify('{OUTBOX.channel}', '')")
        follower.wake()
        await asyncio.sleep(1.6)
        assert 1 <= follower.lock_attempts - before <= 5  # one per 0.5 s poll, give or take one
    finally:
        for relay in relays:
            await relay.close()


async def test_a_deleted_users_rows_go_with_their_erasure(tracking, insight, user, db, migrated_dsn):
    insight.down = True
    await heart_rates(stub(tracking), user, 0)
    assert len(await outbox(db, user)) == 1
    engine = create_engine(Settings(DATABASE_URL=migrated_dsn))
    try:
        async with engine.begin() as conn:
            counts = await erase_user(conn, user.id)
    finally:
        await engine.dispose()
    assert counts["outbox"] == 1 and await outbox(db, user) == []
