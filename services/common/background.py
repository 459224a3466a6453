"""Background tasks a service starts (workers, listeners, pollers) and stops on shutdown."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel(*tasks: asyncio.Task | None) -> None:
    """Cancels the tasks and waits until each has ended, so nothing of theirs outlives the caller."""
    live = [t for t in tasks if t is not None]
    for task in live:
        task.cancel()
    for task in live:
        with contextlib.suppress(asyncio.CancelledError):
            await task
