"""An in-memory AuthRepository: the seam unit tests put a fake behind."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from services.auth.domain import ApiKey, NewUser, RefreshToken, User
from services.common.audit import AuditRecord
from services.common.errors import AlreadyExists
from services.common.ids import uuid7
from services.common.revocation import Kind, Revocation


class FakeAuthRepository:
    def __init__(self) -> None:
        self.users: dict[uuid.UUID, tuple[User, str, dt.datetime | None]] = {}
        self.tokens: dict[bytes, RefreshToken] = {}
        self.keys: dict[bytes, tuple[ApiKey, dt.datetime | None, str | None]] = {}
        self.signing: list[tuple[str, bytes, dict, dt.datetime]] = []
        self.audit: list[AuditRecord] = []
        self.revocations: list[Revocation] = []

    def _live(self):
        return {i: (u, h) for i, (u, h, deleted) in self.users.items() if deleted is None}

    async def create_user(self, user: NewUser, password_hash: str, now: dt.datetime) -> User:
        if any(u.email.lower() == user.email.lower() for u, _ in self._live().values()):
            raise AlreadyExists("taken", "EMAIL_TAKEN")
        created = User(uuid7(), user.email, user.display_name, user.birth_date, user.sex, user.time_zone, now, now)
        self.users[created.id] = (created, password_hash, None)
        return created

    async def get_user(self, user_id):
        hit = self._live().get(user_id)
        return hit[0] if hit else None

    async def get_login(self, email_key):
        return next(((u, h) for u, h in self._live().values() if u.email.lower() == email_key), None)

    async def update_user(self, user_id, changes, now):
        if user_id not in self._live():
            return None
        user, password_hash, _ = self.users[user_id]
        user = dataclasses.replace(user, **changes, update_time=now)
        self.users[user_id] = (user, password_hash, None)
        return user

    def _revoke(self, kind, user_id, subject, now):
        self.revocations.append(Revocation(len(self.revocations) + 1, kind, str(user_id), subject, now))
        return [self.revocations[-1]]

    async def delete_user(self, user_id, now):
        if user_id not in self._live():
            return None
        user, password_hash, _ = self.users[user_id]
        self.users[user_id] = (user, password_hash, now)
        return self._revoke(Kind.USER, user_id, "", now)

    async def change_password(self, user_id, password_hash, now):
        user, _, deleted = self.users[user_id]
        self.users[user_id] = (user, password_hash, deleted)
        return await self.revoke_sessions(user_id, now)

    async def revoke_sessions(self, user_id, now):
        families = {t.family_id for t in self.tokens.values() if t.user_id == user_id and not t.revoked_time}
        return [r for f in sorted(families) for r in await self.revoke_family(f, now)]

    async def list_revocations(self, after, since, kind, limit):
        return [r for r in self.revocations if r.sequence > after and (kind is None or r.kind == kind)][:limit]

    async def add_refresh_token(self, token, digest, now):
        self.tokens[digest] = token

    async def spend_refresh_token(self, digest, now):
        t = self.tokens.get(digest)
        if t is None or t.used_time or t.revoked_time or t.expire_time <= now:
            return None
        self.tokens[digest] = dataclasses.replace(t, used_time=now)
        return self.tokens[digest]

    async def find_refresh_token(self, digest):
        return self.tokens.get(digest)

    async def revoke_family(self, family_id, now):
        users = set()
        for d, t in self.tokens.items():
            if t.family_id == family_id and not t.revoked_time:
                self.tokens[d] = dataclasses.replace(t, revoked_time=now)
                users.add(t.user_id)
        return self._revoke(Kind.SESSION, users.pop(), str(family_id), now) if users else []

    async def add_api_key(self, key, digest, request_id):
        self.keys[digest] = (key, None, request_id)
        return key

    async def count_live_api_keys(self, user_id):
        return sum(1 for k, revoked, _ in self.keys.values() if k.user_id == user_id and revoked is None)

    async def list_api_keys(self, user_id, limit, after):
        return sorted((k for k, r, _ in self.keys.values() if k.user_id == user_id and r is None),
                      key=lambda k: k.id, reverse=True)[:limit]

    async def revoke_api_key(self, user_id, key_id, now):
        for d, (k, r, rid) in self.keys.items():
            if k.id == key_id and k.user_id == user_id and r is None:
                self.keys[d] = (k, now, rid)
                return self._revoke(Kind.API_KEY, user_id, str(key_id), now)
        return None

    async def find_api_key(self, digest, now):
        hit = self.keys.get(digest)
        return hit[0] if hit and hit[1] is None and hit[0].user_id in self._live() else None

    async def signing_keys(self):
        return list(self.signing)

    async def add_signing_key_if_none(self, kid, sealed, jwk, now):
        if not self.signing:
            self.signing.append((kid, sealed, jwk, now))

    async def append_audit(self, records):
        self.audit.extend(records)

    async def list_audit(self, user_id, limit, after):
        return [(uuid7(), r) for r in reversed(self.audit) if r.subject_user_id == str(user_id)][:limit]


__all__ = ["FakeAuthRepository", "ApiKey"]
