"""UUIDv7 identifiers (RFC 9562): time-ordered, so keyset pages and B-tree inserts stay local.

Within one process the ids are strictly increasing (RFC 9562 method 1: a 12-bit counter in
rand_a within the same millisecond), so records made in order list in order.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def uuid7() -> uuid.UUID:
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _seq = ms, int.from_bytes(os.urandom(2), "big") & 0x01FF  # leave room to count up
        else:
            _seq += 1
            if _seq > 0x0FFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _seq = _last_ms + 1, 0
        ms, seq = _last_ms, _seq
    rand_b = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def is_uuid(value: str) -> bool:
    """Whether `value` reads as a UUID (any version), as names and ids from clients must."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
