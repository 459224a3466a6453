-- First responses of creates that carried a request_id, replayed to retries for a day.
CREATE TABLE tracking.request_results (
    user_id uuid NOT NULL,
    method text NOT NULL,
    request_id text NOT NULL,
    response bytea NOT NULL,
    create_time timestamptz NOT NULL,
    CONSTRAINT pk_request_results PRIMARY KEY (user_id, method, request_id)
);
CREATE INDEX ix_request_results_create_time ON tracking.request_results (create_time);
