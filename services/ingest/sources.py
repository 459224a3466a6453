"""Turning an upload's bytes into records, whatever the parser needs: a streaming parser is fed
chunk by chunk; a parser that needs a seekable file (a zip's directory sits at its end) gets the
bytes spooled to a temporary file first. Records come back in bounded batches, so memory stays
flat. Parsing runs on the event loop a batch at a time (a few milliseconds), giving way to the
other tasks between batches: in a worker thread it would only contend with the loop for the GIL
(a re-sent year of minute heart rate took 1.5 to 2 s more CPU that way)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from services.ingest.records import Record, SampleRows

T = TypeVar("T")

RecordSource = Callable[[AsyncIterable[bytes]], AsyncIterator[list[Record]]]  # records, in batches
BATCH = 2000  # items per batch of records


def _batches(produce: Callable[[], Iterable[Record]]) -> Callable[[], list[Record]]:
    """A function that returns the next batch of what `produce` gives, calling it once: records
    until they hold BATCH items (a SampleRows holds one per row)."""
    state: dict[str, Iterator[Record]] = {}

    def next_batch() -> list[Record]:
        if "it" not in state:
            state["it"] = iter(produce())
        batch, items = [], 0
        for record in state["it"]:
            batch.append(record)
            items += len(record) if type(record) is SampleRows else 1
            if items >= BATCH:
                break
        return batch

    return next_batch


async def _drain(produce: Callable[[], Iterable[Record]]) -> AsyncIterator[list[Record]]:
    next_batch = _batches(produce)
    while batch := next_batch():
        yield batch
        await asyncio.sleep(0)  # acks, polls and other uploads get their turn


def incremental(factory: Callable[[], object]) -> RecordSource:
    """For parsers with feed(bytes) -> records and close() -> records (lists, or iterators that
    must be consumed before the next feed)."""

    async def records(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Record]]:
        parser = factory()
        async for chunk in chunks:
            async for batch in _drain(lambda: parser.feed(chunk)):
                yield batch
        async for batch in _drain(parser.close):
            yield batch

    return records


def from_file(parse: Callable[[Path], Iterator[Record]]) -> RecordSource:
    """For parsers that read a file: spool, then iterate in a thread, a batch at a time."""

    async def records(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Record]]:
        with tempfile.TemporaryDirectory(prefix="healthmesh-import-") as folder:
            path = Path(folder) / "upload"
            with path.open("wb") as out:
                async for chunk in chunks:
                    out.write(chunk)
            async for batch in _drain(lambda: parse(path)):
                yield batch

    return records


async def read_ahead(items: AsyncIterable[T], depth: int = 2) -> AsyncIterator[T]:
    """What `items` yields, in order, fetched up to `depth` items ahead by a task of its own: an
    archived payload's chunks cost a database round trip each, which then overlaps the parsing
    of the chunk before (and memory stays bounded by `depth` chunks)."""
    queue: asyncio.Queue = asyncio.Queue(depth)
    end = object()

    async def fetch() -> None:
        try:
            async for item in items:
                await queue.put((item, None))
        except Exception as e:  # handed over to the reader, which raises it
            await queue.put((end, e))
        else:
            await queue.put((end, None))

    task = asyncio.create_task(fetch())
    try:
        while True:
            item, error = await queue.get()
            if error is not None:
                raise error
            if item is end:
                break
            yield item
    finally:
        task.cancel()  # (when the reader stops early)
        with contextlib.suppress(asyncio.CancelledError):
            await task
