-- Erasure of deleted users (services/common/erasure.py): who was erased here and when (swept
-- again later for writes that were in flight), and how far the consumer has read Auth's events.
CREATE TABLE ingest.erasures (
    user_id uuid PRIMARY KEY,
    sequence bigint NOT NULL,
    rows bigint NOT NULL DEFAULT 0,
    erase_time timestamptz NOT NULL,
    sweep_time timestamptz
);
CREATE INDEX ix_erasures_erase_time ON ingest.erasures (erase_time) WHERE sweep_time IS NULL;

CREATE TABLE ingest.consumer_offsets (
    consumer text PRIMARY KEY,
    sequence bigint NOT NULL
);
