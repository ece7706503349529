-- 0003_users: the Better Auth users table, shared by every domain of the reference schema.
-- Emails are unique case-insensitively (A@x.io and a@x.io collide) through a unique index on
-- lower(email); usernames likewise when present. Soft-deleted rows (deleted_at set) keep
-- their email and username: a soft delete frees nothing.

CREATE TABLE users (
    id             text        NOT NULL DEFAULT gen_random_uuid()::text,
    name           text        NOT NULL,
    email          text        NOT NULL,
    email_verified boolean     NOT NULL DEFAULT false,
    image          text,
    username       text,
    role           user_role   NOT NULL DEFAULT 'MEMBER',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_not_blank CHECK (btrim(email) <> ''),
    CONSTRAINT users_username_not_blank CHECK (username IS NULL OR btrim(username) <> '')
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE users IS 'People who can sign in. deleted_at set = soft-deleted: invisible to every read, cannot sign in.';
