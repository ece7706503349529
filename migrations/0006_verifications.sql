-- 0006_verifications: Better Auth verifications, one-time values (email verification,
-- password reset) sent to an identifier (an email address, ...). A value is consumed by
-- deleting its row in one statement, so that of two concurrent consumers exactly one wins.

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
