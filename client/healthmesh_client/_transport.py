"""The calls themselves: credentials, deadlines, retries and token refresh, for grpc and grpc.aio.

One unary call, in order:
- it gets an access token first when the client has only a login (email and password) or a refresh token;
- its deadline (`timeout`, else the client's default) covers every attempt and every wait between them;
- UNAVAILABLE is retried, with exponential backoff and full jitter, only when a repeat is safe: the
  method is idempotent (an HTTP GET rule) or its request carries a request_id;
- RESOURCE_EXHAUSTED with a RetryInfo waits as told (up to RetryPolicy.max_retry_wait) and tries again:
  the quota refused the call before it did anything;
- UNAUTHENTICATED for an expired access token (reason TOKEN_EXPIRED) refreshes the token once, with
  AuthService.RefreshToken (or a new login), and repeats the call.
Streams get credentials and errors as ApiError, but no retries: resuming one is the caller's business
(see alerts.py and telemetry.py, which do it).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message
from healthmesh.auth.v1 import auth_service_pb2

from .errors import ApiError, from_rpc_error
from ._service import Metadata, Method

LOGIN = Method("/healthmesh.auth.v1.AuthService/Login", "unary_unary", auth_service_pb2.LoginRequest,
               auth_service_pb2.LoginResponse, idempotent=False, request_id=False)
REFRESH = Method("/healthmesh.auth.v1.AuthService/RefreshToken", "unary_unary", auth_service_pb2.RefreshTokenRequest,
                 auth_service_pb2.RefreshTokenResponse, idempotent=False, request_id=False)
EXPIRED = "TOKEN_EXPIRED"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # attempts per call, the first included
    initial_backoff: float = 0.1  # seconds; the n-th retry waits up to initial * 2^n, capped
    max_backoff: float = 5.0
    max_retry_wait: float = 30.0  # a RetryInfo asking for longer is not waited for: the error is raised

    def delay(self, error: ApiError, method: Method, request: Message, attempt: int, rng: random.Random) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None when the error is final."""
        if attempt + 1 >= self.max_attempts:
            return None
        if error.code == grpc.StatusCode.UNAVAILABLE and method.safe_to_repeat(request):
            return rng.uniform(0, min(self.max_backoff, self.initial_backoff * 2 ** attempt))
        if (error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.retry_delay is not None
                and error.retry_delay <= self.max_retry_wait):
            return error.retry_delay
        return None


@dataclass
class Credentials:
    """What the client authenticates with; the tokens change as they are refreshed."""

    access_token: str = ""  # or an API key, sent the same way
    refresh_token: str = ""
    email: str = ""
    password: str = ""
    refreshes: int = 0  # how many times a token was obtained by refresh or login (tests and logs read it)

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token or (self.email and self.password))

    @property
    def needs_token(self) -> bool:
        return not self.access_token and self.can_refresh

    def refresh_request(self) -> tuple[Method, Message]:
        if self.refresh_token:
            return REFRESH, REFRESH.request(refresh_token=self.refresh_token)
        return LOGIN, LOGIN.request(email=self.email, password=self.password)

    def took(self, reply) -> None:
        self.access_token, self.refresh_token = reply.access_token, reply.refresh_token
        self.refreshes += 1

    def metadata(self, extra: Metadata) -> tuple[tuple[str, str], ...]:
        auth = (("authorization", f"Bearer {self.access_token}"),) if self.access_token else ()
        return (*auth, *extra)


def _expired(error: ApiError) -> bool:
    return error.code == grpc.StatusCode.UNAUTHENTICATED and error.reason == EXPIRED


class _Base:
    def __init__(self, channel, credentials: Credentials, timeout: float | None, retry: RetryPolicy,
                 clock: Callable[[], float], rng: random.Random | None) -> None:
        self.channel = channel
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry
        self._clock = clock
        self._rng = rng or random.Random()
        self._callables: dict[str, object] = {}

    def _callable(self, method: Method):
        found = self._callables.get(method.path)
        if found is None:
            make = getattr(self.channel, method.kind)
            found = self._callables[method.path] = make(
                method.path, request_serializer=method.request.SerializeToString,
                response_deserializer=method.response.FromString)
        return found

    def _deadline(self, timeout: float | None) -> float | None:
        timeout = self.timeout if timeout is None else timeout
        return None if timeout is None else self._clock() + timeout

    def _left(self, deadline: float | None) -> float | None:
        return None if deadline is None else max(0.0, deadline - self._clock())

    def _wait_for(self, error: ApiError, method: Method, request: Message, attempt: int,
                  deadline: float | None) -> float | None:
        delay = self.retry.delay(error, method, request, attempt, self._rng)
        if delay is not None and deadline is not None and self._clock() + delay >= deadline:
            return None  # the wait would outlast the call's deadline
        return delay


