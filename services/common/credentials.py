"""Turns the `authorization` metadata of a call into a Principal.

Access tokens (ES256 JWTs) are verified locally against Auth's published keys, once per token:
the verified claims are kept, under the token's SHA-256, until the token's exp; API keys
(`hm_...`) are resolved through Auth and cached briefly; other services present the shared
service token and name the end user they act for. Whatever the credential, the principal is then
checked against the revocations (services/common/revocation.py), so none of these shortcuts
outlives a deleted user, an ended session or a revoked key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping

import jwt

from services.common.cache import TtlCache
from services.common.errors import Unauthenticated
from services.common.principal import ANONYMOUS, Principal
from services.common.revocation import RevocationWatcher

log = logging.getLogger(__name__)

API_KEY_PREFIX = "hm_"
SERVICE_TOKEN_HEADER = "x-healthmesh-service-token"
ACTING_USER_HEADER = "x-healthmesh-user"
SERVICE_NAME_HEADER = "x-healthmesh-service"

JwksSource = Callable[[], Awaitable[list[dict]]]
# secret -> (user_id, api key name) or (user_id, api key name, device the key is bound to or '')
ApiKeyLookup = Callable[[str], Awaitable[tuple[str, ...]]]


class AccessTokenVerifier:
    """Verifies access tokens with the JWKS, refetching it when a token names an unknown key.

    The ES256 check is the costliest step of authenticating a call, and an app sends the same token
    for its whole life (15 minutes), so the claims of a token that verified are kept in a bounded LRU,
    keyed by the token's SHA-256 (never the token itself: a dump of memory gives no credential).
    A hit is the same string that verified, signature included; it still fails once its exp has
    passed, and when its signing key has left the JWKS. Revocation is not the verifier's business:
    Authenticator.principal checks it on every call, cached or not.
    """

    def __init__(self, jwks_source: JwksSource, issuer: str, cache_seconds: float = 300.0,
                 max_cached_tokens: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._source = jwks_source
        self._issuer = issuer
        self._cache_seconds = cache_seconds
        self._keys: dict[str, object] = {}
        self._fetched_at = 0.0
        self._max_cached = max_cached_tokens
        self._now = clock  # Unix seconds, as exp is; PyJWT itself reads the real clock
        self._verified: OrderedDict[bytes, tuple[float, str, dict]] = OrderedDict()  # digest -> exp, kid, claims

    @property
    def cached_tokens(self) -> int:
        return len(self._verified)

    async def verify(self, token: str) -> dict:
        digest = hashlib.sha256(token.encode()).digest()
        hit = self._verified.get(digest)
        if hit is not None:
            exp, kid, claims = hit
            if exp <= self._now():  # PyJWT's rule: expired once exp is reached
                del self._verified[digest]
                raise Unauthenticated("the access token has expired", "TOKEN_EXPIRED")
            try:
                await self._key(kid)  # refreshes a stale JWKS; a retired key fails here as uncached
            except Unauthenticated:
                self._verified.pop(digest, None)
                raise
            self._verified.move_to_end(digest)
            return dict(claims)
        claims, kid = await self._verify_signature(token)
        if self._max_cached > 0:
            self._verified[digest] = (float(claims["exp"]), kid, claims)
            if len(self._verified) > self._max_cached:
                self._verified.popitem(last=False)
        return dict(claims)

    async def _verify_signature(self, token: str) -> tuple[dict, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the access token is malformed", "TOKEN_INVALID") from None
        if header.get("alg") != "ES256":
            raise Unauthenticated("the access token must be signed with ES256", "TOKEN_INVALID")
        kid = str(header.get("kid", ""))
        key = await self._key(kid)
        try:
            claims = jwt.decode(token, key, algorithms=["ES256"], issuer=self._issuer,
                                options={"require": ["exp", "sub", "iss", "iat"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the access token has expired", "TOKEN_EXPIRED") from None
        except jwt.PyJWTError:
            raise Unauthenticated("the access token is invalid", "TOKEN_INVALID") from None
        return claims, kid

    async def _key(self, kid: str) -> object:
        stale = time.monotonic() - self._fetched_at > self._cache_seconds
        # An unknown kid may be a freshly rotated key: refetch, but at most every few seconds.
        if stale or (kid not in self._keys and time.monotonic() - self._fetched_at > 5):
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("the access token was signed by an unknown key", "TOKEN_INVALID")
        return key

    async def _refresh(self) -> None:
        try:
            keys = await self._source()
        except Exception as exc:
            log.warning("could not fetch JWKS: %s", exc)
            if not self._keys:
                raise Unauthenticated("token keys are unavailable, try again", "KEYS_UNAVAILABLE") from None
            return
        self._keys = {k["kid"]: jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(k)) for k in keys}
        self._fetched_at = time.monotonic()


class Authenticator:
    def __init__(self, tokens: AccessTokenVerifier, api_keys: ApiKeyLookup, service_token: str,
                 api_key_cache_seconds: float = 10.0, revocations: RevocationWatcher | None = None) -> None:
        self._tokens = tokens
        self._api_keys = api_keys
        self._service_token = service_token.encode()
        self._cache = TtlCache(api_key_cache_seconds)
        self.revocations = revocations

    async def principal(self, metadata: Mapping[str, str]) -> Principal:
        principal = await self._resolve(metadata)
        if self.revocations is not None:
            await self.revocations.check(principal)
        return principal

    async def _resolve(self, metadata: Mapping[str, str]) -> Principal:
        service_token = metadata.get(SERVICE_TOKEN_HEADER)
        if service_token is not None:
            if not self._service_token or not hmac.compare_digest(service_token.encode(), self._service_token):
                raise Unauthenticated("invalid service credential", "SERVICE_TOKEN_INVALID")
            service = metadata.get(SERVICE_NAME_HEADER, "unknown")
            return Principal("service", metadata.get(ACTING_USER_HEADER, ""), f"services/{service}")
        header = metadata.get("authorization")
        if header is None:
            return ANONYMOUS
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("authorization must be 'Bearer <token>'", "AUTHORIZATION_MALFORMED")
        if credential.startswith(API_KEY_PREFIX):
            return await self._api_key(credential)
        claims = await self._tokens.verify(credential)
        return Principal("user", str(claims["sub"]), f"users/{claims['sub']}", session=str(claims.get("sid", "")),
                         expire_time=float(claims["exp"]))

    async def _api_key(self, secret: str) -> Principal:
        cache_key = hashlib.sha256(secret.encode()).digest()
        hit = self._cache.get(cache_key)
        if hit is None:
            user_id, key_name, *device = await self._api_keys(secret)
            hit = Principal("api_key", user_id, key_name, api_key=key_name.rsplit("/", 1)[-1],
                            device=device[0] if device else "")
            self._cache.put(cache_key, hit)
        return hit  # type: ignore[return-value]
