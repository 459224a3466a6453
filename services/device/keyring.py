"""Device's credential key ring: data keys wrapped by the key-encryption key, as Auth keeps its
signing keys (DESIGN §6), and the credentials sealed by a data key.

AES-256-GCM throughout. A data key is wrapped with its id as associated data, credentials are
sealed with their device's name as associated data: neither opens when moved to another row.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.device.domain import Credentials

NONCE = 12


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap(key_id: uuid.UUID, data_key: bytes, kek: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, key_id.bytes)


def unwrap(key_id: uuid.UUID, wrapped: bytes, kek: bytes) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE], wrapped[NONCE:], key_id.bytes)
    except InvalidTag:
        raise RuntimeError(f"data key {key_id} does not decrypt with HEALTHMESH_KEY_ENCRYPTION_KEY: "
                           "is it the key this database was set up with?") from None


def _plain(c: Credentials) -> bytes:
    return json.dumps({"access_token": c.access_token, "refresh_token": c.refresh_token,
                       "expire_time": c.expire_time.isoformat() if c.expire_time else None,
                       "api_key": c.api_key, "extra": c.extra}).encode()


def seal(c: Credentials, device_name: str, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(data_key).encrypt(nonce, _plain(c), device_name.encode())


def open_sealed(sealed: bytes, device_name: str, data_key: bytes) -> Credentials:
    try:
        plain = AESGCM(data_key).decrypt(sealed[:NONCE], sealed[NONCE:], device_name.encode())
    except InvalidTag:
        raise RuntimeError(f"the credentials of {device_name} do not open with their data key") from None
    d = json.loads(plain)
    return Credentials(d["access_token"], d["refresh_token"],
                       dt.datetime.fromisoformat(d["expire_time"]) if d["expire_time"] else None,
                       d["api_key"], dict(d["extra"]))
