"""The audit buffer and record cleaning, with fakes at the store seam (integration: test_audit.py)."""

from __future__ import annotations

import logging

import pytest

from services.common.audit import (
    FIELD_LIMITS, AuditLog, AuditRecord, AuditRejected, as_received, backoff_seconds, clean, storable_text,
)

USER = "0190a5c4-0000-7000-8000-0000000000aa"


def record(request_id: str = "r", **fields) -> AuditRecord:
    values = dict(subject_user_id=USER, actor=f"users/{USER}", action="/healthmesh.tracking.v1.TrackingService/GetSample",
                  resource=f"users/{USER}/samples/x", outcome="OK", client_address="127.0.0.1", request_id=request_id,
                  service="tracking")
    values.update(fields)
    return AuditRecord(**values)


def test_a_storable_record_is_kept_as_it_is_without_a_copy():
    r = record(resource="users/é/samples/ü")  # not ASCII, still storable
    assert clean(r) is r


def test_every_field_loses_nul_and_lone_surrogates_and_is_capped():
    r = record(subject_user_id="\x00", actor="a\x00b", action="\ud800x", resource="users/" + "r" * 1_000_000,
               outcome="O\udfffK", client_address="1" * 10_000, request_id="\x00" * 200, service="s\x00")
    c = clean(r)
    assert (c.subject_user_id, c.actor, c.action, c.outcome, c.service) == (
        "\ufffd", "a\ufffdb", "\ufffdx", "O\ufffdK", "s\ufffd")
    for name, limit in FIELD_LIMITS.items():
        value = getattr(c, name)
        assert len(value) <= limit and "\x00" not in value
        value.encode("utf-8")  # no lone surrogate left
    assert c.resource.startswith("users/rrr") and c.resource.endswith("…[1000006 chars]")
    assert c.id == r.id and c.create_time == r.create_time


def test_a_long_value_keeps_its_start_and_says_how_long_it_was():
    assert storable_text("abcdef", 6) == "abcdef"
    cut = storable_text("x" * 100, 20)
    assert cut == "x" * 8 + "…[100 chars]" and len(cut) == 20


def test_each_record_has_its_own_id_from_the_start():
    a, b = record(), record()
    assert a.id != b.id and a.id.version == 7


def test_auth_keeps_records_whose_subject_is_not_a_user_without_it():
    got = as_received([record("1"), record("2", subject_user_id="users/../x"), record("3", subject_user_id="")])
    assert [(r.request_id, r.subject_user_id) for r in got] == [("1", USER), ("2", ""), ("3", "")]


def test_backoff_grows_to_its_cap_and_never_beyond():
    assert backoff_seconds(1) <= 0.2
    assert all(5.0 <= backoff_seconds(n) <= 10.0 for n in range(7, 60))


class FlakyStore:
    def __init__(self) -> None:
        self.up = False
        self.stored: list[AuditRecord] = []

    async def __call__(self, batch: list[AuditRecord]) -> None:
        if not self.up:
            raise ConnectionRefusedError("the database is down")
        self.stored.extend(batch)


async def test_records_wait_in_memory_while_the_store_is_down_and_none_is_dropped():
    store = FlakyStore()
    log = AuditLog(store, batch_size=10)
    for i in range(250):
        log.record(record(str(i)))
    assert await log.flush() is False and log.buffered == 250
    store.up = True
    assert await log.flush() is True
    assert [r.request_id for r in store.stored] == [str(i) for i in range(250)] and log.dropped == 0


async def test_a_full_buffer_refuses_new_records_loudly_and_counts_them(caplog):
    log = AuditLog(FlakyStore(), max_buffered=3)
    with caplog.at_level(logging.ERROR, "services.common.audit"):
        for i in range(5):
            log.record(record(str(i)))
    assert log.buffered == 3 and log.dropped == 2
    assert [r.levelname for r in caplog.records] == ["ERROR"] and "AUDIT RECORDS LOST" in caplog.text


async def test_a_batch_auth_refuses_does_not_hold_up_the_next_ones():
    stored = []

    async def auth(batch):
        if any(r.request_id == "bad" for r in batch):
            raise AuditRejected("refused")
        stored.extend(batch)

    log = AuditLog(auth, batch_size=2)
    for rid in ("bad", "x", "y", "z"):
        log.record(record(rid))
    assert await log.flush() is True
    assert [r.request_id for r in stored] == ["y", "z"] and log.dropped == 2


class Forwarder:
    def __init__(self, left: int) -> None:
        self.left, self.woken, self.drained = left, 0, None

    def wake(self) -> None:
        self.woken += 1

    async def run(self) -> None:
        pass

    async def drain(self, deadline: float) -> int:
        self.drained = deadline
        return self.left


@pytest.mark.parametrize("left", [0, 7])
async def test_close_flushes_then_drains_and_tells_what_waits_for_the_next_start(caplog, left):
    store, forwarder = FlakyStore(), Forwarder(left)
    store.up = True
    log = AuditLog(store, flush_seconds=60, forwarder=forwarder)
    log.start()
    log.record(record("last"))
    with caplog.at_level(logging.INFO, "services.common.audit"):
        await log.close(drain_seconds=0.5)
    assert [r.request_id for r in store.stored] == ["last"] and forwarder.drained is not None
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said == ([("INFO", f"audit records left in the outbox for the next start: {left}")] if left else [])
