"""Typed settings, read once from the environment (prefix HEALTHMESH_) and passed in.

Nothing reads os.environ after start-up: a service builds one Settings and hands it to whatever
needs it, so tests construct Settings directly with the values they want.
"""

from __future__ import annotations

import base64
import datetime as dt
from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_NAMES = ("auth", "tracking", "device", "ingest", "insight")

DEFAULT_PORTS = {"auth": 50051, "tracking": 50052, "device": 50053, "ingest": 50054, "insight": 50055}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEALTHMESH_", frozen=True, extra="ignore")

    # Storage. database_url is any PostgreSQL DSN (postgresql://...); redis_url may be empty,
    # in which case caches and rate limits live in-process.
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    redis_url: str = Field(default="", validation_alias="REDIS_URL")
    db_pool_size: int = 10  # connections a process keeps; no overflow beyond (services/common/db.py)

    # Where each service listens and where its peers are (host:port).
    listen_host: str = "127.0.0.1"
    auth_addr: str = f"127.0.0.1:{DEFAULT_PORTS['auth']}"
    tracking_addr: str = f"127.0.0.1:{DEFAULT_PORTS['tracking']}"
    device_addr: str = f"127.0.0.1:{DEFAULT_PORTS['device']}"
    ingest_addr: str = f"127.0.0.1:{DEFAULT_PORTS['ingest']}"
    insight_addr: str = f"127.0.0.1:{DEFAULT_PORTS['insight']}"

    # Secrets. The service token authenticates services to each other; the key-encryption key
    # (32 bytes, base64) encrypts signing keys at rest; the pepper keys API-key digests.
    service_token: str = ""
    key_encryption_key: str = ""
    api_key_pepper: str = ""
    # Page tokens are HMAC-signed: "kid1:base64key,kid2:base64key", the first signs, all verify
    # (rotation). Empty: one key derived from service_token, the same in every service.
    page_token_keys: str = ""

    # Tokens.
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    token_issuer: str = "healthmesh"
    api_key_cache_seconds: float = 10.0
    jwks_cache_seconds: float = 300.0
    # Revocations reach services by PostgreSQL NOTIFY and Redis at once; with both listeners down a
    # service polls Auth every revocation_poll_seconds, and a call finding its last read older than
    # revocation_staleness_seconds reads again before it is answered (README: worst case).
    revocation_poll_seconds: float = 2.0
    revocation_staleness_seconds: float = 1.0

    # Throttles, per window (OWASP's authentication cheat sheet). Failed logins: a hard limit per
    # (account, client address) and per client address; per account from anywhere, after
    # login_failures_per_account failures each answer waits 2^(n - that) s, at most
    # login_delay_max_seconds, and only login_failures_per_account_max refuses outright, so a
    # guesser cannot lock the owner out. Registrations: a hard limit per client address.
    login_failures_per_account_address: int = 5
    login_failures_per_address: int = 50
    login_failures_per_account: int = 5
    login_failures_per_account_max: int = 100
    login_delay_max_seconds: int = 16
    registrations_per_address: int = 20
    throttle_window_seconds: int = 900
    # Who may tell a service the client's address (x-forwarded-for): the peers it accepts it from,
    # as addresses or networks, comma-separated. Envoy's; any other caller is taken at its peer address.
    trusted_proxies: str = "127.0.0.1,::1"

    # Password hashing: Argon2id with OWASP parameters, at most this many hashes at once.
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    password_hash_concurrency: int = 2

    # Uploads at least this large are processed in the background (the answer is PENDING; poll it).
    ingest_background_bytes: int = 16 * 1024 * 1024

    # Device's write quotas: samples per window, per device and per user over all their devices;
    # beyond them a write is RESOURCE_EXHAUSTED with RetryInfo.
    device_quota_per_device: int = 1_200_000
    device_quota_per_user: int = 12_000_000
    device_quota_window_seconds: int = 60
    # The Oura API v2, for devices whose integration is `oura` (tests point it at a local server);
    # the client id and secret are healthmesh's own, for renewing a user's access token.
    oura_api_url: str = "https://api.ouraring.com"
    oura_client_id: str = ""
    oura_client_secret: str = ""

    # Outbox relays (services/common/outbox.py) wake on NOTIFY at once; this poll is their fallback
    # for a notification missed while reconnecting, and the standby's look at the relay's lock.
    outbox_poll_seconds: float = 1.0

    # Shutdown: how long open streams get to finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0
    audit_flush_seconds: float = 0.5

    # Prometheus text at http://<metrics_host>:<service port + metrics_port_offset>/metrics, per
    # process (a replica's port is its own service port + the offset); 0 turns it off.
    metrics_port_offset: int = 1000
    metrics_host: str = ""  # empty: listen_host

    # Where spans go when no OTLP endpoint is set (services/common/telemetry): <service>-<pid>.jsonl
    # files there; empty, with no endpoint either: tracing off. The runner sets <state>/traces.
    traces_dir: str = ""

    log_level: str = "INFO"
    # A successful read's access line is DEBUG; one in this many is logged at INFO (0: none), for
    # a sample of the traffic without a line per call. logs.setup(read_sample_every=...) takes it.
    access_log_read_sample_every: int = 0

    @field_validator("database_url")
    @classmethod
    def _plain_dsn(cls, value: str) -> str:
        # Accept postgres://, postgresql:// and postgresql+asyncpg://; keep the plain form for asyncpg.
        for prefix in ("postgres://", "postgresql+asyncpg://"):
            if value.startswith(prefix):
                return "postgresql://" + value[len(prefix):]
        return value

    @property
    def revocation_horizon(self) -> dt.timedelta:
        """How long a revocation matters in memory: as long as a credential it names could still
        be accepted without asking Auth (an access token's life, an API key's cache), plus skew."""
        return dt.timedelta(seconds=max(self.access_token_ttl_seconds, self.api_key_cache_seconds) + 60)

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+asyncpg://" + self.database_url.removeprefix("postgresql://")

    def addr(self, service: str) -> str:
        return getattr(self, f"{service}_addr")

    def port(self, service: str) -> int:
        return int(self.addr(service).rsplit(":", 1)[1])

    def metrics_addr(self, service: str) -> tuple[str, int] | None:
        """Where this process of `service` serves /metrics; None when metrics are off."""
        if not self.metrics_port_offset:
            return None
        return self.metrics_host or self.listen_host, self.port(service) + self.metrics_port_offset

    @cached_property
    def kek_bytes(self) -> bytes:
        raw = base64.b64decode(self.key_encryption_key) if self.key_encryption_key else b""
        if len(raw) != 32:
            raise ValueError("HEALTHMESH_KEY_ENCRYPTION_KEY must be 32 bytes, base64-encoded")
        return raw

    @cached_property
    def pepper_bytes(self) -> bytes:
        if len(self.api_key_pepper) < 16:
            raise ValueError("HEALTHMESH_API_KEY_PEPPER must be at least 16 characters")
        return self.api_key_pepper.encode()
