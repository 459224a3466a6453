"""AIP-158 pages: page_size rules and opaque keyset page tokens, signed and bound to their query.

A token is URL-safe base64 (no padding) of

    kid length (1 byte) | kid | query fingerprint (16 bytes) | cursor (compact JSON list of strings) | MAC

where MAC is HMAC-SHA256 under the key named by kid, over everything before it, cut to 16 bytes
(RFC 2104 allows half the hash; a forger still faces 2^128 guesses). The cursor is only parsed
after the MAC verifies, so a client cannot forge a position, and the fingerprint (filters, parent,
hence user) is inside what is signed. Keys rotate: the first key signs, every configured key
verifies, so pages opened before a rotation still resume while the old key stays listed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence

from services.common.errors import InvalidArgument

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# Ours stay far below this (a cursor is a time and a few short strings); refusing longer ones
# spares decoding and hashing whatever a client sends. The request walk allows page_token 4096 too.
MAX_TOKEN_CHARS = 4096
MIN_KEY_BYTES = 16
DERIVED_KID = "st"  # the key derived from the service token when no keys are configured
_DERIVATION_LABEL = b"healthmesh page tokens"
_MAC_BYTES = 16
_FINGERPRINT_BYTES = 16
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]*")


def page_size(value: int) -> int:
    if value < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


def _not_ours() -> InvalidArgument:
    # One answer for malformed, unsigned, tampered and unknown-key tokens: telling them apart
    # would only help someone forging them.
    return InvalidArgument.field("page_token", "is not a token this API issued")


def _fingerprint(query: dict) -> bytes:
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(canonical).digest()[:_FINGERPRINT_BYTES]


def instant(text: str) -> dt.datetime:
    """A cursor's time: ISO 8601 with an offset, brought to UTC. Naive times and times whose UTC
    form leaves the calendar (year 1 at +01:00) raise, so decode_keyset answers INVALID_ARGUMENT."""
    value = dt.datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise ValueError("a cursor time needs its offset")
    return value.astimezone(dt.UTC)


class PageTokens:
    """Signs and verifies page tokens. Built once per service from its settings and handed to the
    servicers that page; `keys` are (kid, key) pairs, the first one signs."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("page tokens need at least one key")
        for kid, key in keys:
            if not _KID.fullmatch(kid):
                raise ValueError(f"page token key id {kid[:40]!r} must be 1-32 of A-Z a-z 0-9 _ -")
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"page token key {kid!r} must be at least {MIN_KEY_BYTES} bytes")
        self._keys = dict(keys)
        if len(self._keys) != len(keys):
            raise ValueError("page token key ids must be unique")
        self._signing_kid = keys[0][0]

    @classmethod
    def from_config(cls, page_token_keys: str, service_token: str) -> PageTokens:
        """From HEALTHMESH_PAGE_TOKEN_KEYS ("kid1:base64key,kid2:base64key"); when that is empty,
        one key derived from the service token, so every replica of every service agrees."""
        if not page_token_keys.strip():
            if not service_token:
                raise ValueError("HEALTHMESH_PAGE_TOKEN_KEYS or HEALTHMESH_SERVICE_TOKEN must be set")
            log.info("page tokens signed with a key derived from the service token")
            return cls([(DERIVED_KID, hmac.new(service_token.encode(), _DERIVATION_LABEL, hashlib.sha256).digest())])
        keys = []
        for entry in page_token_keys.split(","):
            kid, sep, encoded = entry.strip().partition(":")
            # Standard or URL-safe base64, padded or not.
            encoded = encoded.strip().rstrip("=").replace("-", "+").replace("_", "/")
            try:
                key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except binascii.Error:
                key = b""
            if not sep or not key:
                raise ValueError("HEALTHMESH_PAGE_TOKEN_KEYS must be kid:base64key[,kid:base64key...]")
            keys.append((kid.strip(), key))
        tokens = cls(keys)
        log.info("page tokens signed with key %s; %d key(s) verify", tokens._signing_kid, len(keys))
        return tokens

    def encode(self, cursor: list[str], query: dict) -> str:
        """A token that resumes after `cursor` and only for the same `query` (filters, parent)."""
        kid = self._signing_kid.encode()
        signed = (bytes([len(kid)]) + kid + _fingerprint(query)
                  + json.dumps(cursor, separators=(",", ":")).encode())
        return base64.urlsafe_b64encode(signed + self._mac(self._keys[self._signing_kid], signed)).decode().rstrip("=")

    def decode(self, token: str, query: dict) -> list[str] | None:
        """The cursor of a token this service issued for `query`; None for the first page."""
        if not token:
            return None
        if len(token) > MAX_TOKEN_CHARS or not _TOKEN.fullmatch(token) or len(token) % 4 == 1:
            raise _not_ours()
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        kid_end = 1 + raw[0] if raw else 0
        if not raw or len(raw) < kid_end + _FINGERPRINT_BYTES + _MAC_BYTES:
            raise _not_ours()
        key = self._keys.get(raw[1:kid_end].decode("ascii", "replace"))
        signed, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if key is None or not hmac.compare_digest(mac, self._mac(key, signed)):
            raise _not_ours()
        if signed[kid_end:kid_end + _FINGERPRINT_BYTES] != _fingerprint(query):
            raise InvalidArgument.field("page_token", "belongs to a different query")
        try:
            cursor = json.loads(signed[kid_end + _FINGERPRINT_BYTES:])
        except ValueError:  # signed by us, so only a bug gets here; still a client-visible 400, not a 500
            raise _not_ours() from None
        if not isinstance(cursor, list) or not all(isinstance(part, str) for part in cursor):
            raise _not_ours()
        return cursor

    def decode_keyset(self, token: str, query: dict, *parsers: Callable[[str], object]) -> tuple | None:
        """A keyset cursor whose parts are parsed by `parsers` (e.g. instant, uuid.UUID). Any part
        that does not parse, or holds a NUL PostgreSQL would refuse, is INVALID_ARGUMENT: the MAC
        already stops forgeries, this stops a token of an older cursor shape or a bug becoming a 500."""
        cursor = self.decode(token, query)
        if cursor is None:
            return None
        if len(cursor) != len(parsers) or any("\x00" in part for part in cursor):
            raise _not_ours()
        try:
            return tuple(parse(part) for parse, part in zip(parsers, cursor))
        except (ValueError, TypeError, OverflowError):
            raise _not_ours() from None

    @staticmethod
    def _mac(key: bytes, signed: bytes) -> bytes:
        return hmac.new(key, signed, hashlib.sha256).digest()[:_MAC_BYTES]


