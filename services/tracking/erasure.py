"""What erasing a deleted user means in Tracking: every row of theirs, in every table."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.erasure import delete_by_user

# Children before their parents; the samples table's partitions are covered by its parent.
TABLES = [
    "activity_heart_rate_points", "activity_route_points", "activities",
    "sleep_stages", "sleep_sessions",
    "achievements", "goals", "nutrition_entries",
    "samples", "sample_hours", "sample_days",
    "request_results", "outbox",
]


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    counts = await delete_by_user(conn, user_id, "tracking", TABLES)
    # Origins are named by resource (users/{user}/ingestions/{id}, users/{user}/devices/{id}).
    origins = await conn.execute(text("DELETE FROM tracking.sample_origins WHERE name LIKE :prefix"),
                                 {"prefix": f"users/{user_id}/%"})
    return counts | {"sample_origins": origins.rowcount}
