-- What each committed write changed, for Insight (services/tracking/outbox.py writes a row in the
-- write's own transaction; services/common/outbox.py relays the rows to Insight's
-- NotifySamplesWritten and deletes them once Insight has answered OK). One row per write per user.
-- seq is taken under a per-user lock held to the commit, so a user's rows are in commit order.
CREATE TABLE tracking.outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    event_id uuid NOT NULL DEFAULT gen_random_uuid(),  -- SamplesWritten.event_id: Insight takes an id once
    user_id uuid NOT NULL,
    sample_types text[] NOT NULL,  -- catalog keys, `sleep_asleep`, `activity`
    start_time timestamptz NOT NULL,  -- the earliest start of what changed
    end_time timestamptz NOT NULL,  -- the latest end of what changed
    commit_time timestamptz NOT NULL DEFAULT clock_timestamp(),  -- the write's last statement, just before its commit
    reject_time timestamptz,  -- Insight refused the row itself (INVALID_ARGUMENT): kept here, no longer sent
    CONSTRAINT pk_outbox PRIMARY KEY (seq)
);
-- Erasure deletes a user's rows (a long Insight outage leaves many).
CREATE INDEX ix_outbox_user_id ON tracking.outbox (user_id);
