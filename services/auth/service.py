"""Auth's use cases: registration, login, sessions, profile, API keys, keys, audit reads."""

from __future__ import annotations

import datetime as dt
import uuid

from services.common import checks
from services.auth import domain, secrets
from services.auth.domain import ApiKey, RefreshToken, Session, User
from services.auth.repository import AuthRepository
from services.auth.throttles import Throttles
from services.common.audit import AuditRecord, as_received
from services.common.cache import Counters
from services.common.clock import Clock, utcnow
from services.common.config import Settings
from services.common.errors import (
    InvalidArgument, NotFound, PermissionDenied, ResourceExhausted, Unauthenticated, Violations,
)
from services.common.ids import is_uuid, uuid7
from services.common.revocation import Kind, Revocation, RevocationPublisher


class AuthService:
    def __init__(self, repo: AuthRepository, passwords: secrets.Passwords, counters: Counters,
                 settings: Settings, clock: Clock = utcnow, publisher: RevocationPublisher | None = None,
                 throttles: Throttles | None = None) -> None:
        self._repo = repo
        self._publisher = publisher or RevocationPublisher()
        self._passwords = passwords
        self._counters = counters
        self._throttles = throttles or Throttles(counters, settings)
        self._settings = settings
        self._now = clock
        self._keys: list[secrets.SigningKey] = []
        self.refused_audit_records = 0  # records the database would not take even made storable

    # Signing keys.

    async def load_signing_keys(self) -> None:
        """Creates the first signing key if there is none, then loads the live ones; the newest signs."""
        first = secrets.new_signing_key(self._now())
        await self._repo.add_signing_key_if_none(
            first.kid, secrets.seal_private_key(first, self._settings.kek_bytes), first.public_jwk, first.create_time)
        self._keys = [
            secrets.SigningKey(kid, secrets.open_private_key(kid, sealed, self._settings.kek_bytes), jwk, created)
            for kid, sealed, jwk, created in await self._repo.signing_keys()
        ]

    def jwks(self) -> list[dict]:
        return [k.public_jwk for k in self._keys]

    # Registration and sessions.

    async def register(self, email: str, password: str, display_name: str, birth_date: str, sex: int,
                       time_zone: str, client: str) -> User:
        new = domain.build_new_user(email, password, display_name, birth_date, sex, time_zone, self._now().date())
        await self._throttles.registration(client)
        password_hash = await self._passwords.hash(new.password)
        return await self._repo.create_user(new, password_hash, self._now())

    async def login(self, email: str, password: str, client: str) -> Session:
        v = Violations()
        if not email:
            v.add("email", "is required")
        elif len(domain.normalize_email(email)) > domain.MAX_EMAIL_LENGTH:
            v.add("email", f"must have at most {domain.MAX_EMAIL_LENGTH} characters")
        if not password:
            v.add("password", "is required")
        elif len(password) > domain.MAX_PASSWORD_LENGTH:  # no registered password is longer: spare the hash
            v.add("password", f"must have at most {domain.MAX_PASSWORD_LENGTH} characters")
        v.raise_if_any()
        key = domain.email_key(email)
        # Counted before the hash runs, so guesses sent at once are refused once over the limit.
        attempt = await self._throttles.login(key, client)
        found = await self._repo.get_login(key)
        ok = await self._passwords.verify(found[1] if found else None, password)
        if not ok or found is None:
            raise Unauthenticated("wrong email or password", "INVALID_CREDENTIALS")
        await attempt.succeeded()
        return await self._open_session(found[0], family_id=uuid7())

    async def refresh(self, refresh_token: str) -> Session:
        if not refresh_token:
            raise InvalidArgument.field("refresh_token", "is required")
        digest = secrets.refresh_token_digest(refresh_token)
        now = self._now()
        spent = await self._repo.spend_refresh_token(digest, now)
        if spent is None:
            known = await self._repo.find_refresh_token(digest)
            if known is not None and known.used_time is not None and known.revoked_time is None:
                # A spent token came back: someone holds a copy. End the whole session.
                await self._published(self._repo.revoke_family(known.family_id, now))
                raise Unauthenticated("refresh token reuse detected; the session is revoked", "REFRESH_TOKEN_REUSED")
            raise Unauthenticated("the refresh token is unknown, expired or revoked", "REFRESH_TOKEN_INVALID")
        user = await self._repo.get_user(spent.user_id)
        if user is None:
            raise Unauthenticated("the account no longer exists", "REFRESH_TOKEN_INVALID")
        return await self._open_session(user, family_id=spent.family_id)

    async def logout(self, refresh_token: str) -> None:
        if not refresh_token:
            raise InvalidArgument.field("refresh_token", "is required")
        known = await self._repo.find_refresh_token(secrets.refresh_token_digest(refresh_token))
        if known is not None:
            await self._published(self._repo.revoke_family(known.family_id, self._now()))

    async def change_password(self, user_id: uuid.UUID, current: str, new: str, client: str) -> Session:
        """Every session of the user ends, everywhere; the caller gets a new one."""
        v = Violations()
        if not current:
            v.add("current_password", "is required")
        user = await self.get_user(user_id)
        domain.validate_password(new, user.email, v, "new_password")
        v.raise_if_any()
        # A stolen access token must not become a way to guess the password: a wrong current
        # password is a failed login, throttled as one.
        key = domain.email_key(user.email)
        attempt = await self._throttles.login(key, client)
        found = await self._repo.get_login(key)
        if found is None or not await self._passwords.verify(found[1], current):
            raise Unauthenticated("the current password is wrong", "INVALID_CREDENTIALS")
        await attempt.succeeded()
        password_hash = await self._passwords.hash(new)
        await self._published(self._repo.change_password(user_id, password_hash, self._now()))
        return await self._open_session(user, family_id=uuid7())

    async def revoke_sessions(self, user_id: uuid.UUID) -> None:
        await self.get_user(user_id)
        await self._published(self._repo.revoke_sessions(user_id, self._now()))

    async def list_revocations(self, after: int, since: dt.datetime | None, kind: Kind | None,
                               limit: int) -> list[Revocation]:
        return await self._repo.list_revocations(after, since, kind, limit)

    async def _published(self, revoking) -> list[Revocation] | None:
        """Awaits a revoking repository call (committed, NOTIFY sent), then the Redis fast path."""
        done = await revoking
        await self._publisher.publish(done or [])
        return done

    async def _open_session(self, user: User, family_id: uuid.UUID) -> Session:
        now = self._now()
        token = secrets.new_refresh_token()
        record = RefreshToken(uuid7(), user.id, family_id,
                              now + dt.timedelta(seconds=self._settings.refresh_token_ttl_seconds), None, None)
        await self._repo.add_refresh_token(record, secrets.refresh_token_digest(token), now)
        ttl = self._settings.access_token_ttl_seconds
        access = secrets.issue_access_token(self._keys[-1], user.id, family_id, self._settings.token_issuer, now, ttl)
        return Session(access, token, ttl, user)

    # Profile.

    async def get_user(self, user_id: uuid.UUID) -> User:
        user = await self._repo.get_user(user_id)
        if user is None:
            raise NotFound(f"users/{user_id} does not exist")
        return user

    async def update_user(self, user_id: uuid.UUID, paths: list[str], display_name: str, birth_date: str,
                          sex: int, time_zone: str) -> User:
        v = Violations()
        if not paths:
            v.add("update_mask", "must name at least one field")
        changes: dict = {}
        for path in paths:
            if path not in domain.UPDATABLE_USER_FIELDS:
                v.add("update_mask", f"{path!r} cannot be updated; updatable: "
                      + ", ".join(sorted(domain.UPDATABLE_USER_FIELDS)))
            elif path == "display_name":
                domain.validate_display_name(display_name, v, "user.display_name")
                changes["display_name"] = display_name.strip()
            elif path == "birth_date":
                changes["birth_date"] = domain.parse_birth_date(birth_date, v, self._now().date(), "user.birth_date")
            elif path == "sex":
                changes["sex"] = int(domain.validate_sex(sex, v, "user.sex"))
            elif path == "time_zone":
                domain.validate_time_zone(time_zone, v, "user.time_zone")
                changes["time_zone"] = time_zone
        v.raise_if_any()
        user = await self._repo.update_user(user_id, changes, self._now())
        if user is None:
            raise NotFound(f"users/{user_id} does not exist")
        return user

    async def delete_user(self, user_id: uuid.UUID) -> None:
        if await self._published(self._repo.delete_user(user_id, self._now())) is None:
            raise NotFound(f"users/{user_id} does not exist")

    # API keys.

    async def create_api_key(self, user_id: uuid.UUID, display_name: str, request_id: str,
                             device: str = "") -> tuple[ApiKey, str]:
        v = Violations()
        domain.validate_display_name(display_name, v, "api_key.display_name")
        checks.request_id(request_id, v)
        device = key_device(device, user_id, v)
        v.raise_if_any()
        if await self._repo.count_live_api_keys(user_id) >= domain.MAX_LIVE_API_KEYS:
            raise ResourceExhausted(f"at most {domain.MAX_LIVE_API_KEYS} live API keys; revoke one first",
                                    "API_KEY_LIMIT")
        secret = secrets.new_api_key_secret()
        key = ApiKey(uuid7(), user_id, display_name.strip(), secrets.api_key_prefix(secret), self._now(), None,
                     device)
        stored = await self._repo.add_api_key(key, secrets.api_key_digest(secret, self._settings.pepper_bytes),
                                              request_id or None)
        # A retried request gets the first key back; its secret was shown once and is gone.
        return stored, secret if stored.id == key.id else ""

    async def list_api_keys(self, user_id: uuid.UUID, limit: int, after: uuid.UUID | None) -> list[ApiKey]:
        return await self._repo.list_api_keys(user_id, limit, after)

    async def revoke_api_key(self, user_id: uuid.UUID, key_id: uuid.UUID) -> None:
        if await self._published(self._repo.revoke_api_key(user_id, key_id, self._now())) is None:
            raise NotFound(f"users/{user_id}/apiKeys/{key_id} does not exist")

    async def revoke_device_api_keys(self, device: str) -> int:
        """Revokes the keys bound to a device (it was deleted); how many there were."""
        parts = device.split("/")
        if len(parts) != 4 or parts[0] != "users" or parts[2] != "devices" or not is_uuid(parts[1]) \
                or not is_uuid(parts[3]):
            raise InvalidArgument.field("device", "must be users/{user}/devices/{device}")
        canonical = f"users/{uuid.UUID(parts[1])}/devices/{uuid.UUID(parts[3])}"
        done = await self._published(self._repo.revoke_device_api_keys(uuid.UUID(parts[1]), canonical, self._now()))
        return len(done or [])

    async def authenticate_api_key(self, secret: str) -> ApiKey:
        if not secret:
            raise InvalidArgument.field("secret", "is required")
        key = await self._repo.find_api_key(secrets.api_key_digest(secret, self._settings.pepper_bytes), self._now())
        if key is None:
            raise Unauthenticated("the API key is unknown or revoked", "API_KEY_INVALID")
        return key

    # Audit.

    async def write_audit(self, records: list[AuditRecord]) -> None:
        """Stores what any service recorded, Auth's own records included. No record fails the
        batch: each is made storable, and one the database still refuses is counted and left out."""
        self.refused_audit_records += await self._repo.append_audit(as_received(records)) or 0

    async def list_audit(self, user_id: uuid.UUID, limit: int,
                         after: uuid.UUID | None) -> list[tuple[uuid.UUID, AuditRecord]]:
        return await self._repo.list_audit(user_id, limit, after)



def key_device(device: str, user_id: uuid.UUID, v: Violations) -> str:
    """An API key's device as stored: '' (a key of the user's own) or the canonical
    `users/{user}/devices/{device}` of the key's user (`users/me` naming them). Another user's
    device is PERMISSION_DENIED; a malformed name is a violation."""
    if not device:
        return ""
    parts = device.split("/")
    if len(parts) != 4 or parts[0] != "users" or parts[2] != "devices" or not is_uuid(parts[3]):
        v.add("api_key.device", "must be users/{user}/devices/{device}")
        return ""
    if parts[1] != "me" and not (is_uuid(parts[1]) and uuid.UUID(parts[1]) == user_id):
        raise PermissionDenied(f"users/{parts[1]} is not the caller's")
    return f"users/{user_id}/devices/{uuid.UUID(parts[3])}"
