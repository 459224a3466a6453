"""The raw archive's working copy: an upload is spooled to a temporary file as it streams in,
compressed in independent chunks, and hashed; the archive stores it content-addressed before
anything is parsed, and a reprocess reads it back the same way. Memory stays flat whatever the size.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
import zlib
from collections.abc import Iterator

CHUNK_BYTES = 1 << 20  # uncompressed bytes per stored chunk


class Spool:
    """Collects an upload: feed() raw bytes, then read the compressed chunks back."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="healthmesh-upload-")
        self._hash = hashlib.sha256()
        self._pending = bytearray()
        self.size = 0
        self.chunk_count = 0

    def feed(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)
        self._pending += data
        while len(self._pending) >= CHUNK_BYTES:
            self._write(bytes(self._pending[:CHUNK_BYTES]))
            del self._pending[:CHUNK_BYTES]

    def finish(self) -> str:
        """Flushes the tail; returns the content address, `sha256:<hex>`."""
        if self._pending:
            self._write(bytes(self._pending))
            self._pending.clear()
        return f"sha256:{self._hash.hexdigest()}"

    def _write(self, raw: bytes) -> None:
        packed = zlib.compress(raw, 1)
        self._file.write(struct.pack(">I", len(packed)) + packed)
        self.chunk_count += 1

    def compressed_chunks(self) -> Iterator[bytes]:
        self._file.seek(0)
        while header := self._file.read(4):
            (length,) = struct.unpack(">I", header)
            yield self._file.read(length)

    def raw_chunks(self) -> Iterator[bytes]:
        for packed in self.compressed_chunks():
            yield zlib.decompress(packed)

    def close(self) -> None:
        self._file.close()


def decompress(packed: bytes) -> bytes:
    return zlib.decompress(packed)
