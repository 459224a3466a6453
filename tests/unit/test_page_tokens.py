"""Signed page tokens: what verifies, what is refused, and rotation."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import uuid

import pytest

from services.common.errors import InvalidArgument
from services.common.pagination import MAX_TOKEN_CHARS, PageTokens, instant

K1, K2 = b"k" * 32, b"\x02" * 32
QUERY = {"parent": "u1", "type": "steps", "start": dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "end": None}
CURSOR = ["2026-03-01T07:00:00+00:00", "step_count", "Apple Watch"]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def refused(tokens: PageTokens, token: str, query: dict = QUERY) -> str:
    """The description of the page_token violation a token gets."""
    with pytest.raises(InvalidArgument) as err:
        tokens.decode(token, query)
    [violation] = err.value.violations
    assert violation.field == "page_token"
    return violation.description


def flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index] ^= 0x01
    return b64(bytes(raw))


def test_a_token_round_trips_for_the_same_query_in_any_key_order():
    tokens = PageTokens([("k1", K1)])
    token = tokens.encode(CURSOR, QUERY)
    assert tokens.decode(token, dict(reversed(QUERY.items()))) == CURSOR
    assert tokens.decode("", QUERY) is None


def test_tokens_are_short_url_safe_and_opaque():
    token = PageTokens([("k1", K1)]).encode(CURSOR, QUERY)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(token) < 160
    assert "step_count" not in token and "u1" not in token


def test_a_token_from_another_query_is_refused():
    tokens = PageTokens([("k1", K1)])
    token = tokens.encode(CURSOR, QUERY)
    assert refused(tokens, token, {**QUERY, "type": "heart_rate"}) == "belongs to a different query"
    assert refused(tokens, token, {**QUERY, "parent": "u2"}) == "belongs to a different query"


def test_a_tampered_cursor_fingerprint_or_signature_is_refused():
    tokens = PageTokens([("k1", K1)])
    token = tokens.encode(CURSOR, QUERY)
    raw_length = len(base64.urlsafe_b64decode(token + "=="))
    header = 1 + len("k1")
    for index in (header, header + 16 + 5, raw_length - 1, raw_length - 16):  # fingerprint, cursor, MAC
        assert refused(tokens, flip(token, index)) == "is not a token this API issued"


def test_a_cursor_swapped_into_a_token_is_refused():
    tokens = PageTokens([("k1", K1)])
    raw = base64.urlsafe_b64decode(tokens.encode(CURSOR, QUERY) + "==")
    header_and_fingerprint, mac = raw[:3 + 16], raw[-16:]
    forged = header_and_fingerprint + json.dumps(["9999-12-31T23:59:59+00:00", "x", "y"]).encode() + mac
    refused(tokens, b64(forged))


def test_a_token_signed_with_another_key_or_under_an_unknown_kid_is_refused():
    mine = PageTokens([("k1", K1)])
    assert refused(mine, PageTokens([("k1", K2)]).encode(CURSOR, QUERY)) == "is not a token this API issued"
    assert refused(mine, PageTokens([("other", K1)]).encode(CURSOR, QUERY)) == "is not a token this API issued"


def test_rotation_new_tokens_use_the_first_key_and_the_old_key_still_verifies():
    before = PageTokens([("k1", K1)])
    after = PageTokens([("k2", K2), ("k1", K1)])
    open_page = before.encode(CURSOR, QUERY)
    assert after.decode(open_page, QUERY) == CURSOR
    fresh = after.encode(CURSOR, QUERY)
    assert PageTokens([("k2", K2)]).decode(fresh, QUERY) == CURSOR
    refused(before, fresh)  # signed by k2, not k1
    # Once k1 is dropped from the list, its tokens stop verifying.
    refused(PageTokens([("k2", K2)]), open_page)


@pytest.mark.parametrize("token", [
    "!!!", "a", "abc=", "ab cd", "Zm9v\n", "é",
    b64(b"[123]"), b64(b"[[]]"), b64(b'{"c":5}'), b64(b"\x00"), b64(b"\xff" * 40),
    # The format before signing: base64 JSON of a cursor and an unkeyed fingerprint.
    b64(json.dumps({"c": CURSOR, "q": "0123456789abcdef"}).encode()),
    "A" * (MAX_TOKEN_CHARS + 1), "A" * 1_000_000,
])
def test_garbage_is_invalid_argument_on_page_token(token):
    assert refused(PageTokens([("k1", K1)]), token) == "is not a token this API issued"


@pytest.mark.parametrize("cursor", [
    ["not a time", str(uuid.uuid4())],
    ["2026-03-01T07:00:00+00:00", "not a uuid"],
    ["only one"],
    ["2026-03-01T07:00:00", str(uuid.uuid4())],  # no offset
    ["0001-01-01T00:00:00+01:00", str(uuid.uuid4())],  # its UTC form is before year 1
    ["9999-12-31T23:59:59-01:00", str(uuid.uuid4())],  # and after 9999
    ["2026-03-01T07:00:00+00:00", str(uuid.uuid4()), "extra"],
])
def test_a_keyset_cursor_whose_parts_do_not_parse_is_invalid(cursor):
    tokens = PageTokens([("k1", K1)])
    with pytest.raises(InvalidArgument) as err:
        tokens.decode_keyset(tokens.encode(cursor, QUERY), QUERY, instant, uuid.UUID)
    assert [v.field for v in err.value.violations] == ["page_token"]


def test_a_keyset_cursor_with_nul_or_a_parser_overflow_is_invalid():
    tokens = PageTokens([("k1", K1)])

    def overflowing(_: str) -> object:
        raise OverflowError("date value out of range")

    with pytest.raises(InvalidArgument):
        tokens.decode_keyset(tokens.encode(["Apple\x00Watch"], QUERY), QUERY, str)
    with pytest.raises(InvalidArgument):
        tokens.decode_keyset(tokens.encode(["x"], QUERY), QUERY, overflowing)


def test_a_keyset_cursor_parses_into_its_parts_with_times_in_utc():
    tokens = PageTokens([("k1", K1)])
    key = uuid.uuid4()
    start, parsed = tokens.decode_keyset(tokens.encode(["2026-03-01T08:00:00+01:00", str(key)], QUERY), QUERY,
                                         instant, uuid.UUID)
    assert start == dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC) and start.utcoffset() == dt.timedelta(0)
    assert parsed == key
    assert tokens.decode_keyset("", QUERY, instant, uuid.UUID) is None


def test_keys_from_config_sign_with_the_first_and_verify_with_all():
    old = base64.b64encode(K1).decode()
    new = base64.urlsafe_b64encode(K2).decode().rstrip("=")  # URL-safe and unpadded work too
    rotated = PageTokens.from_config(f"k2:{new}, k1:{old}", "service-token")
    assert rotated.decode(PageTokens([("k1", K1)]).encode(CURSOR, QUERY), QUERY) == CURSOR
    assert PageTokens([("k2", K2)]).decode(rotated.encode(CURSOR, QUERY), QUERY) == CURSOR


def test_without_configured_keys_every_service_derives_the_same_key_from_the_service_token(caplog):
    with caplog.at_level(logging.DEBUG):
        tracking = PageTokens.from_config("", "the-service-token")
        auth = PageTokens.from_config("  ", "the-service-token")
    assert auth.decode(tracking.encode(CURSOR, QUERY), QUERY) == CURSOR
    refused(PageTokens.from_config("", "another-service-token"), tracking.encode(CURSOR, QUERY))
    refused(PageTokens([("st", b"the-service-token".ljust(32, b"\x00"))]), tracking.encode(CURSOR, QUERY))
    assert "the-service-token" not in caplog.text


def test_configured_keys_are_not_logged(caplog):
    secret = base64.b64encode(K1).decode()
    with caplog.at_level(logging.DEBUG):
        PageTokens.from_config(f"k1:{secret}", "service-token")
    assert "k1" in caplog.text and secret not in caplog.text and "service-token" not in caplog.text


@pytest.mark.parametrize("keys, service_token", [
    ("", ""),  # nothing to sign with
    ("k1", "t"),  # no key
    ("k1:", "t"),
    ("k1:not base64!", "t"),
    (f"k1:{base64.b64encode(b'short').decode()}", "t"),  # under 16 bytes
    (f"k1:{base64.b64encode(K1).decode()},k1:{base64.b64encode(K2).decode()}", "t"),  # kid twice
    (f"bad kid:{base64.b64encode(K1).decode()}", "t"),
    (f":{base64.b64encode(K1).decode()}", "t"),
])
def test_bad_key_config_fails_at_start_up(keys, service_token):
    with pytest.raises(ValueError):
        PageTokens.from_config(keys, service_token)
