-- Ingest's schema: ingestions (state, counts, per-item errors) and the raw payload archive.

-- Raw payloads, content-addressed by the SHA-256 of their bytes, stored zlib-compressed in
-- chunks so a GB-sized export never sits in one value or in memory.
CREATE TABLE ingest.payloads (
    digest text PRIMARY KEY,
    size_bytes bigint NOT NULL,
    content_type text NOT NULL,
    chunk_count integer NOT NULL,
    create_time timestamptz NOT NULL
);

CREATE TABLE ingest.payload_chunks (
    digest text NOT NULL REFERENCES ingest.payloads (digest),
    seq integer NOT NULL,
    data bytea NOT NULL,
    CONSTRAINT pk_payload_chunks PRIMARY KEY (digest, seq)
);

CREATE TABLE ingest.ingestions (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    state smallint NOT NULL,
    format smallint NOT NULL,
    counts jsonb NOT NULL DEFAULT '{}',
    errors jsonb NOT NULL DEFAULT '[]',
    errors_truncated integer NOT NULL DEFAULT 0,
    payload_digest text REFERENCES ingest.payloads (digest),
    payload_size_bytes bigint NOT NULL DEFAULT 0,
    processed_bytes bigint NOT NULL DEFAULT 0,
    content_type text NOT NULL DEFAULT '',
    request_headers jsonb NOT NULL DEFAULT '{}',
    request_id text,
    api_key text NOT NULL DEFAULT '',
    parser_version text NOT NULL DEFAULT '',
    reprocess_count integer NOT NULL DEFAULT 0,
    data_start_time timestamptz,
    data_end_time timestamptz,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    complete_time timestamptz,
    CONSTRAINT pk_ingestions PRIMARY KEY (user_id, id),
    CONSTRAINT uq_ingestions_user_id_request_id UNIQUE (user_id, request_id)
);
-- Jobs to pick up after a restart (RUNNING or PENDING ingestions), oldest first.
CREATE INDEX ix_ingestions_state_create_time ON ingest.ingestions (state, create_time) WHERE state IN (1, 2);
