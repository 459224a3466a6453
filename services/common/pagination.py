"""AIP-158 pages: page_size rules and opaque keyset page tokens bound to the query that made them."""

from __future__ import annotations

import base64
import hashlib
import json

from services.common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(value: int) -> int:
    if value < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


def _fingerprint(query: dict) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_token(cursor: list, query: dict) -> str:
    """A token that resumes after `cursor` and only for the same `query` (filters, parent)."""
    payload = json.dumps({"c": cursor, "q": _fingerprint(query)}, default=str).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: str, query: dict) -> list | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor, fingerprint = payload["c"], payload["q"]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument.field("page_token", "is not a token this API issued") from None
    if fingerprint != _fingerprint(query) or not isinstance(cursor, list):
        raise InvalidArgument.field("page_token", "belongs to a different query")
    return cursor


def decode_keyset(token: str, query: dict, *parsers) -> tuple | None:
    """A keyset cursor whose parts are parsed by `parsers` (e.g. datetime.fromisoformat, UUID);
    a token whose parts do not parse is INVALID_ARGUMENT, like any other token we did not issue."""
    cursor = decode_token(token, query)
    if cursor is None:
        return None
    try:
        if len(cursor) != len(parsers):
            raise ValueError(cursor)
        return tuple(parse(part) for parse, part in zip(parsers, cursor))
    except (ValueError, TypeError):
        raise InvalidArgument.field("page_token", "is not a token this API issued") from None
