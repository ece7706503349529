-- 0011_encrypted_oauth_tokens rollback: back to text. SQL cannot decrypt (the keys never
-- reach the database), so every encrypted token is CLEARED (set to NULL): the users link
-- their provider accounts again. Legacy plaintext (a value not starting with 0x00, never
-- encrypted by the data step) goes back to text as it was.
-- squawk-ignore-file changing-column-type

ALTER TABLE accounts
    ALTER COLUMN access_token TYPE text USING CASE
        WHEN substring(access_token FROM 1 FOR 1) = '\x00'::bytea THEN NULL
        ELSE convert_from(access_token, 'UTF8')
    END,
    ALTER COLUMN refresh_token TYPE text USING CASE
        WHEN substring(refresh_token FROM 1 FOR 1) = '\x00'::bytea THEN NULL
        ELSE convert_from(refresh_token, 'UTF8')
    END,
    ALTER COLUMN id_token TYPE text USING CASE
        WHEN substring(id_token FROM 1 FOR 1) = '\x00'::bytea THEN NULL
        ELSE convert_from(id_token, 'UTF8')
    END;

COMMENT ON COLUMN accounts.access_token IS NULL;
COMMENT ON COLUMN accounts.refresh_token IS NULL;
COMMENT ON COLUMN accounts.id_token IS NULL;
