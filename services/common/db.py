"""Database access: one async SQLAlchemy engine per process, and per-service SQL migrations.

Migrations are plain SQL files in migrations/<service>/NNNN_name.sql, applied in order, each in
its own transaction, under a PostgreSQL advisory lock so N replicas can start at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from services.common import metrics
from services.common.config import Settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# Constraint names that say what they are; migrations use the same scheme.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def metadata_for(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def create_engine(settings: Settings, pool_name: str = "main") -> AsyncEngine:
    """The process's engine; its connections in use are the metric db_client_connection_count
    under `pool_name` (the service's name). No overflow: an overflow connection is closed when it
    is returned, so a load above the pool's size opened a PostgreSQL connection per request (a
    backend forked each time: most of Auth's CPU at 32 connections). A request beyond the pool
    waits for a connection: a read holds one for a fraction of a millisecond. (Kept connections
    count against PostgreSQL's max_connections, 100 by default: seven processes of 20 each
    exhausted it under load, and readiness checks then failed.)"""
    if not settings.database_url:
        raise ValueError("DATABASE_URL is not set")
    engine = create_async_engine(settings.sqlalchemy_url, pool_size=settings.db_pool_size,
                                 max_overflow=0)
    metrics.watch_pool(engine, pool_name)
    return engine


def one_statement_reads(engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads of one statement: AUTOCOMMIT, so no BEGIN and ROLLBACK go around each
    (two round trips and about a third of the read's CPU, measured in one process). A read of
    several statements that must see one snapshot keeps a transaction."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@contextlib.asynccontextmanager
async def raw_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the engine's pool as asyncpg's own, for hot statements of fixed SQL text:
    asyncpg prepares each once per connection and keeps it, and no SQLAlchemy statement is built,
    compiled or looked up, nor a SQLAlchemy Connection made (a primary-key read: about 330 -> 70
    us of CPU, measured in one process). No transaction is begun: each statement commits alone,
    or the caller opens `conn.transaction()`.

    The connection goes back to the pool only as good as it came. It is closed instead when it
    failed other than by an error of its statement (lost, ended by the server), or when it is
    still in a transaction: a call cancelled mid-write, or while its BEGIN was on the wire, which
    leaves asyncpg's transaction registered (`_top_xact`) though it does not report one yet; the
    next transaction() on it would be a mere SAVEPOINT, its "commit" a release inside a
    transaction nobody commits, and its rows later lost. SQLAlchemy cannot roll back what it did
    not begin; closing ends the transaction, to the end even if this task is cancelled."""
    fairy = await engine.raw_connection()
    conn: asyncpg.Connection = fairy.driver_connection
    failed = False
    try:
        yield conn
    except BaseException as exc:
        failed = not _server_answered(exc)
        raise
    finally:
        if failed or conn.is_closed() or conn.is_in_transaction() or conn._top_xact is not None:
            await _run_to_completion(greenlet_spawn(fairy.invalidate))
        else:
            await greenlet_spawn(fairy.close)  # no I/O: SQLAlchemy began nothing on it to roll back


async def _run_to_completion(coroutine) -> None:
    """Awaits the coroutine in a task of its own that a cancellation of the caller does not stop
    (the cancellation is raised once it is done), as SQLAlchemy closes its own connections."""
    task = asyncio.ensure_future(coroutine)
    cancelled = None
    while True:
        try:
            await asyncio.shield(task)
            break
        except asyncio.CancelledError as exc:
            if task.done():
                raise
            cancelled = exc
    if cancelled is not None:
        raise cancelled


def _server_answered(exc: BaseException) -> bool:
    """An error of the statement, after which the connection is as good as before: not a lost
    connection (class 08) nor an administrator's or a shutdown's end of it (class 57), which
    arrive as the server's answer before the socket closes."""
    return isinstance(exc, asyncpg.PostgresError) and (exc.sqlstate or "")[:2] not in ("08", "57")


async def migrate(dsn: str, service: str, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Applies the service's pending migrations; returns the versions it applied."""
    files = sorted((migrations_dir / service).glob("*.sql"))
    conn = await asyncpg.connect(dsn)
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"healthmesh.migrate.{service}")
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{service}"')
            await conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{service}".schema_migrations ('
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{service}".schema_migrations')}
            for path in files:
                version = path.stem
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute(f'INSERT INTO "{service}".schema_migrations (version) VALUES ($1)', version)
                log.info("applied migration %s/%s", service, version)
                applied.append(version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"healthmesh.migrate.{service}")
    finally:
        await conn.close()
    return applied
