"""AIP-155 request ids: a retried create with the same request_id gets the first response back.

Responses are kept as opaque bytes in the service's own schema (table <schema>.request_results,
made by that service's migrations) for a day, keyed by user, method and request id.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import checks
from services.common.errors import Violations

M = TypeVar("M")


class RequestResults:
    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self._engine = engine
        self._table = f'"{schema}".request_results'

    async def get(self, user_id: uuid.UUID, method: str, request_id: str) -> bytes | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(text(
                f"SELECT response FROM {self._table} WHERE user_id = :u AND method = :m AND request_id = :r "
                "AND create_time > now() - interval '1 day'"), {"u": user_id, "m": method, "r": request_id})
            ).scalar_one_or_none()

    async def put(self, user_id: uuid.UUID, method: str, request_id: str, response: bytes) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(text(
                f"INSERT INTO {self._table} (user_id, method, request_id, response, create_time) "
                "VALUES (:u, :m, :r, :b, now()) ON CONFLICT (user_id, method, request_id) DO NOTHING"),
                {"u": user_id, "m": method, "r": request_id, "b": response})

    async def once(self, user_id: uuid.UUID, method: str, request_id: str, parse: Callable[[bytes], M],
                   run: Callable[[], Awaitable[M]]) -> M:
        """Runs `run` unless this request id was already answered; then replays that answer."""
        if not request_id:
            return await run()
        v = Violations()
        checks.request_id(request_id, v)
        v.raise_if_any()
        stored = await self.get(user_id, method, request_id)
        if stored is not None:
            return parse(stored)
        response = await run()
        await self.put(user_id, method, request_id, response.SerializeToString())
        return response
