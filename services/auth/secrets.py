"""Secrets Auth makes and checks: password hashes, signed access tokens, refresh tokens, API keys.

Password hashing is Argon2id with OWASP parameters, run in a thread pool behind a semaphore so
it never blocks the event loop. API keys are looked up by an HMAC digest with a pepper (cheap
and constant-time), never by a slow hash per request.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.common.credentials import API_KEY_PREFIX

REFRESH_TOKEN_PREFIX = "rt_"


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int, concurrency: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")
        self._slots = asyncio.Semaphore(concurrency)
        # Verifying against this when the email is unknown costs the same time as a real check,
        # so response time does not reveal which emails are registered.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._pool, check)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_jwk: dict
    create_time: dt.datetime


def new_signing_key(now: dt.datetime) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    kid = base64.urlsafe_b64encode(hashlib.sha256(json.dumps(jwk, sort_keys=True).encode()).digest()[:12]).decode()
    jwk.update({"kid": kid, "alg": "ES256", "use": "sig"})
    return SigningKey(kid, private, jwk, now)


def seal_private_key(key: SigningKey, kek: bytes) -> bytes:
    """AES-256-GCM under the key-encryption key, with the kid bound as associated data."""
    pem = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    nonce = os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, pem, key.kid.encode())


def open_private_key(kid: str, sealed: bytes, kek: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        pem = AESGCM(kek).decrypt(sealed[:12], sealed[12:], kid.encode())
    except InvalidTag:
        raise RuntimeError(f"signing key {kid} does not decrypt with HEALTHMESH_KEY_ENCRYPTION_KEY: "
                           "is it the key this database was set up with?") from None
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def issue_access_token(key: SigningKey, user_id: uuid.UUID, session_id: uuid.UUID, issuer: str, now: dt.datetime,
                       ttl_seconds: int) -> str:
    # `sid` names the session (the refresh-token family), so ending it ends its access tokens too.
    claims = {
        "iss": issuer, "sub": str(user_id), "sid": str(session_id), "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl_seconds, "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid})


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def refresh_token_digest(token: str) -> bytes:
    # Refresh tokens are 256-bit random: a plain SHA-256 is enough to keep them unusable at rest.
    return hashlib.sha256(token.encode()).digest()


def new_api_key_secret() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_digest(secret: str, pepper: bytes) -> bytes:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).digest()


def api_key_prefix(secret: str) -> str:
    return secret[:10]
