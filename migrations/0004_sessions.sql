-- 0004_sessions: Better Auth sessions. A session is found by its token (unique), belongs to
-- one user and dies with it (ON DELETE CASCADE). The token is the bearer secret the client
-- holds; it is never audited and never logged. expires_at is indexed so that the bulk purge
-- of expired sessions does not scan the live ones.

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
