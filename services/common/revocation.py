"""Revocation that takes effect at once, in every service.

Auth commits a revocation record (a deleted user, an ended session, a revoked API key) with the
change itself, and sends a PostgreSQL NOTIFY in the same transaction, which listeners receive when
it commits; after the commit it also publishes the record on Redis. Every service holds the recent
records in memory and checks each call's principal against them (a dict lookup), so a stateless JWT
dies the moment its user or session does.

A service knows it is current while one of its listeners (PostgreSQL, Redis) is connected: each
reconnect first catches up from Auth. With neither connected it polls Auth, and a call arriving when
the last successful read is older than `staleness_seconds` reads again before it is answered; if
Auth cannot be reached then, the call fails UNAVAILABLE rather than risk serving a dead credential.

Records only matter while a credential they name could still be accepted without asking Auth:
access tokens live `access_token_ttl_seconds`, API keys are re-checked with Auth after
`api_key_cache_seconds`. Older records are pruned from memory (never from Auth's table).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from services.common.background import cancel
from services.common.clock import Clock, utcnow
from services.common.errors import Unauthenticated, Unavailable
from services.common.listen import keep_listening, listen_postgres
from services.common.principal import Principal

log = logging.getLogger(__name__)

PG_CHANNEL = "healthmesh_revocations"
REDIS_CHANNEL = "healthmesh:revocations"


class Kind(StrEnum):
    USER = "user"  # the user was deleted: every credential of theirs
    SESSION = "session"  # a refresh-token family ended: its access tokens carry it as `sid`
    API_KEY = "api_key"


@dataclass(frozen=True)
class Revocation:
    sequence: int
    kind: Kind
    user_id: str
    subject: str  # the session or API key id; '' for USER
    time: dt.datetime

    def to_json(self) -> str:
        return json.dumps({"seq": self.sequence, "kind": self.kind.value, "user": self.user_id,
                           "subject": self.subject, "time": self.time.isoformat()})

    @classmethod
    def from_json(cls, text: str | bytes) -> Revocation:
        d = json.loads(text)
        return cls(int(d["seq"]), Kind(d["kind"]), d["user"], d["subject"], dt.datetime.fromisoformat(d["time"]))


# after_sequence, since -> the revocations after that sequence (and any of the last 30 s), oldest first
RevocationSource = Callable[[int, dt.datetime | None], Awaitable[list[Revocation]]]


class RevocationSet:
    """The recent revocations, as sets keyed by what a principal names."""

    def __init__(self, horizon: dt.timedelta) -> None:
        self.horizon = horizon
        self._by_kind: dict[Kind, dict[str, dt.datetime]] = {k: {} for k in Kind}
        self.latest_sequence = 0

    def add(self, r: Revocation) -> None:
        self._by_kind[r.kind][r.user_id if r.kind is Kind.USER else r.subject] = r.time
        self.latest_sequence = max(self.latest_sequence, r.sequence)

    def revoked(self, p: Principal) -> Kind | None:
        if p.user_id and p.user_id in self._by_kind[Kind.USER]:
            return Kind.USER
        if p.session and p.session in self._by_kind[Kind.SESSION]:
            return Kind.SESSION
        if p.api_key and p.api_key in self._by_kind[Kind.API_KEY]:
            return Kind.API_KEY
        return None

    def prune(self, now: dt.datetime) -> None:
        oldest = now - self.horizon
        for entries in self._by_kind.values():
            for key in [k for k, t in entries.items() if t < oldest]:
                del entries[key]

    def __len__(self) -> int:
        return sum(len(e) for e in self._by_kind.values())


REASONS = {Kind.USER: "the account was deleted", Kind.SESSION: "the session was ended",
           Kind.API_KEY: "the API key was revoked"}


class RevocationWatcher:
    """Keeps a RevocationSet current from Auth; see the module docstring for the guarantees."""

    def __init__(self, source: RevocationSource, horizon: dt.timedelta, *, database_url: str = "",
                 redis_url: str = "", staleness_seconds: float = 1.0, poll_seconds: float = 2.0,
                 clock: Clock = utcnow) -> None:
        self.set = RevocationSet(horizon)
        self._source = source
        self._database_url = database_url
        self._redis_url = redis_url
        self._staleness = staleness_seconds
        self._poll_seconds = poll_seconds
        self._now = clock
        self._listening: set[str] = set()  # "postgres", "redis": connected and caught up
        self._synced_at = -1e9  # monotonic time of the last successful read from Auth
        self._loaded = False
        self._sync_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self._subscribers: list[Callable[[Revocation], None]] = []

    # What calls use.

    async def check(self, principal: Principal) -> None:
        """Refuses a principal whose user, session or API key was revoked (UNAUTHENTICATED)."""
        if not principal.user_id:
            return
        if not self.current:
            await self.sync()
        kind = self.set.revoked(principal)
        if kind is not None:
            raise Unauthenticated(f"{REASONS[kind]}; sign in again", "CREDENTIAL_REVOKED")

    @property
    def current(self) -> bool:
        return self._loaded and (bool(self._listening) or time.monotonic() - self._synced_at < self._staleness)

    def subscribe(self, callback: Callable[[Revocation], None]) -> None:
        """Calls `callback` for every new revocation (streams use it to end at once)."""
        self._subscribers.append(callback)

    # Keeping current.

    async def start(self) -> None:
        try:
            await self.sync()
        except Unavailable:
            log.warning("revocations: auth unreachable at start; calls will wait for it")
        self._tasks.append(asyncio.create_task(self._poll(), name="revocations-poll"))
        if self._database_url:
            self._tasks.append(asyncio.create_task(self._listen_postgres(), name="revocations-pg"))
        if self._redis_url:
            self._tasks.append(asyncio.create_task(self._listen_redis(), name="revocations-redis"))

    async def close(self) -> None:
        await cancel(*self._tasks)
        self._tasks.clear()

    async def sync(self) -> None:
        """Reads what Auth has that we may not (everything within the horizon on the first read)."""
        started = time.monotonic()
        async with self._sync_lock:
            if self._synced_at >= started:
                return  # another caller read while we waited
            since = None if self._loaded else self._now() - self.set.horizon
            try:
                found = await self._source(self.set.latest_sequence, since)
            except Exception as exc:
                log.warning("revocations: cannot read from auth: %s", type(exc).__name__)
                raise Unavailable("cannot confirm that the credential is still valid; try again") from None
            for r in found:
                self.add(r)
            self._synced_at = time.monotonic()
            self._loaded = True
            self.set.prune(self._now())

    def add(self, r: Revocation) -> None:
        self.set.add(r)
        for callback in self._subscribers:
            callback(r)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self.sync()
            except Unavailable:
                pass

    def _on_message(self, payload: str | bytes) -> None:
        try:
            self.add(Revocation.from_json(payload))
        except (ValueError, KeyError, TypeError):
            log.warning("revocations: ignored a malformed notification")

    async def _listen_postgres(self) -> None:
        await keep_listening("revocations: postgres", lambda up: listen_postgres(
            self._database_url, PG_CHANNEL, self._on_message, lambda: self._catch_up("postgres", up)),
            lambda: self._listening.discard("postgres"))

    async def _listen_redis(self) -> None:
        await keep_listening("revocations: redis", self._redis_once, lambda: self._listening.discard("redis"))

    async def _redis_once(self, up: Callable[[], None]) -> None:
        import redis.asyncio as aioredis

        client = aioredis.from_url(self._redis_url, socket_connect_timeout=1, health_check_interval=5)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(REDIS_CHANNEL)
                await self._catch_up("redis", up)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                    if message is None:
                        await pubsub.ping()  # a dead connection shows itself here
                    elif message.get("type") == "message":
                        self._on_message(message["data"])
        finally:
            await client.aclose()

    async def _catch_up(self, listener: str, up: Callable[[], None]) -> None:
        # Subscribed first, then read: nothing committed in between is missed.
        await self.sync()
        self._listening.add(listener)
        up()


class RevocationPublisher:
    """Auth's side of the Redis fast path; PostgreSQL NOTIFY is sent by the repository in the
    revoking transaction, so Redis being down loses nothing."""

    def __init__(self, redis_url: str = "") -> None:
        self._redis = None
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(redis_url, socket_timeout=0.2, socket_connect_timeout=0.2)

    async def publish(self, revocations: list[Revocation]) -> None:
        if self._redis is None or not revocations:
            return
        try:
            for r in revocations:
                await self._redis.publish(REDIS_CHANNEL, r.to_json())
        except Exception as exc:
            log.info("revocations: redis publish failed (postgres notify still delivers): %s", type(exc).__name__)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
