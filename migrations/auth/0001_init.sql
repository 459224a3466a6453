-- Auth's schema: users, sessions (refresh tokens), API keys, signing keys and the audit log.

CREATE TABLE auth.users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    password_hash text NOT NULL,
    display_name text NOT NULL,
    birth_date date,
    sex smallint NOT NULL DEFAULT 0,
    time_zone text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    delete_time timestamptz
);
-- Unique regardless of letter case among live accounts: a deleted account frees its email.
CREATE UNIQUE INDEX uq_users_email_live ON auth.users (lower(email)) WHERE delete_time IS NULL;

CREATE TABLE auth.refresh_tokens (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id),
    family_id uuid NOT NULL,
    digest bytea NOT NULL,
    create_time timestamptz NOT NULL,
    expire_time timestamptz NOT NULL,
    used_time timestamptz,
    revoked_time timestamptz,
    CONSTRAINT uq_refresh_tokens_digest UNIQUE (digest)
);
CREATE INDEX ix_refresh_tokens_family_id ON auth.refresh_tokens (family_id);
CREATE INDEX ix_refresh_tokens_user_id ON auth.refresh_tokens (user_id);

CREATE TABLE auth.api_keys (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id),
    display_name text NOT NULL,
    digest bytea NOT NULL,
    secret_prefix text NOT NULL,
    request_id text,
    create_time timestamptz NOT NULL,
    last_use_time timestamptz,
    revoke_time timestamptz,
    CONSTRAINT uq_api_keys_digest UNIQUE (digest),
    CONSTRAINT uq_api_keys_user_id_request_id UNIQUE (user_id, request_id)
);
CREATE INDEX ix_api_keys_user_id_id ON auth.api_keys (user_id, id DESC) WHERE revoke_time IS NULL;

CREATE TABLE auth.signing_keys (
    kid text PRIMARY KEY,
    private_key_encrypted bytea NOT NULL,
    public_jwk jsonb NOT NULL,
    create_time timestamptz NOT NULL,
    retire_time timestamptz
);

CREATE TABLE auth.audit_events (
    id uuid PRIMARY KEY,
    subject_user_id uuid,
    actor text NOT NULL,
    action text NOT NULL,
    resource text NOT NULL,
    outcome text NOT NULL,
    client_address text NOT NULL,
    request_id text NOT NULL,
    service text NOT NULL,
    create_time timestamptz NOT NULL
);
CREATE INDEX ix_audit_events_subject_user_id_id ON auth.audit_events (subject_user_id, id DESC);

-- Append-only: the log can grow, never change.
CREATE FUNCTION auth.audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'auth.audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON auth.audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION auth.audit_events_append_only();
