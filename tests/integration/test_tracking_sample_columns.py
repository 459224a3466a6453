"""WriteSamples with columnar batches (SampleColumns) over real gRPC and a real PostgreSQL: acks,
stored values, ids, natural keys, per-row errors, malformed batches and unit conversion."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from healthmesh.auth.v1 import auth_service_pb2, user_pb2
from healthmesh.tracking.v1 import (
    sample_pb2, tracking_internal_service_pb2, tracking_internal_service_pb2_grpc, tracking_service_pb2,
)

from services.common.convert import to_micros
from services.tracking.samples.domain import start_of_sample_id
from tests.integration.conftest import SERVICE_TOKEN
from tests.integration.test_auth_service import details
from tests.integration.test_tracking_samples import T0, sample, tracking, ts  # noqa: F401 (tracking: fixture)

NAN = float("nan")
def columns(rows: list[dict]) -> tracking_internal_service_pb2.SampleColumns:
    """Rows as SampleColumns. Each row has type, unit, start, value and optionally source (""),
    end, offset, min, max, value2, meal_context; an optional column is sent when any row has it
    (NaN for the float columns where a row lacks it)."""
    index: dict[str, int] = {}

    def ref(s: str) -> int:
        return index.setdefault(s, len(index))

    out = tracking_internal_service_pb2.SampleColumns(
        type=[ref(r["type"]) for r in rows], unit=[ref(r["unit"]) for r in rows],
        source=[ref(r.get("source", "")) for r in rows], start_time_micros=[to_micros(r["start"]) for r in rows],
        value=[r["value"] for r in rows])
    out.strings.extend(index)
    if any("end" in r for r in rows):
        out.end_time_micros.extend([to_micros(r.get("end", r["start"])) for r in rows])
    if any("offset" in r for r in rows):
        out.utc_offset_minutes.extend([r["offset"] for r in rows])  # all or none
    for name in ("min", "max", "value2"):
        if any(name in r for r in rows):
            getattr(out, name).extend([r.get(name, NAN) for r in rows])
    if any("meal_context" in r for r in rows):
        out.meal_context.extend([r.get("meal_context", 0) for r in rows])
    return out


def heart_rate(minute: int, value: float, offset: int = 60, source: str = "Band", **extra) -> dict:
    return dict(type="heart_rate", unit="count/min", start=T0 + dt.timedelta(minutes=minute), value=value,
                offset=offset, source=source, **extra)


class Internal:
    """TrackingInternalService as Ingest calls it: the service token and the end user's principal."""

    def __init__(self, channel: grpc.aio.Channel, user: str) -> None:
        self.stub = tracking_internal_service_pb2_grpc.TrackingInternalServiceStub(channel)
        self.user = user
        self.metadata = (("x-healthmesh-service-token", SERVICE_TOKEN), ("x-healthmesh-user", user.split("/")[1]))

    def batch(self, sequence: int, cols: tracking_internal_service_pb2.SampleColumns | None = None,
              **fields) -> tracking_internal_service_pb2.WriteSamplesRequest:
        request = tracking_internal_service_pb2.WriteSamplesRequest(sequence=sequence, user=self.user, **fields)
        if cols is not None:
            request.columns.CopyFrom(cols)
        return request

    async def write(self, *batches) -> list[tracking_internal_service_pb2.WriteSamplesResponse]:
        """One stream carrying the batches; their acks."""
        return [a async for a in self.stub.WriteSamples(iter(batches), metadata=self.metadata)]


@pytest.fixture
def internal(tracking):  # noqa: F811
    _, _, session, channel, _ = tracking
    return Internal(channel, session.user.name)


def counts(ack) -> tuple[int, int, int, int]:
    return ack.accepted, ack.duplicate, ack.updated, ack.rejected


async def listed(stub, md, type: str) -> list[sample_pb2.Sample]:
    """The user's samples of `type`, oldest first (the rows' own order in these tests)."""
    reply = await stub.ListSamples(tracking_service_pb2.ListSamplesRequest(
        parent="users/me", type=type, page_size=1000, order_by="start_time"), metadata=md)
    return list(reply.samples)


