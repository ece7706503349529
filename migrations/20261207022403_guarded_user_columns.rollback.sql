-- 20261207022403_guarded_user_columns rollback: the paths go; reference_app gets back its 0050
-- privileges on verifications and users and app_mark_email_verified (0051); verifications
-- loses row-level security and its user_id/new_email columns (values made for a user go with
-- them: they would verify through the old path by email alone).
-- squawk-ignore-file ban-drop-column, ban-drop-function

DROP FUNCTION app_create_verification(text, bytea, interval);

DROP FUNCTION app_consume_verification(text, bytea);

DROP FUNCTION app_request_email_verification(bytea, interval);

DROP FUNCTION app_verify_email(text, bytea);

DROP FUNCTION app_request_email_change(text, bytea, interval);

DROP FUNCTION app_confirm_email_change(text, bytea);

DROP FUNCTION app_soft_delete_user(text);

DROP FUNCTION app_delete_expired_verifications();

CREATE FUNCTION app_mark_email_verified(email_address text) RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    UPDATE users
    SET email_verified = true
    WHERE lower(email) = lower(email_address) AND deleted_at IS NULL
    RETURNING id
$$;

COMMENT ON FUNCTION app_mark_email_verified(text) IS
    'Email verification path (after a verification value was consumed): the user''s id, else NULL.';

REVOKE ALL ON FUNCTION app_mark_email_verified(text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_mark_email_verified(text) TO reference_app;

GRANT UPDATE (name, email, email_verified, image, username, updated_at, deleted_at)
    ON users TO reference_app;

ALTER TABLE verifications NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, DELETE ON verifications TO reference_app;

DELETE FROM verifications WHERE user_id IS NOT NULL;

DROP INDEX verifications_user_id_idx;

ALTER TABLE verifications
    DROP CONSTRAINT verifications_user_id_fkey,
    DROP COLUMN user_id,
    DROP COLUMN new_email;
