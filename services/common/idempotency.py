"""AIP-155 request ids: a retried create with the same request_id gets the first response back.

Responses are kept as opaque bytes in the service's own schema (table <schema>.request_results,
made by that service's migrations) for a day, keyed by user, method and request id.

A call claims its key before it runs: it inserts a row without a response, and the primary key
lets only one such row in. The call that wins runs and fills in its response; the others, retries
sent while it runs, wait for that response and answer with it, or UNAVAILABLE (retry) if it takes
longer than they wait. A call that fails gives its claim back, so a retry runs afresh; a claim
left by a process that died is taken over once it is older than the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import checks
from services.common.errors import Unavailable, Violations

M = TypeVar("M")

_KEY = "user_id = :u AND method = :m AND request_id = :r"


class RequestResults:
    def __init__(self, engine: AsyncEngine, schema: str, lease_seconds: float = 60.0, wait_seconds: float = 10.0,
                 poll_seconds: float = 0.05) -> None:
        self._engine = engine
        self._table = f'"{schema}".request_results'
        # The lease must outlast the slowest create (a full batch); until it runs out, a claim whose
        # holder died only delays the retries, and after it, two holders could both run.
        self._lease_seconds = lease_seconds
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds

    async def claim(self, user_id: uuid.UUID, method: str, request_id: str, claim_id: uuid.UUID) -> bool:
        """Whether this call may run: the key was free, its answer a day old, or its claim's lease over."""
        async with self._engine.begin() as conn:
            won = (await conn.execute(text(
                f"INSERT INTO {self._table} AS t (user_id, method, request_id, response, claim_id, create_time) "
                "VALUES (:u, :m, :r, NULL, :c, now()) "
                "ON CONFLICT (user_id, method, request_id) DO UPDATE "
                "SET response = NULL, claim_id = EXCLUDED.claim_id, create_time = now() "
                "WHERE t.create_time <= now() - interval '1 day' "
                "OR (t.response IS NULL AND t.create_time <= now() - make_interval(secs => :lease)) "
                "RETURNING t.claim_id"),
                {"u": user_id, "m": method, "r": request_id, "c": claim_id, "lease": self._lease_seconds},
            )).scalar_one_or_none()
        return won == claim_id

    async def get(self, user_id: uuid.UUID, method: str, request_id: str) -> bytes | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(text(
                f"SELECT response FROM {self._table} WHERE {_KEY} AND create_time > now() - interval '1 day'"),
                {"u": user_id, "m": method, "r": request_id})).scalar_one_or_none()

    async def fill(self, user_id: uuid.UUID, method: str, request_id: str, claim_id: uuid.UUID,
                   response: bytes) -> None:
        # Nothing to fill if the lease ran out and another call took the claim over: it answers for itself.
        async with self._engine.begin() as conn:
            await conn.execute(text(f"UPDATE {self._table} SET response = :b WHERE {_KEY} AND claim_id = :c"),
                               {"u": user_id, "m": method, "r": request_id, "c": claim_id, "b": response})

    async def release(self, user_id: uuid.UUID, method: str, request_id: str, claim_id: uuid.UUID) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(text(
                f"DELETE FROM {self._table} WHERE {_KEY} AND claim_id = :c AND response IS NULL"),
                {"u": user_id, "m": method, "r": request_id, "c": claim_id})

    async def once(self, user_id: uuid.UUID, method: str, request_id: str, parse: Callable[[bytes], M],
                   run: Callable[[], Awaitable[M]]) -> M:
        """Runs `run` unless this request id was already answered, or is being answered; then
        replays that answer."""
        if not request_id:
            return await run()
        v = Violations()
        checks.request_id(request_id, v)
        v.raise_if_any()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._wait_seconds
        pause = self._poll_seconds
        while True:
            claim_id = uuid.uuid4()
            if await self.claim(user_id, method, request_id, claim_id):
                return await self._run(user_id, method, request_id, claim_id, run)
            stored = await self.get(user_id, method, request_id)
            if stored is not None:
                return parse(stored)
            # Claimed and not answered yet (or given back a moment ago: the next claim finds out).
            if loop.time() >= give_up:
                raise Unavailable(f"a call with request_id {request_id!r} is still running; retry it later",
                                  "REQUEST_IN_PROGRESS")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def _run(self, user_id: uuid.UUID, method: str, request_id: str, claim_id: uuid.UUID,
                   run: Callable[[], Awaitable[M]]) -> M:
        try:
            response = await run()
        except BaseException:
            # A failed call is not an answer to replay: give the key back so a retry runs again.
            # If that fails too (the database is gone), the lease frees the key later.
            with contextlib.suppress(Exception):
                await self.release(user_id, method, request_id, claim_id)
            raise
        await self.fill(user_id, method, request_id, claim_id, response.SerializeToString())
        return response