async def test_a_columns_batch_is_stored_and_readable_with_ids_that_carry_the_start(tracking, internal):
    stub, md, *_ = tracking
    # Some rows carry min/max, the others NaN (none); offsets and sources differ per row; one row
    # has no source of its own and gets default_source. Two starts are not whole milliseconds, one
    # of them before 1970 (the id keeps the start's millisecond, rounded down).
    odd = T0 + dt.timedelta(minutes=5, microseconds=250_500)
    old = dt.datetime(1965, 7, 1, 12, 0, 0, 999_999, tzinfo=dt.UTC) - dt.timedelta(microseconds=1_998)
    rows = [
        heart_rate(0, 64, min=60, max=71, end=T0 + dt.timedelta(minutes=1)),
        heart_rate(1, 72, offset=120),
        heart_rate(2, 80, offset=-300, source="Apple Watch", min=75, max=90),
        heart_rate(3, 58, source="", offset=0),
        dict(type="heart_rate", unit="count/min", start=odd, value=66, offset=60, source="Band", max=70),
        dict(type="heart_rate", unit="/min", start=old, value=61, offset=-60, source="Band", min=55),
    ]
    acks = await internal.write(internal.batch(7, columns(rows), default_source="Strap",
                                               ingest_id=f"{internal.user}/ingestions/{uuid.uuid4()}"))
    assert [(a.sequence, *counts(a)) for a in acks] == [(7, len(rows), 0, 0, 0)]
    assert not acks[0].errors

    stored = {s.start_time.ToDatetime(dt.UTC): s for s in await listed(stub, md, "heart_rate")}
    assert len(stored) == len(rows)
    expected_sources = ["Band", "Band", "Apple Watch", "Strap", "Band", "Band"]
    for row, source in zip(rows, expected_sources):
        s = stored[row["start"]]
        assert s.type == "heart_rate" and s.unit == "/min" and s.original_unit == row["unit"]
        assert s.value == row["value"] and s.original_value == row["value"]
        assert s.utc_offset_minutes == row["offset"] and s.source == source
        for name in ("min", "max"):
            assert s.HasField(name) == (name in row), (row, name)
            if name in row:
                assert getattr(s, name) == row[name]
        assert not s.HasField("value2")
        assert s.end_time.ToDatetime(dt.UTC) == row.get("end", row["start"])
        assert s.meal_context == sample_pb2.MEAL_CONTEXT_UNSPECIFIED

        user, _, sample_id = s.name.rpartition("/samples/")
        assert user == internal.user
        sample_uuid = uuid.UUID(sample_id)
        assert sample_uuid.version == 8 and sample_uuid.variant == uuid.RFC_4122
        start = row["start"]
        assert start_of_sample_id(sample_uuid) == start.replace(microsecond=start.microsecond // 1000 * 1000)
        got = await stub.GetSample(tracking_service_pb2.GetSampleRequest(name=s.name), metadata=md)
        assert got == s
    assert stored[odd].start_time.nanos == 250_500_000  # the start itself keeps its microseconds
    ids = {s.name for s in stored.values()}
    assert len(ids) == len(rows)


async def test_the_same_columns_again_are_duplicates_and_a_changed_value_is_an_update(tracking, internal):
    stub, md, *_ = tracking
    # Two local hours (07:00-08:00 UTC and 08:00-09:00 UTC), so an unchanged hour and a changed one
    # come in one batch.
    rows = [heart_rate(m, 60 + m % 7, min=50, max=100) for m in range(0, 120, 10)]
    n = len(rows)
    first = await internal.write(internal.batch(1, columns(rows)), internal.batch(2, columns(rows)))
    assert [(a.sequence, *counts(a)) for a in first] == [(1, n, 0, 0, 0), (2, 0, n, 0, 0)]
    again = await internal.write(internal.batch(1, columns(rows)))  # a new stream starts its sequences anew
    assert [counts(a) for a in again] == [(0, n, 0, 0)]
    before = {s.start_time.ToDatetime(dt.UTC): s for s in await listed(stub, md, "heart_rate")}

    rows[-1] = heart_rate(110, 95, min=50, max=100)
    changed = await internal.write(internal.batch(3, columns(rows)))
    assert [counts(a) for a in changed] == [(0, n - 1, 1, 0)]
    after = {s.start_time.ToDatetime(dt.UTC): s for s in await listed(stub, md, "heart_rate")}
    assert len(after) == n
    last = T0 + dt.timedelta(minutes=110)
    assert after[last].value == 95 and after[last].name == before[last].name
    assert after[last].update_time.ToDatetime() > before[last].update_time.ToDatetime()
    assert all(after[t] == before[t] for t in before if t != last)

    # The rollups follow the update.
    reply = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="heart_rate", interval=tracking_service_pb2.HOUR,
        start_time=ts(T0), end_time=ts(T0 + dt.timedelta(hours=2))), metadata=md)
    assert [(b.count, b.sum) for b in reply.buckets] == [
        (6, sum(r["value"] for r in rows[:6])), (6, sum(r["value"] for r in rows[6:]))]
    assert reply.buckets[1].sum == sum(60 + m % 7 for m in range(60, 110, 10)) + 95

    # And the changed batch sent once more is all duplicates.
    assert [counts(a) for a in await internal.write(internal.batch(4, columns(rows)))] == [(0, n, 0, 0)]


