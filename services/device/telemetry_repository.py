"""Telemetry's storage: each device's resume point, in device.telemetry_streams. SQL stays here."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# A new stream takes the next epoch; without resume it starts the device's sequences afresh.
OPEN = text("""
INSERT INTO device.telemetry_streams AS s (user_id, device_id, last_sequence, epoch, open_time, update_time)
VALUES (:user_id, :device_id, 0, 1, :now, :now)
ON CONFLICT (user_id, device_id) DO UPDATE
SET epoch = s.epoch + 1, last_sequence = CASE WHEN :resume THEN s.last_sequence ELSE 0 END,
    open_time = :now, update_time = :now
RETURNING last_sequence, epoch""")

# Only the stream holding the latest epoch moves the point, and only forward.
ADVANCE = text("""
UPDATE device.telemetry_streams SET last_sequence = GREATEST(last_sequence, :sequence), update_time = :now
WHERE user_id = :user_id AND device_id = :device_id AND epoch = :epoch
RETURNING 1""")


@dataclass(frozen=True)
class Opened:
    last_sequence: int
    epoch: int


class SqlResumePoints:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(self, user_id: uuid.UUID, device_id: uuid.UUID, resume: bool, now: dt.datetime) -> Opened:
        async with self._engine.begin() as conn:
            row = (await conn.execute(OPEN, {"user_id": user_id, "device_id": device_id, "resume": resume,
                                             "now": now})).one()
        return Opened(row.last_sequence, row.epoch)

    async def advance(self, user_id: uuid.UUID, device_id: uuid.UUID, epoch: int, sequence: int,
                      now: dt.datetime) -> bool:
        """Records `sequence` as acknowledged; False when a newer stream holds the device."""
        async with self._engine.begin() as conn:
            return (await conn.execute(ADVANCE, {"user_id": user_id, "device_id": device_id, "epoch": epoch,
                                                 "sequence": sequence, "now": now})).first() is not None

    async def last_sequence(self, user_id: uuid.UUID, device_id: uuid.UUID) -> int:
        async with self._engine.connect() as conn:
            return (await conn.execute(text(
                "SELECT last_sequence FROM device.telemetry_streams WHERE user_id = :u AND device_id = :d"),
                {"u": user_id, "d": device_id})).scalar() or 0

    async def forget(self, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
        """A deleted device's resume point (its samples stay in Tracking)."""
        async with self._engine.begin() as conn:
            await conn.execute(text("DELETE FROM device.telemetry_streams WHERE user_id = :u AND device_id = :d"),
                               {"u": user_id, "d": device_id})


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    """A deleted user's resume points, inside the erasure's transaction (an EraseUser part)."""
    result = await conn.execute(text("DELETE FROM device.telemetry_streams WHERE user_id = :u"), {"u": user_id})
    return {"device.telemetry_streams": result.rowcount}
