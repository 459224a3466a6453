-- Insight's own data: alert rules, the alerts they raised, and the insights kept from the
-- analyses. Everything else Insight knows it reads from Tracking and Auth through their RPCs.

-- A user's alert rules: the built-in ones (id 'builtin-...', written for a user on first use,
-- services/insight/alerts/built_in.py) and their own (a UUIDv7 id).
CREATE TABLE insight.alert_rules (
    user_id uuid NOT NULL,
    id text NOT NULL,
    built_in boolean NOT NULL,
    display_name text NOT NULL,
    sample_type text NOT NULL,
    condition text NOT NULL,
    threshold double precision NOT NULL,
    unit text NOT NULL DEFAULT '',
    use_value2 boolean NOT NULL DEFAULT false,
    unless_active boolean NOT NULL DEFAULT false,
    duration_seconds integer NOT NULL DEFAULT 0,
    severity text NOT NULL,
    disabled boolean NOT NULL DEFAULT false,
    last_trigger_time timestamptz,
    -- Alerts created before this belong to the rule as it was: a change re-arms the rule.
    arm_time timestamptz NOT NULL,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_alert_rules PRIMARY KEY (user_id, id)
);

-- Alerts, one per rule per episode; ids are UUIDv7, so (user_id, id) is also their order.
-- last_time is the episode's last breaching sample seen so far: a later sample of the same run
-- extends it instead of raising a second alert.
CREATE TABLE insight.alerts (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    alert_rule_id text NOT NULL,  -- kept when the rule is deleted
    sample_type text NOT NULL,
    condition text NOT NULL,
    value double precision NOT NULL,
    threshold double precision NOT NULL,
    unit text NOT NULL,
    start_time timestamptz NOT NULL,
    trigger_time timestamptz NOT NULL,
    last_time timestamptz NOT NULL,
    severity text NOT NULL,
    message text NOT NULL,
    create_time timestamptz NOT NULL,
    CONSTRAINT pk_alerts PRIMARY KEY (user_id, id)
);
CREATE INDEX ix_alerts_user_id_alert_rule_id_last_time ON insight.alerts (user_id, alert_rule_id, last_time);

-- Tracking's outbox events already evaluated (NotifySamplesWritten is idempotent by event_id);
-- kept a week, far longer than any redelivery.
CREATE TABLE insight.processed_events (
    event_id text NOT NULL,
    user_id uuid NOT NULL,
    process_time timestamptz NOT NULL,
    CONSTRAINT pk_processed_events PRIMARY KEY (event_id)
);
CREATE INDEX ix_processed_events_process_time ON insight.processed_events (process_time);
CREATE INDEX ix_processed_events_user_id ON insight.processed_events (user_id);

-- Findings kept for the user to read. A finding stands while its rule keeps applying: at most
-- one standing insight per user, kind and rule, so the same finding is not stored twice.
CREATE TABLE insight.insights (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    kind text NOT NULL,
    rule text NOT NULL,
    category text NOT NULL,
    severity text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    sample_type text NOT NULL DEFAULT '',
    start_date date NOT NULL,
    end_date date NOT NULL,
    standing boolean NOT NULL DEFAULT true,
    read_time timestamptz,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_insights PRIMARY KEY (user_id, id)
);
CREATE UNIQUE INDEX uq_insights_user_id_kind_rule ON insight.insights (user_id, kind, rule) WHERE standing;

-- First responses of creates that carried a request_id (services/common/idempotency.py).
CREATE TABLE insight.request_results (
    user_id uuid NOT NULL,
    method text NOT NULL,
    request_id text NOT NULL,
    response bytea,
    claim_id uuid,
    create_time timestamptz NOT NULL,
    CONSTRAINT pk_request_results PRIMARY KEY (user_id, method, request_id)
);
CREATE INDEX ix_request_results_create_time ON insight.request_results (create_time);

-- Audit records on their way to Auth's log (services/common/audit_outbox.py), as Tracking's.
CREATE TABLE insight.audit_outbox (
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
CREATE TABLE insight.erasures (
    user_id uuid PRIMARY KEY,
    sequence bigint NOT NULL,
    rows bigint NOT NULL DEFAULT 0,
    erase_time timestamptz NOT NULL,
    sweep_time timestamptz
);
CREATE INDEX ix_erasures_erase_time ON insight.erasures (erase_time) WHERE sweep_time IS NULL;

CREATE TABLE insight.consumer_offsets (
    consumer text PRIMARY KEY,
    sequence bigint NOT NULL
);