async def test_part_of_a_stored_hour_sent_again_is_compared_row_by_row(tracking, internal, monkeypatch):
    """A batch that holds only part of a stored hour (as a batch that starts or ends mid-hour
    does) cannot be told unchanged by the hour's rollup: its rows are compared one by one, on
    every value an update would change, and only what differs is written."""
    from services.tracking.samples import repository

    stub, md, *_ = tracking
    rows = [heart_rate(m, 60 + m % 7, min=50, max=100, end=T0 + dt.timedelta(minutes=m, seconds=30))
            for m in range(0, 60, 5)]
    n = len(rows)
    assert [counts(a) for a in await internal.write(internal.batch(1, columns(rows)))] == [(n, 0, 0, 0)]

    async def no_upsert(*args):
        raise AssertionError("rows stored as they are were written again")

    with monkeypatch.context() as m:
        m.setattr(repository, "_load", no_upsert)
        part = rows[:5]
        assert [counts(a) for a in await internal.write(internal.batch(1, columns(part)))] == [(0, 5, 0, 0)]

    part = [dict(rows[0], min=49), dict(rows[1], max=101), dict(rows[2], end=T0 + dt.timedelta(minutes=10, seconds=31)),
            dict(rows[3], value=rows[3]["value"] + 0.5), rows[4], rows[5]]
    assert [counts(a) for a in await internal.write(internal.batch(1, columns(part)))] == [(0, 2, 4, 0)]
    stored = {s.start_time.ToDatetime(dt.UTC): s for s in await listed(stub, md, "heart_rate")}
    assert len(stored) == n
    assert [(stored[r["start"]].min, stored[r["start"]].max, stored[r["start"]].end_time.ToDatetime(dt.UTC),
             stored[r["start"]].value) for r in part] == [(r["min"], r["max"], r["end"], r["value"]) for r in part]


