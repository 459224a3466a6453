-- Revocations: every credential that stopped working (a deleted user, an ended session, a revoked
-- API key), committed with the change itself. Other services hold the recent ones in memory and
-- refuse what they name on every call; a deleted user is also the erasure event each service
-- consumes, so rows are never removed. A NOTIFY on healthmesh_revocations, sent in the same
-- transaction, reaches listeners when it commits.

CREATE TABLE auth.revocations (
    sequence bigserial PRIMARY KEY,
    kind text NOT NULL,
    user_id uuid NOT NULL,
    subject uuid,
    create_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT ck_revocations_kind CHECK (kind IN ('user', 'session', 'api_key'))
);
CREATE INDEX ix_revocations_create_time ON auth.revocations (create_time);
CREATE INDEX ix_revocations_kind_sequence ON auth.revocations (kind, sequence);

-- Accounts deleted before erasure existed: revoke and erase them now, like any deletion since.
INSERT INTO auth.revocations (kind, user_id) SELECT 'user', id FROM auth.users WHERE delete_time IS NOT NULL;
DELETE FROM auth.refresh_tokens WHERE user_id IN (SELECT id FROM auth.users WHERE delete_time IS NOT NULL);
DELETE FROM auth.api_keys WHERE user_id IN (SELECT id FROM auth.users WHERE delete_time IS NOT NULL);
DELETE FROM auth.users WHERE delete_time IS NOT NULL;
