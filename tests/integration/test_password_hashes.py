"""Auth as built by its app stores password hashes with the Argon2id parameters of its settings."""

from __future__ import annotations

import asyncpg
from healthmesh.auth.v1 import auth_service_pb2_grpc

from tests.integration.test_auth_service import register_and_login
from tests.unit.test_argon2_parameters import parse


async def test_a_registered_password_is_stored_with_the_configured_parameters(auth_harness, migrated_dsn):
    user, _ = await register_and_login(auth_service_pb2_grpc.AuthServiceStub(auth_harness.channel))
    conn = await asyncpg.connect(migrated_dsn)
    try:
        phc = await conn.fetchval("SELECT password_hash FROM auth.users WHERE email = $1", user.email)
    finally:
        await conn.close()
    assert parse(phc)[0] == (8192, 1, 1)  # what tests/integration/conftest.py configures, for speed
