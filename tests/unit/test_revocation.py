"""The revocation set and watcher, with a fake Auth behind the source seam (no listeners)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.errors import Unauthenticated, Unavailable
from services.common.principal import Principal
from services.common.revocation import Kind, Revocation, RevocationSet, RevocationWatcher

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
ALICE = Principal("user", "u-alice", "users/u-alice", session="s-1")
ALICE_KEY = Principal("api_key", "u-alice", "users/u-alice/apiKeys/k-1", api_key="k-1")
BOB = Principal("user", "u-bob", "users/u-bob", session="s-2")
SERVICE_FOR_ALICE = Principal("service", "u-alice", "services/ingest")


class FakeAuth:
    def __init__(self) -> None:
        self.records: list[Revocation] = []
        self.reads: list[tuple[int, dt.datetime | None]] = []
        self.down = False

    def revoke(self, kind: Kind, user: str, subject: str = "", at: dt.datetime = NOW) -> None:
        self.records.append(Revocation(len(self.records) + 1, kind, user, subject, at))

    async def __call__(self, after: int, since: dt.datetime | None) -> list[Revocation]:
        self.reads.append((after, since))
        if self.down:
            raise ConnectionError("auth is down")
        return [r for r in self.records if r.sequence > after and (since is None or r.time >= since)]


def test_each_kind_names_what_it_revokes():
    revoked = RevocationSet(dt.timedelta(minutes=16))
    revoked.add(Revocation(1, Kind.SESSION, "u-alice", "s-1", NOW))
    assert revoked.revoked(ALICE) is Kind.SESSION and revoked.revoked(ALICE_KEY) is None
    revoked.add(Revocation(2, Kind.API_KEY, "u-alice", "k-1", NOW))
    assert revoked.revoked(ALICE_KEY) is Kind.API_KEY and revoked.revoked(SERVICE_FOR_ALICE) is None
    revoked.add(Revocation(3, Kind.USER, "u-alice", "", NOW))
    assert revoked.revoked(SERVICE_FOR_ALICE) is Kind.USER and revoked.revoked(BOB) is None
    assert revoked.latest_sequence == 3


def test_records_older_than_the_horizon_are_pruned():
    revoked = RevocationSet(dt.timedelta(minutes=16))
    revoked.add(Revocation(1, Kind.SESSION, "u-alice", "s-1", NOW - dt.timedelta(minutes=17)))
    revoked.add(Revocation(2, Kind.SESSION, "u-bob", "s-2", NOW - dt.timedelta(minutes=15)))
    revoked.prune(NOW)
    assert revoked.revoked(ALICE) is None and revoked.revoked(BOB) is Kind.SESSION and len(revoked) == 1


def watcher(auth: FakeAuth, staleness: float) -> RevocationWatcher:
    return RevocationWatcher(auth, dt.timedelta(minutes=16), staleness_seconds=staleness, clock=lambda: NOW)


async def test_the_first_read_covers_the_horizon_and_later_reads_go_on_from_the_last_sequence():
    auth = FakeAuth()
    auth.revoke(Kind.SESSION, "u-alice", "s-1")
    w = watcher(auth, staleness=0)
    await w.sync()
    auth.revoke(Kind.USER, "u-bob")
    await w.sync()
    assert auth.reads == [(0, NOW - dt.timedelta(minutes=16)), (1, None)]


async def test_a_watcher_that_cannot_show_it_is_current_reads_again_before_it_answers():
    auth = FakeAuth()
    w = watcher(auth, staleness=0)  # no listener and every read is at once stale
    await w.check(ALICE)
    auth.revoke(Kind.SESSION, "u-alice", "s-1")
    with pytest.raises(Unauthenticated) as err:
        await w.check(ALICE)
    assert err.value.reason == "CREDENTIAL_REVOKED"
    await w.check(BOB)


async def test_a_current_watcher_answers_from_memory():
    auth = FakeAuth()
    w = watcher(auth, staleness=3600)
    await w.check(ALICE)
    reads = len(auth.reads)
    auth.down = True
    await w.check(ALICE)  # read a moment ago: no new read needed, Auth being down does not matter
    assert len(auth.reads) == reads


async def test_when_auth_cannot_be_read_a_stale_watcher_refuses_to_guess():
    auth = FakeAuth()
    auth.down = True
    w = watcher(auth, staleness=0)
    with pytest.raises(Unavailable):
        await w.check(ALICE)
    await w.check(Principal("anonymous"))  # nothing to check for nobody


async def test_notifications_add_to_the_set_and_reach_subscribers():
    w = watcher(FakeAuth(), staleness=3600)
    await w.sync()
    seen = []
    w.subscribe(seen.append)
    record = Revocation(7, Kind.API_KEY, "u-alice", "k-1", NOW)
    w._on_message(record.to_json())
    w._on_message("not json")  # ignored, logged
    assert seen == [record] and w.set.revoked(ALICE_KEY) is Kind.API_KEY
