"""Password hashes carry the configured Argon2id parameters: by default OWASP's (19 MiB, t=2, p=1)."""

from __future__ import annotations

import base64
import re

from services.auth.secrets import Passwords
from services.common.config import Settings

PHC = re.compile(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")


def parse(phc: str) -> tuple[tuple[int, int, int], bytes, bytes]:
    found = PHC.fullmatch(phc)
    assert found, phc
    salt, digest = (base64.b64decode(part + "=" * (-len(part) % 4)) for part in (found[4], found[5]))
    return (int(found[1]), int(found[2]), int(found[3])), salt, digest


def passwords(settings: Settings) -> Passwords:
    return Passwords(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism, 1)


async def test_the_default_settings_hash_with_owasp_argon2id_parameters():
    defaults = {name: Settings.model_fields[name].default
                for name in ("argon2_memory_kib", "argon2_time_cost", "argon2_parallelism")}
    settings = Settings(**defaults)
    hasher = passwords(settings)
    try:
        phc = await hasher.hash("correct horse battery")
        params, salt, digest = parse(phc)
        assert params == (19456, 2, 1)  # m in KiB: 19 MiB
        assert len(salt) == 16 and len(digest) == 32
        assert await hasher.verify(phc, "correct horse battery")
        assert not await hasher.verify(phc, "correct horse battery!")
    finally:
        hasher.close()


async def test_other_settings_reach_the_hash():
    hasher = passwords(Settings(argon2_memory_kib=8192, argon2_time_cost=3, argon2_parallelism=2))
    try:
        assert parse(await hasher.hash("correct horse battery"))[0] == (8192, 3, 2)
    finally:
        hasher.close()
