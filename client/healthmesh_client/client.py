"""Client and AsyncClient: one channel to Envoy (or a service), the five public services on it.

    with Client("127.0.0.1:8080", email="me@example.org", password="...") as hm:
        for sample in hm.tracking.iter_samples(parent="users/me"):
            ...

Credentials: `token` (an access token), `api_key` (sent the same way, as a bearer credential),
`refresh_token` (traded for an access token at the first call), or `email` and `password` (a login
at the first call). With a refresh token or a login, an expired access token is refreshed on the
fly (_transport.py).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import grpc
from healthmesh.insight.v1 import insight_service_pb2

from . import _generated
from ._generated import AsyncServices, SyncServices
from ._transport import AsyncTransport, Credentials, RetryPolicy, Transport
from .alerts import AlertWatch, AsyncAlertWatch
from .telemetry import TelemetryClient

DEFAULT_TIMEOUT = 30.0  # seconds per unary call, retries included; streams have none unless given
# Messages up to Envoy's body limit (an Apple Health export streams in chunks, but a page can be large).
CHANNEL_OPTIONS = (("grpc.max_receive_message_length", 64 * 1024 * 1024),)


def parse_url(url: str) -> tuple[str, bool]:
    """`127.0.0.1:8080`, `http://127.0.0.1:8080` or `https://api.example.org` -> (target, tls)."""
    tls = url.startswith("https://")
    target = url.removeprefix("https://").removeprefix("http://").rstrip("/")
    if not target or "/" in target:
        raise ValueError(f"{url!r} is not host:port, http://host:port or https://host[:port]")
    if tls and ":" not in target.rsplit("]", 1)[-1]:
        target += ":443"
    return target, tls


def _credentials(token, api_key, refresh_token, email, password) -> Credentials:
    if token and api_key:
        raise ValueError("pass token or api_key, not both")
    if bool(email) != bool(password):
        raise ValueError("a login needs both email and password")
    return Credentials(access_token=token or api_key or "", refresh_token=refresh_token or "", email=email or "",
                       password=password or "")


class Client(SyncServices):
    """The synchronous client: `client.tracking.list_samples(parent="users/me")`, and so on for
    auth, tracking, device, ingest and insight. Thread-safe; close it (or use `with`)."""

    def __init__(self, url: str, *, token: str | None = None, api_key: str | None = None,
                 refresh_token: str | None = None, email: str | None = None, password: str | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy(),
                 channel_credentials: grpc.ChannelCredentials | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        target, tls = parse_url(url)
        if tls or channel_credentials is not None:
            self.channel = grpc.secure_channel(target, channel_credentials or grpc.ssl_channel_credentials(),
                                               CHANNEL_OPTIONS)
        else:
            self.channel = grpc.insecure_channel(target, CHANNEL_OPTIONS)
        self._sleep = sleep
        self.transport = Transport(self.channel, _credentials(token, api_key, refresh_token, email, password),
                                   timeout=timeout, retry=retry, sleep=sleep, clock=clock, rng=rng)
        for attr, (sync_cls, _) in _generated.SERVICES.items():
            setattr(self, attr, sync_cls(self.transport))

    @property
    def credentials(self) -> Credentials:
        return self.transport.credentials

    def login(self, email: str, password: str):
        """Logs in; later calls use the tokens (and refresh them). Returns the LoginResponse."""
        reply = self.auth.login(email=email, password=password)
        self.credentials.email, self.credentials.password = email, password
        self.credentials.took(reply)
        return reply

    def watch_alerts(self, parent: str = "users/me", *, after_alert: str = "", heartbeat_interval_seconds: int = 0,
                     max_reconnects: int | None = None, **options) -> AlertWatch:
        """The user's alerts as they come, resumed after every break (alerts.py)."""
        def open_stream(last: str):
            return self.insight.watch_alerts(insight_service_pb2.WatchAlertsRequest(
                parent=parent, after_alert=last, heartbeat_interval_seconds=heartbeat_interval_seconds))
        refresh = self.transport.refresh if self.credentials.can_refresh else None
        return AlertWatch(open_stream, refresh, after_alert=after_alert, max_reconnects=max_reconnects,
                          sleep=self._sleep, **options)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncClient(AsyncServices):
    """The asyncio client (grpc.aio): `await client.tracking.list_samples(parent="users/me")`.
    Make it inside the event loop that uses it; close it with `await client.close()` or `async with`."""

    def __init__(self, url: str, *, token: str | None = None, api_key: str | None = None,
                 refresh_token: str | None = None, email: str | None = None, password: str | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy(),
                 channel_credentials: grpc.ChannelCredentials | None = None,
                 sleep: Callable[[float], object] = asyncio.sleep, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        target, tls = parse_url(url)
        if tls or channel_credentials is not None:
            self.channel = grpc.aio.secure_channel(target, channel_credentials or grpc.ssl_channel_credentials(),
                                                   CHANNEL_OPTIONS)
        else:
            self.channel = grpc.aio.insecure_channel(target, CHANNEL_OPTIONS)
        self._sleep = sleep
        self.transport = AsyncTransport(self.channel, _credentials(token, api_key, refresh_token, email, password),
                                        timeout=timeout, retry=retry, sleep=sleep, clock=clock, rng=rng)
        for attr, (_, async_cls) in _generated.SERVICES.items():
            setattr(self, attr, async_cls(self.transport))

    @property
    def credentials(self) -> Credentials:
        return self.transport.credentials

    async def login(self, email: str, password: str):
        """Logs in; later calls use the tokens (and refresh them). Returns the LoginResponse."""
        reply = await self.auth.login(email=email, password=password)
        self.credentials.email, self.credentials.password = email, password
        self.credentials.took(reply)
        return reply

    def watch_alerts(self, parent: str = "users/me", *, after_alert: str = "", heartbeat_interval_seconds: int = 0,
                     max_reconnects: int | None = None, **options) -> AsyncAlertWatch:
        """The user's alerts as they come, resumed after every break: `async for alert in ...`."""
        def open_stream(last: str):
            return self.insight.watch_alerts(insight_service_pb2.WatchAlertsRequest(
                parent=parent, after_alert=last, heartbeat_interval_seconds=heartbeat_interval_seconds))
        refresh = self.transport.refresh if self.credentials.can_refresh else None
        return AsyncAlertWatch(open_stream, refresh, after_alert=after_alert, max_reconnects=max_reconnects,
                               sleep=self._sleep, **options)

    def telemetry(self, device: str, **options) -> TelemetryClient:
        """A telemetry stream for `device` (users/me/devices/<id>) on this client's channel, its
        token refreshed when the stream is refused: `async with client.telemetry(name) as stream`."""
        refresh = self.transport.refresh if self.credentials.can_refresh else None
        return TelemetryClient(self.channel, device, self.transport.token, refresh=refresh, **options)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
