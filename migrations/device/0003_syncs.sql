-- Syncs (services/device/sync_repository.py): each is a job, claimed with FOR UPDATE SKIP LOCKED
-- under a lease (services/common/jobs.py), and its own history entry. No foreign key to
-- device.devices: a deleted device's syncs stay as history of what was brought in (its samples
-- stay too), and a user's erasure deletes them with the rest.
CREATE TABLE device.syncs (
    user_id uuid NOT NULL,
    device_id uuid NOT NULL,
    id uuid NOT NULL,
    state smallint NOT NULL,            -- Sync.State: 1 PENDING, 2 RUNNING, 3 SUCCEEDED, 4 FAILED, 5 CANCELLED
    trigger smallint NOT NULL,          -- Sync.Trigger: 1 MANUAL, 2 SCHEDULED, 3 RETRY
    data_start_time timestamptz NOT NULL,
    data_end_time timestamptz NOT NULL,
    accepted integer NOT NULL DEFAULT 0,
    duplicate integer NOT NULL DEFAULT 0,
    updated integer NOT NULL DEFAULT 0,
    rejected integer NOT NULL DEFAULT 0,
    errors jsonb NOT NULL DEFAULT '[]',  -- [{"index", "reason", "message"}], the first 100
    failure_reason text NOT NULL DEFAULT '',
    failure_message text NOT NULL DEFAULT '',
    retry_of uuid,
    request_id text,
    attempts integer NOT NULL DEFAULT 0, -- runs so far; a failed run that may pass later backs off
    run_after timestamptz NOT NULL,      -- not before: backoff between attempts, or (a push sync
                                         -- sent to its device) when to give up waiting for it
    deadline timestamptz NOT NULL,       -- a push sync with no stream open fails DEVICE_DISCONNECTED after it
    lease_owner text,
    lease_expire_time timestamptz,
    create_time timestamptz NOT NULL,
    start_time timestamptz,
    end_time timestamptz,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_syncs PRIMARY KEY (user_id, device_id, id)
);
-- One open sync per device: TriggerSync returns it, the scheduler does not add a second.
CREATE UNIQUE INDEX uq_syncs_user_id_device_id_open ON device.syncs (user_id, device_id) WHERE state IN (1, 2);
CREATE UNIQUE INDEX uq_syncs_user_id_request_id ON device.syncs (user_id, request_id) WHERE request_id IS NOT NULL;
-- The workers' claim reads the open syncs that are due.
CREATE INDEX ix_syncs_run_after ON device.syncs (run_after) WHERE state IN (1, 2);
-- The scheduler asks for each auto_sync device's latest sync.
CREATE INDEX ix_syncs_user_id_device_id_create_time ON device.syncs (user_id, device_id, create_time DESC);
