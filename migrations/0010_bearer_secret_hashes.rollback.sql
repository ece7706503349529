-- 0010_bearer_secret_hashes rollback: a hash cannot give the secret back, so every session and
-- pending verification is deleted (users sign in again; verifications are sent again) and
-- both tables are rebuilt exactly as 0004_sessions and 0006_verifications made them.

ALTER TABLE sessions
    DROP CONSTRAINT sessions_token_hash_key,
    DROP CONSTRAINT sessions_token_hash_is_sha256,
    DROP COLUMN token_hash;

DROP TABLE sessions;

CREATE TABLE sessions (
    id         text        NOT NULL DEFAULT gen_random_uuid()::text,
    user_id    text        NOT NULL,
    token      text        NOT NULL,
    expires_at timestamptz NOT NULL,
    ip_address text,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_token_key UNIQUE (token),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT sessions_token_not_blank CHECK (btrim(token) <> '')
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TRIGGER sessions_set_updated_at
    BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE sessions IS 'Signed-in sessions; token is the bearer secret. Live while expires_at > now().';

ALTER TABLE verifications
    DROP CONSTRAINT verifications_value_hash_is_sha256,
    DROP COLUMN value_hash;

DROP TABLE verifications;

CREATE TABLE verifications (
    id         text        NOT NULL DEFAULT gen_random_uuid()::text,
    identifier text        NOT NULL,
    value      text        NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT verifications_pkey PRIMARY KEY (id),
    CONSTRAINT verifications_identifier_not_blank CHECK (btrim(identifier) <> ''),
    CONSTRAINT verifications_value_not_blank CHECK (btrim(value) <> '')
);

CREATE INDEX verifications_identifier_idx ON verifications (identifier);

CREATE INDEX verifications_expires_at_idx ON verifications (expires_at);

CREATE TRIGGER verifications_set_updated_at
    BEFORE UPDATE ON verifications
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE verifications IS
    'One-time values sent to an identifier (email verification, password reset); consumed by DELETE ... RETURNING.';
