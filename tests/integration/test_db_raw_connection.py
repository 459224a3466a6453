"""services/common/db.raw_connection on a real PostgreSQL: the pool's connection used as asyncpg's
own for hot statements, and what happens when that connection is lost (a PostgreSQL restart or an
administrator's kill): the call fails, and the pool gives the next call a new connection instead
of the dead one."""

from __future__ import annotations

import asyncpg
import pytest

from services.common.db import create_engine, raw_connection
from tests.integration.conftest import make_settings


@pytest.fixture
async def engine(migrated_dsn):
    engine = create_engine(make_settings(migrated_dsn, db_pool_size=1))  # one connection: the dead one would come back
    yield engine
    await engine.dispose()


async def test_statements_commit_alone_on_the_pools_connection(engine, migrated_dsn):
    async with raw_connection(engine) as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        in_transaction = conn.is_in_transaction()
    assert in_transaction is False  # nothing begun: nothing left open for the next user
    async with raw_connection(engine) as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # the same pooled connection, kept


async def test_a_server_error_keeps_the_connection_and_a_lost_one_is_replaced(engine, migrated_dsn):
    async with raw_connection(engine) as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
    with pytest.raises(asyncpg.PostgresError):
        async with raw_connection(engine) as conn:
            await conn.fetchval("SELECT 1 / 0")
    async with raw_connection(engine) as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # the server answered: still good

    admin = await asyncpg.connect(migrated_dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    # (Which error says so depends on when the server's goodbye is read: any of these.)
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)):
        async with raw_connection(engine) as conn:
            await conn.fetchval("SELECT 1")
    async with raw_connection(engine) as conn:  # not the dead connection again
        assert await conn.fetchval("SELECT pg_backend_pid()") != pid
