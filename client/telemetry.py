"""The telemetry client the CLI's `simulate` uses: the SDK's (client/healthmesh_client/telemetry.py),
where it lives now, so apps and the CLI resume a broken stream the same way."""

from client.healthmesh_client.telemetry import (  # noqa: F401  (re-exported for the CLI, bench and tests)
    HEARTBEAT_SECONDS,
    MAX_UNEXPECTED,
    RETRYABLE,
    Backoff,
    BufferFull,
    TelemetryClient,
    TelemetryError,
    TokenSource,
    Totals,
    retry_delay,
)
