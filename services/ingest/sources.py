"""Turning an upload's bytes into records, whatever the parser needs: a streaming parser is fed
chunk by chunk; a parser that needs a seekable file (a zip's directory sits at its end) gets the
bytes spooled to a temporary file first. Parsing runs in a worker thread either way, so the event
loop stays free, and records come back in bounded batches, so memory stays flat."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from pathlib import Path

from services.ingest.records import Record

RecordSource = Callable[[AsyncIterable[bytes]], AsyncIterator[Record]]
BATCH = 2000


def incremental(factory: Callable[[], object]) -> RecordSource:
    """For parsers with feed(bytes) -> records and close() -> records."""

    async def records(chunks: AsyncIterable[bytes]) -> AsyncIterator[Record]:
        parser = factory()
        async for chunk in chunks:
            for record in await asyncio.to_thread(parser.feed, chunk):
                yield record
        for record in parser.close():
            yield record

    return records


def from_file(parse: Callable[[Path], Iterator[Record]]) -> RecordSource:
    """For parsers that read a file: spool, then iterate in a thread, a batch at a time."""

    async def records(chunks: AsyncIterable[bytes]) -> AsyncIterator[Record]:
        with tempfile.TemporaryDirectory(prefix="healthmesh-import-") as folder:
            path = Path(folder) / "upload"
            with path.open("wb") as out:
                async for chunk in chunks:
                    out.write(chunk)
            iterator = parse(path)

            def next_batch() -> list[Record]:
                batch = []
                for record in iterator:
                    batch.append(record)
                    if len(batch) >= BATCH:
                        break
                return batch

            while batch := await asyncio.to_thread(next_batch):
                for record in batch:
                    yield record

    return records
