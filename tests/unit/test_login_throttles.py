"""Login throttles (OWASP): counted before the hash, hard per (account, address) and per address,
growing waits per account that cannot lock the owner out; email length; counter keys."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os

import pytest

from services.auth.secrets import Passwords
from services.auth.service import AuthService
from services.auth.throttles import Throttles, login_delay
from services.common.cache import Counters
from services.common.clock import fixed
from services.common.config import Settings
from services.common.errors import InvalidArgument, ResourceExhausted, Unauthenticated
from tests.unit.fake_auth_repository import FakeAuthRepository

PASSWORD = "correct horse battery"
EMAIL = "ada@example.org"


class Sleeps(list):
    """Stands in for asyncio.sleep: records how long each answer would have waited."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class RecordingCounters(Counters):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    async def hit(self, key: str, window_seconds: int) -> int:
        self.keys.append(key)
        return await super().hit(key, window_seconds)


async def make_auth(**overrides) -> tuple[AuthService, Sleeps, RecordingCounters]:
    settings = Settings(key_encryption_key=base64.b64encode(os.urandom(32)).decode(),
                        api_key_pepper="unit-test-pepper-0123456789", **overrides)
    sleeps, counters = Sleeps(), RecordingCounters()
    # Two hashes at once, as in production: guesses sent together really overlap.
    service = AuthService(FakeAuthRepository(), Passwords(1, 8192, 1, 2), counters, settings,
                          fixed(dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)),
                          throttles=Throttles(counters, settings, sleep=sleeps))
    await service.load_signing_keys()
    await service.register(EMAIL, PASSWORD, "Ada", "", 0, "", "9.9.9.9")
    return service, sleeps, counters


async def outcome(call) -> str:
    try:
        await call
    except (Unauthenticated, ResourceExhausted) as exc:
        return exc.code
    return "OK"


async def test_guesses_sent_at_once_are_counted_before_their_hashes_run():
    auth, _, _ = await make_auth()
    outcomes = await asyncio.gather(*(outcome(auth.login(EMAIL, f"wrong password {i}", "1.2.3.4"))
                                      for i in range(12)))
    # Peeking before the hash and counting after it let all 12 through as 401s.
    assert outcomes.count("UNAUTHENTICATED") == 5
    assert outcomes.count("RESOURCE_EXHAUSTED") == 7


async def test_the_guessing_address_is_refused_even_with_the_right_password():
    auth, _, _ = await make_auth()
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            await auth.login(EMAIL, "wrong password", "1.2.3.4")
    with pytest.raises(ResourceExhausted) as err:
        await auth.login(EMAIL, PASSWORD, "1.2.3.4")
    assert err.value.reason == "LOGIN_THROTTLED"
    assert err.value.metadata["retry_after_seconds"] == "900"


async def test_the_owner_gets_in_from_another_address_while_guessers_hammer_the_account():
    auth, sleeps, _ = await make_auth()
    for address in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"):
        for _ in range(8):  # 5 wrong guesses each, then refused at the (account, address) limit
            assert await outcome(auth.login(EMAIL, "wrong password", address)) in (
                "UNAUTHENTICATED", "RESOURCE_EXHAUSTED")
    # After 5 failures each answer for the account waits longer, up to the cap; nothing refuses it.
    assert sleeps[:6] == [1, 2, 4, 8, 16, 16]
    assert len(sleeps) == 15 and max(sleeps) == 16
    session = await auth.login("ADA@example.org ", PASSWORD, "5.6.7.8")
    assert session.user.email == EMAIL
    assert sleeps[-1] == 16  # the owner waited as long as a guesser would, and got in


async def test_an_account_refuses_everyone_only_past_its_much_higher_bound():
    auth, _, _ = await make_auth(login_failures_per_account_max=12)
    for address in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        for _ in range(4):
            with pytest.raises(Unauthenticated):
                await auth.login(EMAIL, "wrong password", address)
    with pytest.raises(ResourceExhausted):
        await auth.login(EMAIL, PASSWORD, "5.6.7.8")  # the 13th guess at the account in the window


async def test_one_address_guessing_many_accounts_is_refused():
    auth, _, _ = await make_auth(login_failures_per_address=6)
    outcomes = [await outcome(auth.login(f"user{i}@example.org", "wrong password", "1.2.3.4")) for i in range(8)]
    assert outcomes == ["UNAUTHENTICATED"] * 6 + ["RESOURCE_EXHAUSTED"] * 2


async def test_a_success_takes_its_count_back_and_clears_its_address():
    auth, _, _ = await make_auth()
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            await auth.login(EMAIL, "wrong password", "1.2.3.4")
    await auth.login(EMAIL, PASSWORD, "1.2.3.4")
    for _ in range(5):  # a fresh allowance: the mistyping owner is not one guess from a refusal
        with pytest.raises(Unauthenticated):
            await auth.login(EMAIL, "wrong password", "1.2.3.4")


async def test_an_email_longer_than_rfc_5321_allows_is_invalid_and_counts_nothing():
    auth, _, counters = await make_auth()
    counters.keys.clear()
    for email in ("a" * 1_000_000 + "@example.org", "a" * 243 + "@example.org"):  # 1 MB, and 255 characters
        with pytest.raises(InvalidArgument) as err:
            await auth.login(email, PASSWORD, "1.2.3.4")
        assert [v.field for v in err.value.violations] == ["email"]
        with pytest.raises(InvalidArgument) as err:
            await auth.register(email, PASSWORD, "Ada", "", 0, "", "1.2.3.4")
        assert "email" in [v.field for v in err.value.violations]
    with pytest.raises(InvalidArgument):
        await auth.login(EMAIL, "x" * 1025, "1.2.3.4")  # longer than any registered password
    assert counters.keys == []


async def test_counters_are_keyed_by_a_digest_of_the_normalised_email():
    auth, _, counters = await make_auth()
    long_email = "b" * 242 + "@example.org"  # 254 characters: allowed
    for email in (long_email, long_email.upper() + "  "):
        with pytest.raises(Unauthenticated):
            await auth.login(email, "wrong password", "1.2.3.4")
    assert not any("@" in key or "bbbb" in key.lower() for key in counters.keys)
    assert max(len(k) for k in counters.keys) < 80
    account_keys = [k for k in counters.keys if k.startswith("login:acct:")]
    assert len(account_keys) == 2 and account_keys[0] == account_keys[1]  # one account, however it is typed


def test_the_wait_doubles_after_the_free_failures_and_stops_at_the_cap():
    assert [login_delay(n, 5, 16) for n in range(4, 12)] == [0, 1, 2, 4, 8, 16, 16, 16]
    assert login_delay(10**9, 5, 16) == 16