async def test_a_batch_taken_for_new_ground_whose_keys_are_stored_falls_back_to_the_upsert(
        tracking, internal, monkeypatch):
    """As when another writer stores the same keys between the check and the copy: the copy
    fails and stores nothing, and the upsert counts duplicates and updates, rollups exact."""
    from services.tracking.samples import repository

    stub, md, *_ = tracking
    rows = [heart_rate(m, 60 + m % 7) for m in range(0, 60, 5)]
    n = len(rows)
    assert [counts(a) for a in await internal.write(internal.batch(1, columns(rows)))] == [(n, 0, 0, 0)]

    async def new_ground(*args):
        return None  # "nothing of these types stored in the span"

    monkeypatch.setattr(repository, "_unchanged", new_ground)
    rows[0] = heart_rate(0, 99)
    assert [counts(a) for a in await internal.write(internal.batch(2, columns(rows)))] == [(0, n - 1, 1, 0)]
    stored = await listed(stub, md, "heart_rate")
    assert len(stored) == n and {s.value for s in stored if s.start_time.ToDatetime(dt.UTC) == T0} == {99}
    reply = await stub.AggregateSamples(tracking_service_pb2.AggregateSamplesRequest(
        parent="users/me", type="heart_rate", interval=tracking_service_pb2.HOUR,
        start_time=ts(T0), end_time=ts(T0 + dt.timedelta(hours=1))), metadata=md)
    assert [(b.count, b.sum) for b in reply.buckets] == [(n, sum(r["value"] for r in rows))]


async def test_bad_rows_are_rejected_by_index_and_the_good_row_is_kept(tracking, internal):
    stub, md, *_ = tracking
    rows = [
        dict(type="mood", unit="count/min", start=T0, value=3, offset=60, source="Band"),
        heart_rate(1, 900),
        heart_rate(2, 70),
    ]
    acks = await internal.write(internal.batch(1, columns(rows)))
    assert [counts(a) for a in acks] == [(1, 0, 0, 2)]
    assert [(e.index, e.field, e.reason) for e in acks[0].errors] == [
        (0, "type", "UNKNOWN_TYPE"), (1, "value", "VALUE_OUT_OF_RANGE")]
    assert "mood" in acks[0].errors[0].message and "900" in acks[0].errors[1].message
    assert [(s.start_time.ToDatetime(dt.UTC), s.value) for s in await listed(stub, md, "heart_rate")] == [
        (T0 + dt.timedelta(minutes=2), 70)]


async def test_a_key_given_twice_in_one_batch_keeps_the_later_row(tracking, internal):
    stub, md, *_ = tracking
    rows = [heart_rate(0, 70, min=60, max=80), heart_rate(0, 75, min=61, max=81),  # same type, start, source
            heart_rate(1, 50), heart_rate(1, 50)]  # the same key and values twice
    acks = await internal.write(internal.batch(1, columns(rows)))
    assert [counts(a) for a in acks] == [(2, 1, 1, 0)]
    stored = await listed(stub, md, "heart_rate")
    assert [(s.start_time.ToDatetime(dt.UTC), s.value) for s in stored] == [
        (T0, 75), (T0 + dt.timedelta(minutes=1), 50)]
    assert (stored[0].min, stored[0].max) == (61, 81)
    assert not stored[1].HasField("min") and not stored[1].HasField("max")


def _value_too_short(rows):
    cols = columns(rows)
    del cols.value[-1]
    return cols, "columns.value"


def _min_too_short(rows):
    cols = columns([dict(r, min=50) for r in rows])
    del cols.min[-1]
    return cols, "columns.min"


def _string_out_of_range(rows):
    cols = columns(rows)
    cols.source[1] = len(cols.strings)
    return cols, "columns.source"


def _type_out_of_range(rows):
    cols = columns(rows)
    cols.type[0] = 1000
    return cols, "columns.type"


@pytest.mark.parametrize("malform", [_value_too_short, _min_too_short, _string_out_of_range, _type_out_of_range])
async def test_a_malformed_columns_batch_ends_the_stream_and_earlier_acks_stay(tracking, internal, malform):
    stub, md, *_ = tracking
    good = [heart_rate(0, 60), heart_rate(1, 61)]
    bad, field = malform([heart_rate(10, 70), heart_rate(11, 71), heart_rate(12, 72)])
    acks = []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for ack in internal.stub.WriteSamples(iter([internal.batch(1, columns(good)), internal.batch(2, bad),
                                                          internal.batch(3, columns(good))]),
                                                    metadata=internal.metadata):
            acks.append(ack)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in err.value.details()
    bad_request = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad_request) for d in details(err.value).details)
    assert [v.field for v in bad_request.field_violations] == [field]
    assert [(a.sequence, *counts(a)) for a in acks] == [(1, 2, 0, 0, 0)]
    assert [s.value for s in await listed(stub, md, "heart_rate")] == [60, 61]  # nothing of the bad batch


