"""Login and registration throttles, after OWASP's authentication cheat sheet.

Every guess is counted before its password is checked (a counter is hit, then the count it
returns is compared), so guesses sent at once cannot all slip under a limit while their hashes
run. A login meets three counters, all over the same fixed window:

- (account, client address): a hard limit. The address that guesses is the one refused.
- client address: a hard limit over all accounts (one address trying many).
- account, from anywhere: after `login_failures_per_account` failures each answer for the
  account waits 2^(n - that) seconds, capped; only a much higher bound refuses outright. Guessers
  elsewhere slow the account down, but cannot lock its owner out.

A refused guess counts only where it was refused. A login that succeeds takes its hits back and
clears its (account, address) count. Accounts are keyed by a digest of the normalised email: no
email reaches Redis, and a key's size does not depend on what the client sent.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.common.cache import Counters
from services.common.config import Settings
from services.common.errors import ResourceExhausted

Sleep = Callable[[float], Awaitable[object]]


def account_key(email_key: str) -> str:
    return hashlib.sha256(email_key.encode()).hexdigest()[:32]


def login_delay(failures: int, free: int, cap_seconds: float) -> float:
    """How long the answer for an account waits once it has failed `failures` times."""
    if failures < free:
        return 0.0
    return float(min(cap_seconds, 2 ** min(failures - free, 32)))


@dataclass(frozen=True)
class LoginAttempt:
    """A counted guess. If its password was right, `succeeded` takes its counts back."""

    counters: Counters
    pair: str
    address: str
    account: str

    async def succeeded(self) -> None:
        await self.counters.reset(self.pair)
        await self.counters.undo(self.address)
        await self.counters.undo(self.account)


class Throttles:
    def __init__(self, counters: Counters, settings: Settings, sleep: Sleep = asyncio.sleep) -> None:
        self._counters = counters
        self._settings = settings
        self._sleep = sleep

    async def login(self, email_key: str, client: str) -> LoginAttempt:
        """Counts a guess at `email_key` from `client`: refuses it (ResourceExhausted) or, once the
        account has failed often, makes it wait; returns it for the caller to report success."""
        s = self._settings
        window = s.throttle_window_seconds
        account = account_key(email_key)
        attempt = LoginAttempt(self._counters, f"login:pair:{account}:{client}", f"login:addr:{client}",
                               f"login:acct:{account}")
        if await self._counters.hit(attempt.pair, window) > s.login_failures_per_account_address:
            raise self._refused()
        if await self._counters.hit(attempt.address, window) > s.login_failures_per_address:
            await self._counters.undo(attempt.pair)
            raise self._refused()
        count = await self._counters.hit(attempt.account, window)
        if count > s.login_failures_per_account_max:
            await self._counters.undo(attempt.pair)
            await self._counters.undo(attempt.address)
            raise self._refused()
        # `count` includes this guess and any still running: the failures before it are one fewer.
        delay = login_delay(count - 1, s.login_failures_per_account, s.login_delay_max_seconds)
        if delay:
            await self._sleep(delay)
        return attempt

    async def registration(self, client: str) -> None:
        window = self._settings.throttle_window_seconds
        if await self._counters.hit(f"register:addr:{client}", window) > self._settings.registrations_per_address:
            raise ResourceExhausted("too many registrations from this address, try later", "REGISTRATION_THROTTLED",
                                    window)

    def _refused(self) -> ResourceExhausted:
        return ResourceExhausted("too many failed logins, try later", "LOGIN_THROTTLED",
                                 self._settings.throttle_window_seconds)
