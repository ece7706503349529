-- 0026_encrypted_deploy_keys rollback: back to text. SQL cannot decrypt (the keys never reach
-- the database), so every encrypted deploy key is CLEARED (set to NULL): each workspace's
-- deploy key must be entered again. Legacy plaintext (a value not starting with 0x00, never
-- encrypted by the data step) goes back to text as it was.
-- squawk-ignore-file changing-column-type

ALTER TABLE git_repositories
    ALTER COLUMN deploy_key TYPE text USING CASE
        WHEN substring(deploy_key FROM 1 FOR 1) = '\x00'::bytea THEN NULL
        ELSE convert_from(deploy_key, 'UTF8')
    END;

COMMENT ON COLUMN git_repositories.deploy_key IS 'Secret key used to pull the repository: never log it.';