async def test_a_batch_with_both_samples_and_columns_is_invalid(tracking, internal):
    stub, md, *_ = tracking
    both = internal.batch(1, columns([heart_rate(0, 60)]),
                          samples=[sample("heart_rate", T0 + dt.timedelta(minutes=1), 61, "count/min")])
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await internal.write(both)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "columns" in err.value.details()
    assert await listed(stub, md, "heart_rate") == []
    # Either form alone is fine.
    only_samples = internal.batch(1, samples=[sample("heart_rate", T0 + dt.timedelta(minutes=1), 61, "count/min")])
    acks = await internal.write(only_samples, internal.batch(2, columns([heart_rate(0, 60)])))
    assert [counts(a) for a in acks] == [(1, 0, 0, 0), (1, 0, 0, 0)]


async def test_units_convert_in_columns_and_the_original_is_kept(tracking, internal):
    stub, md, *_ = tracking
    rows = [
        dict(type="weight", unit="lb", start=T0, value=154.0, offset=60, source="Scale"),
        dict(type="weight", unit="g", start=T0 + dt.timedelta(days=1), value=70_500.0, offset=60, source="Scale"),
        dict(type="weight", unit="kg", start=T0 + dt.timedelta(days=2), value=71.0, offset=60, source="Scale"),
        dict(type="blood_glucose", unit="mmol/L", start=T0, value=5.5, offset=60, source="Meter",
             meal_context=sample_pb2.AFTER_MEAL),
        dict(type="spo2", unit="%", start=T0, value=0.97, offset=60, source="Watch"),
        dict(type="weight", unit="furlongs", start=T0 + dt.timedelta(days=3), value=1.0, offset=60, source="Scale"),
    ]
    acks = await internal.write(internal.batch(1, columns(rows)))
    assert [counts(a) for a in acks] == [(5, 0, 0, 1)]
    assert [(e.index, e.field, e.reason) for e in acks[0].errors] == [(5, "unit", "UNKNOWN_UNIT")]

    weights = await listed(stub, md, "weight")
    assert [(s.unit, s.original_unit, s.original_value) for s in weights] == [
        ("kg", "lb", 154.0), ("kg", "g", 70_500.0), ("kg", "kg", 71.0)]
    assert [s.value for s in weights] == pytest.approx([154.0 * 0.45359237, 70.5, 71.0])
    assert weights[0].value == pytest.approx(69.853, abs=1e-3)
    glucose, = await listed(stub, md, "blood_glucose")
    assert glucose.unit == "mg/dL" and glucose.value == pytest.approx(99.09, abs=0.01)
    assert glucose.original_unit == "mmol/L" and glucose.original_value == 5.5
    assert glucose.meal_context == sample_pb2.AFTER_MEAL
    spo2, = await listed(stub, md, "spo2")
    assert spo2.value == pytest.approx(97.0) and spo2.original_value == pytest.approx(0.97)


async def test_without_an_offset_column_the_profile_time_zone_decides(tracking, internal):
    stub, md, _, _, auth = tracking
    await auth.UpdateUser(auth_service_pb2.UpdateUserRequest(
        user=user_pb2.User(name="users/me", time_zone="America/Los_Angeles"),
        update_mask=field_mask_pb2.FieldMask(paths=["time_zone"])), metadata=md)
    summer = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
    rows = [dict(type="weight", unit="kg", start=t, value=70, source="Scale") for t in (T0, summer)]
    cols = columns(rows)
    assert not cols.utc_offset_minutes
    acks = await internal.write(internal.batch(1, cols))
    assert [counts(a) for a in acks] == [(2, 0, 0, 0)]
    assert [s.utc_offset_minutes for s in await listed(stub, md, "weight")] == [-420, -480]  # PDT, PST
