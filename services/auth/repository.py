"""Auth's storage. SQL stays here; callers get domain objects back."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Protocol

import asyncpg
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.auth.domain import ApiKey, NewUser, RefreshToken, Sex, User
from services.auth.tables import ApiKeyRow, AuditEventRow, RefreshTokenRow, RevocationRow, SigningKeyRow, UserRow
from services.common.audit import AuditRecord
from services.common.db import one_statement_reads, raw_connection
from services.common.errors import AlreadyExists
from services.common.ids import uuid7
from services.common.revocation import PG_CHANNEL, Kind, Revocation

log = logging.getLogger(__name__)


class AuthRepository(Protocol):
    async def create_user(self, user: NewUser, password_hash: str, now: dt.datetime) -> User: ...
    async def get_user(self, user_id: uuid.UUID) -> User | None: ...
    async def get_login(self, email_key: str) -> tuple[User, str] | None: ...
    async def update_user(self, user_id: uuid.UUID, changes: dict, now: dt.datetime) -> User | None: ...
    async def delete_user(self, user_id: uuid.UUID, now: dt.datetime) -> list[Revocation] | None: ...
    async def change_password(self, user_id: uuid.UUID, password_hash: str, now: dt.datetime) -> list[Revocation]: ...
    async def revoke_sessions(self, user_id: uuid.UUID, now: dt.datetime) -> list[Revocation]: ...
    async def list_revocations(self, after: int, since: dt.datetime | None, kind: Kind | None,
                               limit: int) -> list[Revocation]: ...
    async def add_refresh_token(self, token: RefreshToken, digest: bytes, now: dt.datetime) -> None: ...
    async def spend_refresh_token(self, digest: bytes, now: dt.datetime) -> RefreshToken | None: ...
    async def find_refresh_token(self, digest: bytes) -> RefreshToken | None: ...
    async def revoke_family(self, family_id: uuid.UUID, now: dt.datetime) -> list[Revocation]: ...
    async def add_api_key(self, key: ApiKey, digest: bytes, request_id: str | None) -> ApiKey: ...
    async def count_live_api_keys(self, user_id: uuid.UUID) -> int: ...
    async def list_api_keys(self, user_id: uuid.UUID, limit: int, after: uuid.UUID | None) -> list[ApiKey]: ...
    async def revoke_api_key(self, user_id: uuid.UUID, key_id: uuid.UUID, now: dt.datetime) -> list[Revocation] | None: ...
    async def find_api_key(self, digest: bytes, now: dt.datetime) -> ApiKey | None: ...
    async def revoke_device_api_keys(self, user_id: uuid.UUID, device: str, now: dt.datetime) -> list[Revocation]: ...
    async def signing_keys(self) -> list[tuple[str, bytes, dict, dt.datetime]]: ...
    async def add_signing_key_if_none(self, kid: str, sealed: bytes, jwk: dict, now: dt.datetime) -> None: ...
    async def append_audit(self, records: list[AuditRecord]) -> int: ...
    async def list_audit(self, user_id: uuid.UUID, limit: int,
                         after: uuid.UUID | None) -> list[tuple[uuid.UUID, AuditRecord]]: ...


def _user(row) -> User:
    """From a row by column name: SQLAlchemy's row._mapping or asyncpg's Record."""
    return User(row["id"], row["email"], row["display_name"], row["birth_date"], Sex(row["sex"]), row["time_zone"],
                row["create_time"], row["update_time"])


def _refresh(row) -> RefreshToken:
    return RefreshToken(row.id, row.user_id, row.family_id, row.expire_time, row.used_time, row.revoked_time)


def _api_key(row) -> ApiKey:
    return ApiKey(row.id, row.user_id, row.display_name, row.secret_prefix, row.create_time, row.last_use_time,
                  row.device)


U, R, K, S, A = UserRow.__table__, RefreshTokenRow.__table__, ApiKeyRow.__table__, SigningKeyRow.__table__, AuditEventRow.__table__
RV = RevocationRow.__table__
LIVE_USER = U.c.delete_time.is_(None)
AUDIT_COLUMNS = ("id", "subject_user_id", "actor", "action", "resource", "outcome", "client_address", "request_id",
                 "service", "create_time")
APPEND_AUDIT = (f"INSERT INTO auth.audit_events ({', '.join(AUDIT_COLUMNS)}) SELECT * FROM unnest($1::uuid[],"
                " $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
                " $10::timestamptz[]) ON CONFLICT (id) DO NOTHING")
# GetUser is the hottest read (every app's GET /v1/users/me): fixed SQL text, prepared per connection.
GET_USER = ("SELECT id, email, display_name, birth_date, sex, time_zone, create_time, update_time"
            " FROM auth.users WHERE id = $1 AND delete_time IS NULL")
# A transaction may commit after one that took a larger sequence: reads after a sequence also
# return what was stored this recently, and readers drop what they already have.
LATE_COMMIT = dt.timedelta(seconds=30)


def _revocation(row) -> Revocation:
    return Revocation(row.sequence, Kind(row.kind), str(row.user_id), str(row.subject) if row.subject else "",
                      row.create_time)


async def _revoke(conn, kind: Kind, user_id: uuid.UUID, subjects: list[uuid.UUID | None]) -> list[Revocation]:
    """Stores revocations in the caller's transaction and notifies listeners, who hear of them when
    it commits (PostgreSQL delivers NOTIFY on commit, and never for a rolled-back transaction)."""
    if not subjects:
        return []
    rows = (await conn.execute(insert(RV).values([dict(kind=kind.value, user_id=user_id, subject=s) for s in subjects])
                               .returning(RV))).all()
    done = [_revocation(r) for r in rows]
    for r in done:
        await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": PG_CHANNEL, "payload": r.to_json()})
    return done


class SqlAuthRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reads = one_statement_reads(engine)  # every `connect()` below runs one statement

    async def create_user(self, user: NewUser, password_hash: str, now: dt.datetime) -> User:
        values = dict(id=uuid7(), email=user.email, password_hash=password_hash, display_name=user.display_name,
                      birth_date=user.birth_date, sex=int(user.sex), time_zone=user.time_zone,
                      create_time=now, update_time=now)
        try:
            async with self._engine.begin() as conn:
                row = (await conn.execute(insert(U).values(**values).returning(U))).one()
        except IntegrityError:
            raise AlreadyExists("an account with this email already exists", "EMAIL_TAKEN") from None
        return _user(row._mapping)

    async def get_user(self, user_id: uuid.UUID) -> User | None:
        async with raw_connection(self._engine) as conn:
            row = await conn.fetchrow(GET_USER, user_id)
        return _user(row) if row else None

    async def get_login(self, email_key: str) -> tuple[User, str] | None:
        async with self._reads.connect() as conn:
            row = (await conn.execute(select(U).where(func.lower(U.c.email) == email_key, LIVE_USER))).one_or_none()
        return (_user(row._mapping), row.password_hash) if row else None

    async def update_user(self, user_id: uuid.UUID, changes: dict, now: dt.datetime) -> User | None:
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                update(U).where(U.c.id == user_id, LIVE_USER).values(**changes, update_time=now).returning(U)
            )).one_or_none()
        return _user(row._mapping) if row else None

    async def delete_user(self, user_id: uuid.UUID, now: dt.datetime) -> list[Revocation] | None:
        """Erases the account in one transaction with its revocation: sessions, API keys and the user
        row go; the revocation (every service refuses the user at once, then erases their data) and
        the audit log, which holds no values, stay. None when there was no such live user."""
        async with self._engine.begin() as conn:
            found = (await conn.execute(select(U.c.id).where(U.c.id == user_id, LIVE_USER).with_for_update())
                     ).one_or_none()
            if found is None:
                return None
            revoked = await _revoke(conn, Kind.USER, user_id, [None])
            await conn.execute(R.delete().where(R.c.user_id == user_id))
            await conn.execute(K.delete().where(K.c.user_id == user_id))
            await conn.execute(U.delete().where(U.c.id == user_id))
        return revoked

    async def change_password(self, user_id: uuid.UUID, password_hash: str, now: dt.datetime) -> list[Revocation]:
        async with self._engine.begin() as conn:
            await conn.execute(update(U).where(U.c.id == user_id, LIVE_USER)
                               .values(password_hash=password_hash, update_time=now))
            return await self._revoke_sessions(conn, user_id, now)

    async def revoke_sessions(self, user_id: uuid.UUID, now: dt.datetime) -> list[Revocation]:
        async with self._engine.begin() as conn:
            return await self._revoke_sessions(conn, user_id, now)

    @staticmethod
    async def _revoke_sessions(conn, user_id: uuid.UUID, now: dt.datetime) -> list[Revocation]:
        # Every live session has an unspent, unrevoked token (a refresh adds one to its family).
        families = (await conn.execute(
            update(R).where(R.c.user_id == user_id, R.c.revoked_time.is_(None)).values(revoked_time=now)
            .returning(R.c.family_id))).scalars().all()
        return await _revoke(conn, Kind.SESSION, user_id, sorted(set(families)))

    async def list_revocations(self, after: int, since: dt.datetime | None, kind: Kind | None,
                               limit: int) -> list[Revocation]:
        query = select(RV).where((RV.c.sequence > after) | (RV.c.create_time > func.now() - LATE_COMMIT))
        if since is not None:
            query = query.where(RV.c.create_time >= since)
        if kind is not None:
            query = query.where(RV.c.kind == kind.value)
        async with self._reads.connect() as conn:
            rows = (await conn.execute(query.order_by(RV.c.sequence).limit(limit))).all()
        return [_revocation(r) for r in rows]

    async def add_refresh_token(self, token: RefreshToken, digest: bytes, now: dt.datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(R).values(
                id=token.id, user_id=token.user_id, family_id=token.family_id, digest=digest,
                create_time=now, expire_time=token.expire_time))

    async def spend_refresh_token(self, digest: bytes, now: dt.datetime) -> RefreshToken | None:
        """Marks a live token used, atomically: of two concurrent refreshes only one wins."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                update(R).where(R.c.digest == digest, R.c.used_time.is_(None), R.c.revoked_time.is_(None),
                                R.c.expire_time > now)
                .values(used_time=now).returning(R)
            )).one_or_none()
        return _refresh(row) if row else None

    async def find_refresh_token(self, digest: bytes) -> RefreshToken | None:
        async with self._reads.connect() as conn:
            row = (await conn.execute(select(R).where(R.c.digest == digest))).one_or_none()
        return _refresh(row) if row else None

    async def revoke_family(self, family_id: uuid.UUID, now: dt.datetime) -> list[Revocation]:
        async with self._engine.begin() as conn:
            users = (await conn.execute(
                update(R).where(R.c.family_id == family_id, R.c.revoked_time.is_(None)).values(revoked_time=now)
                .returning(R.c.user_id))).scalars().all()
            return await _revoke(conn, Kind.SESSION, users[0], [family_id]) if users else []

    async def add_api_key(self, key: ApiKey, digest: bytes, request_id: str | None) -> ApiKey:
        """Inserts the key; with a request_id already used by this user, returns that first key."""
        async with self._engine.begin() as conn:
            if request_id:
                existing = (await conn.execute(
                    select(K).where(K.c.user_id == key.user_id, K.c.request_id == request_id))).one_or_none()
                if existing:
                    return _api_key(existing)
            row = (await conn.execute(insert(K).values(
                id=key.id, user_id=key.user_id, display_name=key.display_name, digest=digest,
                secret_prefix=key.secret_prefix, request_id=request_id, create_time=key.create_time,
                device=key.device,
            ).returning(K))).one()
        return _api_key(row)

    async def count_live_api_keys(self, user_id: uuid.UUID) -> int:
        async with self._reads.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(K).where(
                K.c.user_id == user_id, K.c.revoke_time.is_(None)))).scalar_one()

    async def list_api_keys(self, user_id: uuid.UUID, limit: int, after: uuid.UUID | None) -> list[ApiKey]:
        query = select(K).where(K.c.user_id == user_id, K.c.revoke_time.is_(None))
        if after is not None:
            query = query.where(K.c.id < after)
        async with self._reads.connect() as conn:
            rows = (await conn.execute(query.order_by(K.c.id.desc()).limit(limit))).all()
        return [_api_key(r) for r in rows]

    async def revoke_api_key(self, user_id: uuid.UUID, key_id: uuid.UUID, now: dt.datetime) -> list[Revocation] | None:
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                update(K).where(K.c.id == key_id, K.c.user_id == user_id, K.c.revoke_time.is_(None))
                .values(revoke_time=now).returning(K.c.id))).one_or_none()
            return await _revoke(conn, Kind.API_KEY, user_id, [key_id]) if row else None

    async def revoke_device_api_keys(self, user_id: uuid.UUID, device: str, now: dt.datetime) -> list[Revocation]:
        """Revokes the user's live keys bound to `device`, a revocation each."""
        async with self._engine.begin() as conn:
            ids = (await conn.execute(
                update(K).where(K.c.user_id == user_id, K.c.device == device, K.c.revoke_time.is_(None))
                .values(revoke_time=now).returning(K.c.id))).scalars().all()
            return await _revoke(conn, Kind.API_KEY, user_id, list(ids))

    async def find_api_key(self, digest: bytes, now: dt.datetime) -> ApiKey | None:
        """The live key with this digest, its last-use time refreshed at most once a minute."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                select(K).join(U, U.c.id == K.c.user_id)
                .where(K.c.digest == digest, K.c.revoke_time.is_(None), LIVE_USER))).one_or_none()
            if row is None:
                return None
            if row.last_use_time is None or now - row.last_use_time > dt.timedelta(minutes=1):
                await conn.execute(update(K).where(K.c.id == row.id).values(last_use_time=now))
        return _api_key(row)

    async def signing_keys(self) -> list[tuple[str, bytes, dict, dt.datetime]]:
        async with self._reads.connect() as conn:
            rows = (await conn.execute(select(S).where(S.c.retire_time.is_(None)).order_by(S.c.create_time))).all()
        return [(r.kid, r.private_key_encrypted, r.public_jwk, r.create_time) for r in rows]

    async def add_signing_key_if_none(self, kid: str, sealed: bytes, jwk: dict, now: dt.datetime) -> None:
        # The transaction-scoped lock makes N replicas starting together agree on one first key.
        async with self._engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('healthmesh.auth.signing_keys'))"))
            live = (await conn.execute(select(func.count()).select_from(S).where(S.c.retire_time.is_(None)))).scalar_one()
            if live == 0:
                await conn.execute(insert(S).values(kid=kid, private_key_encrypted=sealed, public_jwk=jwk, create_time=now))

    async def append_audit(self, records: list[AuditRecord]) -> int:
        """Inserts the records, each id once (a batch sent again adds nothing); returns how many the
        database refused. One refused record costs the others nothing: the batch is then inserted a
        record at a time. A database that cannot be reached raises, so the sender tries again."""
        if not records:
            return 0

        def user_id_or_none(subject: str) -> uuid.UUID | None:
            try:
                return uuid.UUID(subject) if subject else None
            except ValueError:
                return None  # the service keeps such subjects out; a bad one must not fail the batch

        rows = [dict(id=r.id, subject_user_id=user_id_or_none(r.subject_user_id), actor=r.actor, action=r.action,
                     resource=r.resource, outcome=r.outcome, client_address=r.client_address,
                     request_id=r.request_id, service=r.service, create_time=r.create_time) for r in records]

        def refused_values(err: BaseException) -> str | None:
            """What the database said of the values (a record's fault, not the connection's), if that;
            `err` is the driver's error."""
            sqlstate = getattr(err, "sqlstate", None) or ""
            if sqlstate[:2] in ("22", "23", "54"):  # data exception, integrity, program limit (a row too big)
                return sqlstate
            if isinstance(err, ValueError):  # the driver could not encode a value
                return type(err).__name__
            return type(err.__cause__).__name__ if isinstance(err.__cause__, ValueError) else None

        # The whole batch in one statement of arrays (every call is audited: this runs for all of them).
        try:
            async with raw_connection(self._engine) as conn:
                await conn.execute(APPEND_AUDIT, *([row[c] for row in rows] for c in AUDIT_COLUMNS))
            return 0
        except (asyncpg.PostgresError, asyncpg.DataError) as exc:
            if refused_values(exc) is None:
                raise
        # ON CONFLICT DO NOTHING is an insert: the append-only trigger fires on UPDATE, DELETE, TRUNCATE.
        once = pg_insert(A).on_conflict_do_nothing(index_elements=[A.c.id])
        refused: list[tuple[uuid.UUID, str]] = []
        async with self._engine.begin() as conn:
            for row in rows:
                try:
                    async with conn.begin_nested():
                        await conn.execute(once, [row])
                except DBAPIError as exc:
                    if (reason := refused_values(exc.orig)) is None:
                        raise
                    refused.append((row["id"], reason))
        if refused:  # ids and error codes only: the values may be what made them fail, and hold user ids
            log.error("audit records refused by the database, left out: %d (%s)", len(refused),
                      ", ".join(f"{i} {code}" for i, code in refused[:10]))
        return len(refused)

    async def list_audit(self, user_id: uuid.UUID, limit: int,
                         after: uuid.UUID | None) -> list[tuple[uuid.UUID, AuditRecord]]:
        query = select(A).where(A.c.subject_user_id == user_id)
        if after is not None:
            query = query.where(A.c.id < after)
        async with self._reads.connect() as conn:
            rows = (await conn.execute(query.order_by(A.c.id.desc()).limit(limit))).all()
        return [(r.id, AuditRecord(str(r.subject_user_id), r.actor, r.action, r.resource, r.outcome,
                                   r.client_address, r.request_id, r.service, r.create_time)) for r in rows]
