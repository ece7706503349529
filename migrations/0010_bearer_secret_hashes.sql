-- 0010_bearer_secret_hashes: sessions and verifications keep only the SHA-256 of their bearer
-- secret (token_hash, value_hash), never the secret: a stolen dump must not sign anyone in.
-- The service hands the secret to its owner once and looks rows up by the hash. Rows that
-- exist are converted here (sha256() is core SQL). Both tables hold few, short-lived rows,
-- so the table rewrites and locks below are brief: the squawk rules about long locks and
-- dropped columns (the secret columns go on purpose) are waived for this file.
-- squawk-ignore-file adding-not-nullable-field, ban-drop-column, ban-drop-constraint, disallowed-unique-constraint, constraint-missing-not-valid

ALTER TABLE sessions ADD COLUMN token_hash bytea;

UPDATE sessions SET token_hash = sha256(convert_to(token, 'UTF8'));

ALTER TABLE sessions
    ALTER COLUMN token_hash SET NOT NULL,
    DROP CONSTRAINT sessions_token_key,
    DROP CONSTRAINT sessions_token_not_blank,
    DROP COLUMN token,
    ADD CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    ADD CONSTRAINT sessions_token_hash_is_sha256 CHECK (octet_length(token_hash) = 32);

COMMENT ON TABLE sessions IS
    'Signed-in sessions; token_hash is the SHA-256 of the bearer token, which is never stored. Live while expires_at > now().';

ALTER TABLE verifications ADD COLUMN value_hash bytea;

UPDATE verifications SET value_hash = sha256(convert_to(value, 'UTF8'));

ALTER TABLE verifications
    ALTER COLUMN value_hash SET NOT NULL,
    DROP CONSTRAINT verifications_value_not_blank,
    DROP COLUMN value,
    ADD CONSTRAINT verifications_value_hash_is_sha256 CHECK (octet_length(value_hash) = 32);

COMMENT ON TABLE verifications IS
    'One-time values sent to an identifier (email verification, password reset), kept as their SHA-256 only; consumed by DELETE ... RETURNING.';
