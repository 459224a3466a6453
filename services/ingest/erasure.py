"""What erasing a deleted user means in Ingest: their ingestions (jobs included) and every archived
payload no other user's ingestion refers to. Payloads are content-addressed, so the same bytes
uploaded by someone else are that person's too, and stay."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def erase_user(conn: AsyncConnection, user_id: uuid.UUID) -> dict[str, int]:
    digests = (await conn.execute(text(
        "DELETE FROM ingest.ingestions WHERE user_id = :u RETURNING payload_digest"), {"u": user_id})).scalars().all()
    counts = {"ingestions": len(digests), "payload_chunks": 0, "payloads": 0}
    orphans = sorted({d for d in digests if d})
    if orphans:
        # Lock the payloads first, so an upload of the same bytes now waits and then stores them anew.
        kept = set((await conn.execute(text(
            "SELECT digest FROM ingest.payloads WHERE digest = ANY(:d) FOR UPDATE"), {"d": orphans})).scalars().all())
        shared = set((await conn.execute(text(
            "SELECT DISTINCT payload_digest FROM ingest.ingestions WHERE payload_digest = ANY(:d)"),
            {"d": orphans})).scalars().all())
        gone = sorted(kept - shared)
        if gone:
            counts["payload_chunks"] = (await conn.execute(text(
                "DELETE FROM ingest.payload_chunks WHERE digest = ANY(:d)"), {"d": gone})).rowcount
            counts["payloads"] = (await conn.execute(text(
                "DELETE FROM ingest.payloads WHERE digest = ANY(:d)"), {"d": gone})).rowcount
    return counts
