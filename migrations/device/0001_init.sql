-- Device's registry (services/device/repository.py). A device is deleted for real: its
-- credentials and health go with it (ON DELETE CASCADE), its samples stay in Tracking.
CREATE TABLE device.devices (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    display_name text NOT NULL,
    manufacturer text NOT NULL DEFAULT '',
    model text NOT NULL DEFAULT '',
    device_type smallint NOT NULL DEFAULT 0,
    hardware_id text NOT NULL DEFAULT '',  -- '' when not known; unique per user otherwise
    firmware_version text NOT NULL DEFAULT '',
    capabilities text[] NOT NULL DEFAULT '{}',
    sample_source text NOT NULL,
    integration text NOT NULL DEFAULT 'push',
    auto_sync boolean NOT NULL DEFAULT false,
    sync_interval_seconds integer NOT NULL DEFAULT 3600,
    sync_sample_types text[] NOT NULL DEFAULT '{}',
    backfill_days integer NOT NULL DEFAULT 30,
    state smallint NOT NULL,
    last_sync_time timestamptz,
    last_seen_time timestamptz,
    battery_percent smallint,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_devices PRIMARY KEY (user_id, id)
);
CREATE UNIQUE INDEX uq_devices_user_id_hardware_id ON device.devices (user_id, hardware_id)
    WHERE hardware_id <> '';
-- ListDevices' stale filter reads the user's devices by when they were last seen.
CREATE INDEX ix_devices_user_id_last_seen_time ON device.devices (user_id, last_seen_time);

-- The key ring: data keys, each wrapped (AES-256-GCM) by HEALTHMESH_KEY_ENCRYPTION_KEY with its
-- id as associated data. The newest key seals new credentials; every key keeps opening what it
-- sealed, so rotation adds a key and nothing has to be re-encrypted at once.
CREATE TABLE device.data_keys (
    id uuid NOT NULL,
    wrapped bytea NOT NULL,
    create_time timestamptz NOT NULL,
    CONSTRAINT pk_data_keys PRIMARY KEY (id)
);

-- A device's vendor credentials, sealed by a data key (the device's name is the associated
-- data, so sealed credentials copied to another device do not open).
CREATE TABLE device.device_credentials (
    user_id uuid NOT NULL,
    device_id uuid NOT NULL,
    key_id uuid NOT NULL,
    sealed bytea NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_device_credentials PRIMARY KEY (user_id, device_id),
    CONSTRAINT fk_device_credentials_user_id_devices FOREIGN KEY (user_id, device_id)
        REFERENCES device.devices (user_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_device_credentials_key_id_data_keys FOREIGN KEY (key_id) REFERENCES device.data_keys (id)
);

-- The latest health report of each device; a new report replaces it.
CREATE TABLE device.health_reports (
    user_id uuid NOT NULL,
    device_id uuid NOT NULL,
    battery_percent smallint,
    charging boolean,
    signal_strength_dbm integer,
    firmware_version text NOT NULL DEFAULT '',
    storage_used_percent double precision,
    uptime_seconds integer,
    errors jsonb NOT NULL DEFAULT '[]',  -- [{"code", "message", "occur_time"}], newest first, at most 50
    report_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_health_reports PRIMARY KEY (user_id, device_id),
    CONSTRAINT fk_health_reports_user_id_devices FOREIGN KEY (user_id, device_id)
        REFERENCES device.devices (user_id, id) ON DELETE CASCADE
);

-- A deleted device's scoped API keys, to be revoked by Auth: written with the delete, removed
-- once Auth has revoked them, so Auth being down when a device is deleted delays the revocation
-- without losing it.
CREATE TABLE device.key_revocations (
    user_id uuid NOT NULL,
    device_id uuid NOT NULL,
    create_time timestamptz NOT NULL,
    CONSTRAINT pk_key_revocations PRIMARY KEY (user_id, device_id)
);

-- First responses of creates and uploads that carried a request_id, replayed to retries for a
-- day (services/common/idempotency.py).
CREATE TABLE device.request_results (
    user_id uuid NOT NULL,
    method text NOT NULL,
    request_id text NOT NULL,
    response bytea,
    claim_id uuid,
    create_time timestamptz NOT NULL,
    CONSTRAINT pk_request_results PRIMARY KEY (user_id, method, request_id)
);
CREATE INDEX ix_request_results_create_time ON device.request_results (create_time);

-- Audit records on their way to Auth's log (services/common/audit_outbox.py), as Tracking's.
CREATE TABLE device.audit_outbox (
    id uuid NOT NULL,
    subject_user_id text NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    resource text NOT NULL,
    outcome text NOT NULL,
    client_address text NOT NULL,
    request_id text NOT NULL,
    service text NOT NULL,
    create_time timestamptz NOT NULL,
    reject_time timestamptz,
    CONSTRAINT pk_audit_outbox PRIMARY KEY (id)
);

-- Erasure of deleted users (services/common/erasure.py), as Tracking's.
CREATE TABLE device.erasures (
    user_id uuid PRIMARY KEY,
    sequence bigint NOT NULL,
    rows bigint NOT NULL DEFAULT 0,
    erase_time timestamptz NOT NULL,
    sweep_time timestamptz
);
CREATE INDEX ix_erasures_erase_time ON device.erasures (erase_time) WHERE sweep_time IS NULL;

CREATE TABLE device.consumer_offsets (
    consumer text PRIMARY KEY,
    sequence bigint NOT NULL
);
