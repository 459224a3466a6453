-- Where each device's telemetry resumes (services/device/telemetry_repository.py). last_sequence
-- is the last batch Tracking acknowledged, written behind the acks: after a crash it may lag what
-- Tracking stored (the device resends, Tracking counts duplicates), never lead it. epoch grows with
-- every stream opened for the device, so the writes of an older stream, on any replica, miss.
CREATE TABLE device.telemetry_streams (
    user_id uuid NOT NULL,
    device_id uuid NOT NULL,
    last_sequence bigint NOT NULL DEFAULT 0,
    epoch bigint NOT NULL DEFAULT 1,
    open_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_telemetry_streams PRIMARY KEY (user_id, device_id)
);
