-- The W3C traceparent of the request that asked for the sync (none for a scheduled one, or with
-- tracing off): the worker's span links to it (services/common/telemetry).
ALTER TABLE device.syncs ADD COLUMN traceparent text;