def offset_position(tokens: PageTokens, request, query: dict) -> tuple[int, int]:
    """(offset, size) of a page of a computed list, checked before anything is computed. The
    token holds the offset of the next item, signed and bound to the query (a list computed
    again may have moved, as any page of live data may)."""
    size = page_size(request.page_size)
    cursor = tokens.decode(request.page_token, query)
    try:
        offset = int(cursor[0]) if cursor else 0
    except (ValueError, IndexError):
        raise InvalidArgument.field("page_token", "is not a token this API issued") from None
    return max(offset, 0), size


def offset_page(tokens: PageTokens, position: tuple[int, int], query: dict, items: list) -> tuple[list, str]:
    offset, size = position
    more = offset + size < len(items)
    return items[offset:offset + size], tokens.encode([str(offset + size)], query) if more else ""


async def id_page(tokens: PageTokens, request, query: dict, fetch: Callable[[int, uuid.UUID | None], Awaitable[list]],
                  ) -> tuple[list, str]:
    """A page of a list in id order (UUIDv7, so newest or oldest first): `fetch(limit, after_id)`
    is asked for one more than the page, which tells whether another page exists, so the last
    page has no token."""
    size = page_size(request.page_size)
    cursor = tokens.decode_keyset(request.page_token, query, uuid.UUID)
    found = await fetch(size + 1, cursor[0] if cursor else None)
    page, more = found[:size], len(found) > size
    return page, tokens.encode([str(page[-1].id)], query) if more else ""
