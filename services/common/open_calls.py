"""Long calls open on this process (server streams), so that what must end them does it at once:
a revoked credential (UNAUTHENTICATED), the credential's expiry, shutdown (UNAVAILABLE)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

from services.common.errors import DomainError, Unauthenticated, Unavailable
from services.common.principal import Principal

# What each kind of revocation (services/common/revocation.py, Kind) ends, and why.
REASONS = {"user": "the account was deleted", "session": "the session was ended", "api_key": "the API key was revoked"}


def revokes(revocation, principal: Principal) -> bool:
    """Whether the revocation names the principal's credential."""
    kind = str(revocation.kind)
    if kind == "user":
        return principal.user_id == revocation.user_id
    if kind == "session":
        return principal.session != "" and principal.session == revocation.subject
    return kind == "api_key" and principal.api_key != "" and principal.api_key == revocation.subject


def revoked_error(revocation) -> Unauthenticated:
    return Unauthenticated(f"{REASONS[str(revocation.kind)]}; sign in again", "CREDENTIAL_REVOKED")


@dataclass(eq=False)
class OpenCall:
    principal: Principal
    error: DomainError | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event | None = None  # also set when the call ends, for a call that waits on one event

    def end(self, error: DomainError) -> None:
        if not self.ended.is_set():
            self.error = error
            self.ended.set()
            if self.wake is not None:
                self.wake.set()


class OpenCalls:
    def __init__(self, service: str) -> None:
        self._service = service
        self._open: set[OpenCall] = set()
        self._closing = False

    def __len__(self) -> int:
        return len(self._open)

    def open(self, principal: Principal, wake: asyncio.Event | None = None) -> OpenCall:
        if self._closing:
            raise self._unavailable()
        call = OpenCall(principal, wake=wake)
        self._open.add(call)
        return call

    def close(self, call: OpenCall) -> None:
        self._open.discard(call)

    def revoked(self, revocation) -> None:
        """RevocationWatcher.subscribe's callback."""
        for call in list(self._open):
            if revokes(revocation, call.principal):
                call.end(revoked_error(revocation))

    def end_on(self, shutdown: asyncio.Event) -> asyncio.Task:
        """Ends every call with UNAVAILABLE once `shutdown` is set (the runtime's event, on SIGTERM)."""
        async def wait() -> None:
            await shutdown.wait()
            self.shutdown()
        return asyncio.create_task(wait())

    def shutdown(self) -> None:
        self._closing = True
        for call in list(self._open):
            call.end(self._unavailable())

    def _unavailable(self) -> Unavailable:
        return Unavailable(f"{self._service} is shutting down; call again to resume")


def expired_error(expire_time: float) -> Unauthenticated:
    when = dt.datetime.fromtimestamp(expire_time, dt.UTC).isoformat()
    return Unauthenticated(f"the access token expired at {when}; refresh it and resume", "TOKEN_EXPIRED")
