-- Audit records on their way to Auth's log (services/common/audit_outbox.py): written every
-- flush, deleted once Auth has acknowledged them, so none is lost while Auth is down or this
-- service restarts. Rows are few and short-lived; the id is the record's own, which Auth stores once.
CREATE TABLE tracking.audit_outbox (
    id uuid NOT NULL,
    subject_user_id text NOT NULL,  -- as recorded, checked by Auth: '' when no user is known
    actor text NOT NULL,
    action text NOT NULL,
    resource text NOT NULL,
    outcome text NOT NULL,
    client_address text NOT NULL,
    request_id text NOT NULL,
    service text NOT NULL,
    create_time timestamptz NOT NULL,
    reject_time timestamptz,  -- Auth refused the record itself: kept here, no longer sent
    CONSTRAINT pk_audit_outbox PRIMARY KEY (id)
);
