"""Request ids under concurrency, against a real PostgreSQL: retries sent together run the create
once and all get its answer; a failed run gives its key back; a dead holder's claim is taken over."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from google.protobuf import wrappers_pb2
from healthmesh.auth.v1 import auth_service_pb2_grpc
from healthmesh.tracking.v1 import tracking_service_pb2, tracking_service_pb2_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.errors import InvalidArgument, Unavailable
from services.common.idempotency import RequestResults
from tests.integration.conftest import make_settings
from tests.integration.test_auth_service import bearer, register_and_login
from tests.integration.test_tracking_samples import T0, sample
from tests.integration.tracking_harness import start_tracking, stop_tracking

METHOD = "CreateThing"
Answer = wrappers_pb2.StringValue


@pytest.fixture
async def engine(migrated_dsn):
    engine = create_async_engine(make_settings(migrated_dsn).sqlalchemy_url)
    yield engine
    await engine.dispose()


class Create:
    """A create that counts its runs; it can be held open until the test lets it finish."""

    def __init__(self, hold: bool = False) -> None:
        self.runs = 0
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self) -> Answer:
        self.runs += 1
        run = self.runs
        await asyncio.sleep(0.2)  # long enough for the other calls to find the claim
        await self.release.wait()
        return Answer(value=f"run {run}")


async def test_five_retries_sent_at_once_run_the_create_once_and_get_one_answer(engine):
    results, user, request_id, create = RequestResults(engine, "tracking"), uuid.uuid4(), str(uuid.uuid4()), Create()
    answers = await asyncio.gather(*(results.once(user, METHOD, request_id, Answer.FromString, create)
                                     for _ in range(5)))
    assert create.runs == 1
    assert [a.value for a in answers] == ["run 1"] * 5
    later = await results.once(user, METHOD, request_id, Answer.FromString, create)
    assert later.value == "run 1" and create.runs == 1


async def test_a_create_that_fails_gives_its_key_back_so_a_retry_runs(engine):
    results, user, request_id = RequestResults(engine, "tracking"), uuid.uuid4(), str(uuid.uuid4())

    async def refused() -> Answer:
        raise InvalidArgument.field("thing", "is bad")

    with pytest.raises(InvalidArgument):
        await results.once(user, METHOD, request_id, Answer.FromString, refused)
    create = Create()
    assert (await results.once(user, METHOD, request_id, Answer.FromString, create)).value == "run 1"


async def test_a_retry_that_waits_longer_than_its_bound_is_told_to_retry(engine):
    results, user, request_id = RequestResults(engine, "tracking", wait_seconds=0.3), uuid.uuid4(), str(uuid.uuid4())
    create = Create(hold=True)
    first = asyncio.create_task(results.once(user, METHOD, request_id, Answer.FromString, create))
    while create.runs == 0:
        await asyncio.sleep(0.01)
    with pytest.raises(Unavailable) as err:
        await results.once(user, METHOD, request_id, Answer.FromString, create)
    assert err.value.reason == "REQUEST_IN_PROGRESS"
    create.release.set()
    assert (await first).value == "run 1"
    assert (await results.once(user, METHOD, request_id, Answer.FromString, create)).value == "run 1"
    assert create.runs == 1


async def _stored(engine, user: uuid.UUID, request_id: str, response: bytes | None, age: dt.timedelta) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO tracking.request_results (user_id, method, request_id, response, claim_id, create_time) "
            "VALUES (:u, :m, :r, :b, :c, now() - CAST(:age AS interval))"),
            {"u": user, "m": METHOD, "r": request_id, "b": response, "c": uuid.uuid4(), "age": age})


async def test_a_claim_older_than_the_lease_is_taken_over(engine):
    results, user, request_id = RequestResults(engine, "tracking", lease_seconds=60), uuid.uuid4(), str(uuid.uuid4())
    await _stored(engine, user, request_id, None, dt.timedelta(minutes=2))  # its holder died mid-run
    create = Create()
    assert (await results.once(user, METHOD, request_id, Answer.FromString, create)).value == "run 1"
    assert (await results.once(user, METHOD, request_id, Answer.FromString, create)).value == "run 1"


async def test_an_answer_older_than_a_day_is_replaced_by_the_next_run(engine):
    results, user, request_id = RequestResults(engine, "tracking"), uuid.uuid4(), str(uuid.uuid4())
    await _stored(engine, user, request_id, Answer(value="old").SerializeToString(), dt.timedelta(days=2))
    create = Create()
    assert (await results.once(user, METHOD, request_id, Answer.FromString, create)).value == "run 1"
    assert (await results.once(user, METHOD, request_id, Answer.FromString, create)).value == "run 1"
    assert create.runs == 1  # stored this time (it used to stay "old" and unreplayable, so every retry ran)


async def test_a_batch_sent_five_times_at_once_is_written_once(migrated_dsn, auth_harness):
    tracking = await start_tracking(migrated_dsn, auth_harness.port)
    try:
        _, session = await register_and_login(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel))
        stub = tracking_service_pb2_grpc.TrackingServiceStub(tracking.channel)
        request = tracking_service_pb2.BatchCreateSamplesRequest(
            parent="users/me", request_id=str(uuid.uuid4()),
            samples=[sample("water", T0 + dt.timedelta(minutes=i), 250, "mL") for i in range(3)])
        answers = await asyncio.gather(*(stub.BatchCreateSamples(request, metadata=bearer(session.access_token))
                                         for _ in range(5)))
        # Run five times, the later runs would have answered duplicate=3 (or collided on the rows).
        assert all(a == answers[0] for a in answers) and answers[0].accepted == 3
    finally:
        await stop_tracking(tracking)
