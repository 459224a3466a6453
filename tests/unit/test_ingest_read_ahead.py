"""sources.read_ahead: an async source read a few items ahead, in order, errors passed on."""

from __future__ import annotations

import asyncio

import pytest

from services.ingest.sources import read_ahead


async def test_items_come_in_order_and_the_source_runs_at_most_depth_items_ahead():
    fetched = []

    async def source():
        for i in range(10):
            fetched.append(i)
            yield i

    seen = []
    async for item in read_ahead(source(), depth=2):
        await asyncio.sleep(0.001)  # the reader is the slow one: the source waits for room
        assert len(fetched) - len(seen) <= 2 + 2  # the queue, the item in hand and the one waiting to go in
        seen.append(item)
    assert seen == list(range(10))


async def test_an_error_of_the_source_reaches_the_reader_after_the_items_before_it():
    async def source():
        yield 1
        yield 2
        raise ValueError("chunk 3 is missing")

    seen = []
    with pytest.raises(ValueError, match="chunk 3"):
        async for item in read_ahead(source()):
            seen.append(item)
    assert seen == [1, 2]


async def test_a_reader_that_stops_early_stops_the_source():
    closed = asyncio.Event()

    async def source():
        try:
            for i in range(1000):
                yield i
        finally:
            closed.set()

    reader = read_ahead(source())
    assert await anext(reader) == 0
    await reader.aclose()
    await asyncio.wait_for(closed.wait(), 1)