class Transport(_Base):
    def __init__(self, channel: grpc.Channel, credentials: Credentials, *, timeout: float | None = 30.0,
                 retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        super().__init__(channel, credentials, timeout, retry, clock, rng)
        self._sleep = sleep
        self._lock = threading.Lock()  # one refresh at a time, across threads

    def refresh(self, stale: str | None = None, timeout: float | None = None) -> None:
        """Gets a new access token, unless another thread did since `stale` was sent."""
        with self._lock:
            if stale is not None and self.credentials.access_token != stale:
                return
            method, request = self.credentials.refresh_request()
            try:
                reply = self._callable(method)(request, timeout=timeout)
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from None
            self.credentials.took(reply)

    def unary(self, method: Method, request: Message, timeout: float | None, metadata: Metadata):
        deadline = self._deadline(timeout)
        if self.credentials.needs_token:
            self.refresh(timeout=self._left(deadline))
        refreshed, attempt = False, 0
        while True:
            token = self.credentials.access_token
            try:
                return self._callable(method)(request, timeout=self._left(deadline),
                                              metadata=self.credentials.metadata(metadata))
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
            if _expired(error) and self.credentials.can_refresh and not refreshed:
                self.refresh(token, self._left(deadline))
                refreshed = True
                continue
            delay = self._wait_for(error, method, request, attempt, deadline)
            if delay is None:
                raise error
            self._sleep(delay)
            attempt += 1

    def client_stream(self, method: Method, requests, timeout: float | None, metadata: Metadata):
        if self.credentials.needs_token:
            self.refresh()
        try:
            return self._callable(method)(iter(requests), timeout=timeout, metadata=self.credentials.metadata(metadata))
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def stream(self, method: Method, request_or_requests, timeout: float | None, metadata: Metadata):
        """A server (or bidi) stream: an iterator of responses; it raises ApiError when the call fails."""
        if self.credentials.needs_token:
            self.refresh()
        argument = request_or_requests if method.kind == "unary_stream" else iter(request_or_requests)
        call = self._callable(method)(argument, timeout=timeout, metadata=self.credentials.metadata(metadata))

        def responses():
            try:
                yield from call
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from None
            finally:
                call.cancel()
        return responses()


class AsyncTransport(_Base):
    def __init__(self, channel: grpc.aio.Channel, credentials: Credentials, *, timeout: float | None = 30.0,
                 retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], object] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        super().__init__(channel, credentials, timeout, retry, clock, rng)
        self._sleep = sleep
        self._lock: asyncio.Lock | None = None  # made in the loop that first needs it

    async def refresh(self, stale: str | None = None, timeout: float | None = None) -> str:
        """Gets a new access token, unless another task did since `stale` was sent; returns the token."""
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if stale is None or self.credentials.access_token == stale:
                method, request = self.credentials.refresh_request()
                try:
                    reply = await self._callable(method)(request, timeout=timeout)
                except grpc.RpcError as exc:
                    raise from_rpc_error(exc) from None
                self.credentials.took(reply)
            return self.credentials.access_token

    async def token(self) -> str:
        if self.credentials.needs_token:
            await self.refresh()
        return self.credentials.access_token

    async def unary(self, method: Method, request: Message, timeout: float | None, metadata: Metadata):
        deadline = self._deadline(timeout)
        if self.credentials.needs_token:
            await self.refresh(timeout=self._left(deadline))
        refreshed, attempt = False, 0
        while True:
            token = self.credentials.access_token
            try:
                return await self._callable(method)(request, timeout=self._left(deadline),
                                                    metadata=self.credentials.metadata(metadata))
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
            if _expired(error) and self.credentials.can_refresh and not refreshed:
                await self.refresh(token, self._left(deadline))
                refreshed = True
                continue
            delay = self._wait_for(error, method, request, attempt, deadline)
            if delay is None:
                raise error
            await self._sleep(delay)
            attempt += 1

    async def client_stream(self, method: Method, requests, timeout: float | None, metadata: Metadata):
        await self.token()
        try:
            return await self._callable(method)(requests, timeout=timeout, metadata=self.credentials.metadata(metadata))
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    async def stream(self, method: Method, request_or_requests, timeout: float | None, metadata: Metadata):
        """A server (or bidi) stream as an async iterator of responses; raises ApiError when the call fails."""
        await self.token()
        call = self._callable(method)(request_or_requests, timeout=timeout,
                                      metadata=self.credentials.metadata(metadata))
        try:
            async for response in call:
                yield response
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            call.cancel()
