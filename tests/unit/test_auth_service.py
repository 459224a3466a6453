"""Auth's use cases against a fake repository: throttles, token checks, rotation, keys."""

from __future__ import annotations

import base64
import datetime as dt
import os
import uuid

import jwt
import pytest

from services.auth.secrets import Passwords, issue_access_token, new_signing_key
from services.auth.service import AuthService
from services.common.cache import Counters
from services.common.config import Settings
from services.common.credentials import AccessTokenVerifier, Authenticator
from services.common.errors import ResourceExhausted, Unauthenticated
from tests.unit.fake_auth_repository import FakeAuthRepository

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)  # tokens are verified against the real clock

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def auth(clock):
    settings = Settings(key_encryption_key=base64.b64encode(os.urandom(32)).decode(),
                        api_key_pepper="unit-test-pepper-0123456789", login_failures_per_account=3,
                        registrations_per_address=2)
    service = AuthService(FakeAuthRepository(), Passwords(1, 8192, 1, 1), Counters(), settings, clock)
    await service.load_signing_keys()
    return service


def verifier(service: AuthService) -> AccessTokenVerifier:
    async def jwks():
        return service.jwks()
    return AccessTokenVerifier(jwks, "healthmesh")


async def test_access_tokens_verify_and_expire(auth, clock):
    await auth.register("ada@example.org", PASSWORD, "Ada", "", 0, "", "1.2.3.4")
    session = await auth.login("ada@example.org", PASSWORD, "1.2.3.4")
    claims = await verifier(auth).verify(session.access_token)
    assert claims["sub"] == str(session.user.id)
    # Tokens are checked against the real clock: one issued 16 minutes ago has expired.
    key = auth._keys[-1]
    old = issue_access_token(key, session.user.id, uuid.uuid4(), "healthmesh", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16), 900)
    with pytest.raises(Unauthenticated) as err:
        await verifier(auth).verify(old)
    assert err.value.reason == "TOKEN_EXPIRED"


async def test_forged_and_unsigned_tokens_are_refused(auth):
    user = await auth.register("ada@example.org", PASSWORD, "Ada", "", 0, "", "1.2.3.4")
    now = dt.datetime.now(dt.UTC)
    forged = issue_access_token(new_signing_key(now), user.id, uuid.uuid4(), "healthmesh", now, 900)  # a key Auth never made
    unsigned = jwt.encode({"sub": str(user.id), "iss": "healthmesh", "iat": 0, "exp": 2**31}, None, algorithm="none")
    hs256 = jwt.encode({"sub": str(user.id), "iss": "healthmesh", "iat": 0, "exp": 2**31}, "k" * 32,
                       algorithm="HS256", headers={"kid": auth.jwks()[0]["kid"]})
    for token in (forged, unsigned, hs256, "not.a.jwt", "garbage"):
        with pytest.raises(Unauthenticated):
            await verifier(auth).verify(token)


async def test_registration_is_throttled_per_address(auth):
    for i in range(2):
        await auth.register(f"u{i}@example.org", PASSWORD, "U", "", 0, "", "9.9.9.9")
    with pytest.raises(ResourceExhausted):
        await auth.register("u3@example.org", PASSWORD, "U", "", 0, "", "9.9.9.9")
    await auth.register("u4@example.org", PASSWORD, "U", "", 0, "", "8.8.8.8")


async def test_refresh_token_expires(auth, clock):
    await auth.register("ada@example.org", PASSWORD, "Ada", "", 0, "", "1.2.3.4")
    session = await auth.login("ada@example.org", PASSWORD, "1.2.3.4")
    clock.now += dt.timedelta(days=31)
    with pytest.raises(Unauthenticated) as err:
        await auth.refresh(session.refresh_token)
    assert err.value.reason == "REFRESH_TOKEN_INVALID"


async def test_api_keys_resolve_through_the_authenticator_and_stop_after_revocation(auth):
    user = await auth.register("ada@example.org", PASSWORD, "Ada", "", 0, "", "1.2.3.4")
    key, secret = await auth.create_api_key(user.id, "exporter", "")

    async def lookup(s: str):
        k = await auth.authenticate_api_key(s)
        return str(k.user_id), f"users/{k.user_id}/apiKeys/{k.id}"

    authenticator = Authenticator(verifier(auth), lookup, "svc", api_key_cache_seconds=0)
    principal = await authenticator.principal({"authorization": f"Bearer {secret}"})
    assert (principal.kind, principal.user_id) == ("api_key", str(user.id))
    await auth.revoke_api_key(user.id, key.id)
    with pytest.raises(Unauthenticated):
        await authenticator.principal({"authorization": f"Bearer {secret}"})


async def test_authorization_header_shapes(auth):
    authenticator = Authenticator(verifier(auth), None, "svc-token")
    assert not (await authenticator.principal({})).authenticated
    for header in ("Basic abc", "Bearer", "Bearer "):
        with pytest.raises(Unauthenticated):
            await authenticator.principal({"authorization": header})
    service = await authenticator.principal({"x-healthmesh-service-token": "svc-token", "x-healthmesh-user": "u1",
                                             "x-healthmesh-service": "device"})
    assert (service.kind, service.user_id, service.actor) == ("service", "u1", "services/device")
    with pytest.raises(Unauthenticated):
        await authenticator.principal({"x-healthmesh-service-token": "wrong"})
