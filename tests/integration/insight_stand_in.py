"""A stand-in for Insight's internal NotifySamplesWritten, for Tracking's outbox tests: it records
each call, and can be told to be down, to fail the next calls or to refuse some users' changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import grpc
from google.protobuf import empty_pb2
from healthmesh.insight.v1 import insight_internal_service_pb2 as insight_pb2
from healthmesh.insight.v1 import insight_internal_service_pb2_grpc as insight_grpc

WAIT_LIMIT_SECONDS = 20  # a bound for waits, not a target (the relay's backoff is capped at 5 s)


class StandInInsight(insight_grpc.InsightInternalServiceServicer):
    def __init__(self) -> None:
        self.down = False  # every call UNAVAILABLE
        self.fail_next = 0  # this many calls UNAVAILABLE
        self.refused_users: set[str] = set()  # a call holding one of their changes: INVALID_ARGUMENT
        self.before_ok: Callable[[insight_pb2.NotifySamplesWrittenRequest], Awaitable[None]] | None = None
        self.calls: list[list[insight_pb2.SamplesWritten]] = []  # those answered OK, in order
        self.attempts = 0
        self.metadata: list[dict[str, str]] = []
        self.server: grpc.aio.Server | None = None
        self.port = 0

    async def NotifySamplesWritten(self, request, context):
        self.attempts += 1
        if self.down or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "insight is down")
        if any(c.user in self.refused_users for c in request.changes):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a change is refused")
        if self.before_ok is not None:
            await self.before_ok(request)
        self.metadata.append(dict(context.invocation_metadata()))
        self.calls.append(list(request.changes))
        return empty_pb2.Empty()

    def delivered(self, user: str) -> list[insight_pb2.SamplesWritten]:
        """The user's changes (`users/{id}`), in the order they were answered OK."""
        return [c for call in self.calls for c in call if c.user == user]

    async def start(self, port: int = 0) -> int:
        self.server = grpc.aio.server()
        insight_grpc.add_InsightInternalServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port(f"127.0.0.1:{port or self.port}")
        await self.server.start()
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)
            self.server = None


async def wait_for(condition: Callable[[], Awaitable[bool] | bool], what: str,
                   limit: float = WAIT_LIMIT_SECONDS) -> None:
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"waited {limit} s for {what}"
        await asyncio.sleep(0.05)
