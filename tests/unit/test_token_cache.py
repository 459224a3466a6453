"""The access-token cache: a token is verified once, and what the cache keeps never outlives what
the token itself would be refused for (revocation, expiry, another signature, a retired key)."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
import pytest

from services.auth.secrets import issue_access_token, new_signing_key
from services.common import credentials
from services.common.credentials import AccessTokenVerifier, Authenticator
from services.common.errors import Unauthenticated
from services.common.revocation import Kind, Revocation, RevocationWatcher
from tests.unit.test_revocation import FakeAuth

ISSUER = "healthmesh"
# Tokens are issued against the real clock (PyJWT checks exp against it on a first verification);
# the verifier's own clock, which judges cached tokens, is the fake one below.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


class Keys:
    """Auth's JWKS: the keys it publishes, and how often it was asked."""

    def __init__(self) -> None:
        self.signing = new_signing_key(NOW)
        self.published = [self.signing]
        self.fetches = 0

    async def __call__(self) -> list[dict]:
        self.fetches += 1
        return [k.public_jwk for k in self.published]

    def token(self, user: uuid.UUID | None = None, session: uuid.UUID | None = None, ttl: int = 900) -> str:
        return issue_access_token(self.signing, user or uuid.uuid4(), session or uuid.uuid4(), ISSUER, NOW, ttl)


@pytest.fixture
def decodes(monkeypatch):
    """Counts the signature checks the verifier makes."""
    calls = []
    real = jwt.decode

    def counting(*args, **kwargs):
        if kwargs.get("options", {}).get("verify_signature", True):  # not the tests' own peeks
            calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(credentials.jwt, "decode", counting)
    return calls


async def test_a_token_is_verified_once_and_its_claims_served_after(decodes):
    keys = Keys()
    verifier = AccessTokenVerifier(keys, ISSUER, clock=Clock())
    user = uuid.uuid4()
    token = keys.token(user)
    first = await verifier.verify(token)
    again = await verifier.verify(token)
    assert first == again and again["sub"] == str(user)
    assert len(decodes) == 1 and verifier.cached_tokens == 1
    again["sub"] = "someone else"  # a caller changing its copy does not change what is cached
    assert (await verifier.verify(token))["sub"] == str(user)


async def test_a_cached_token_is_refused_at_once_when_its_session_or_user_is_revoked(decodes):
    keys, auth = Keys(), FakeAuth()
    revocations = RevocationWatcher(auth, dt.timedelta(minutes=16), staleness_seconds=60, clock=lambda: NOW)
    authenticator = Authenticator(AccessTokenVerifier(keys, ISSUER, clock=Clock()), None, "svc",
                                  revocations=revocations)
    user, session, other_session = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token, other = keys.token(user, session), keys.token(user, other_session)
    header, other_header = {"authorization": f"Bearer {token}"}, {"authorization": f"Bearer {other}"}
    principal = await authenticator.principal(header)
    await authenticator.principal(other_header)
    assert (principal.user_id, principal.session) == (str(user), str(session))
    assert principal.expire_time == float(jwt.decode(token, options={"verify_signature": False})["exp"])

    revocations.add(_revocation(Kind.SESSION, user, session))
    with pytest.raises(Unauthenticated) as err:
        await authenticator.principal(header)
    assert err.value.reason == "CREDENTIAL_REVOKED"
    assert (await authenticator.principal(other_header)).session == str(other_session)  # its own session lives

    revocations.add(_revocation(Kind.USER, user))
    with pytest.raises(Unauthenticated) as err:
        await authenticator.principal(other_header)
    assert err.value.reason == "CREDENTIAL_REVOKED"
    assert len(decodes) == 2  # both refusals came from the cache: the check is not skipped on a hit


def _revocation(kind: Kind, user: uuid.UUID, subject: uuid.UUID | None = None) -> Revocation:
    return Revocation(1, kind, str(user), str(subject or ""), NOW)


async def test_a_cached_token_is_refused_once_its_exp_has_passed(decodes):
    keys, clock = Keys(), Clock()
    verifier = AccessTokenVerifier(keys, ISSUER, clock=clock)
    token = keys.token(ttl=900)
    await verifier.verify(token)
    clock.now += 899
    await verifier.verify(token)
    clock.now += 1  # exp itself: expired, as PyJWT has it
    with pytest.raises(Unauthenticated) as err:
        await verifier.verify(token)
    assert err.value.reason == "TOKEN_EXPIRED" and verifier.cached_tokens == 0
    assert len(decodes) == 1


async def test_the_same_claims_with_another_signature_are_verified_and_refused(decodes):
    keys = Keys()
    verifier = AccessTokenVerifier(keys, ISSUER, clock=Clock())
    token = keys.token()
    await verifier.verify(token)
    body, _, signature = token.rpartition(".")
    # The same header and claims, signed by a key Auth never published under that kid.
    intruder = new_signing_key(NOW)
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, intruder.private_key, algorithm="ES256", headers={"kid": keys.signing.kid})
    assert forged.rpartition(".")[0] == body
    tampered = body + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    for token_like in (forged, tampered):
        with pytest.raises(Unauthenticated) as err:
            await verifier.verify(token_like)
        assert err.value.reason == "TOKEN_INVALID"
    assert len(decodes) == 3 and verifier.cached_tokens == 1


async def test_the_cache_is_bounded_and_drops_the_least_recently_used(decodes):
    keys = Keys()
    verifier = AccessTokenVerifier(keys, ISSUER, max_cached_tokens=3, clock=Clock())
    tokens = [keys.token() for _ in range(5)]
    for token in tokens[:3]:
        await verifier.verify(token)
    await verifier.verify(tokens[0])  # used again: now the most recent
    for token in tokens[3:]:
        await verifier.verify(token)
    assert verifier.cached_tokens == 3 and len(decodes) == 5
    await verifier.verify(tokens[0])  # kept
    assert len(decodes) == 5
    await verifier.verify(tokens[1])  # dropped first, so verified again
    assert decodes[-1] == tokens[1] and len(decodes) == 6
    # What is kept is digests, not tokens.
    assert all(len(k) == 32 and k not in {t.encode() for t in tokens} for k in verifier._verified)


async def test_a_cached_token_fails_once_its_signing_key_leaves_the_jwks(decodes):
    keys = Keys()
    verifier = AccessTokenVerifier(keys, ISSUER, cache_seconds=0, clock=Clock())  # the JWKS read every call
    token = keys.token()
    await verifier.verify(token)
    keys.published = [new_signing_key(NOW)]  # the key was retired
    with pytest.raises(Unauthenticated) as err:
        await verifier.verify(token)
    assert err.value.reason == "TOKEN_INVALID" and verifier.cached_tokens == 0 and len(decodes) == 1


async def test_a_zero_sized_cache_verifies_every_time(decodes):
    keys = Keys()
    verifier = AccessTokenVerifier(keys, ISSUER, max_cached_tokens=0, clock=Clock())
    token = keys.token()
    await verifier.verify(token)
    await verifier.verify(token)
    assert len(decodes) == 2 and verifier.cached_tokens == 0
