-- 20261207022403_guarded_user_columns: verifications and the guarded columns of users change
-- only through explicit paths that check what they are given.
--
-- Found as reference_app acting as B: B read, deleted and inserted verifications of any email
-- (no row-level security), app_mark_email_verified(email) verified anyone's email without a
-- token, and on its own users row B could set email_verified, change its email and clear
-- deleted_at (undoing its soft delete). Now:
--
-- - verifications: reference_app holds no privilege on it, and row-level security is enabled
--   and forced with no policy (a grant given by mistake still shows no row). A verification
--   may belong to a user (user_id, new column): email verification and email change use only
--   such rows, created for the acting user by the paths below, so a value made up for another
--   user's email verifies nothing.
-- - users: reference_app may UPDATE name, image, username (and updated_at) only: never email,
--   email_verified, role or deleted_at (table-level REVOKE, then the allowed columns granted).
--
-- The paths (SECURITY DEFINER, EXECUTE revoked from PUBLIC, granted one by one):
--   to reference_app
--   app_create_verification          a one-time value for an identifier, tied to no user
--   app_consume_verification         uses up such a value (identifier and the value's hash)
--   app_request_email_verification  a value to verify the acting user's own email
--   app_verify_email                 uses up that value and marks that user's email verified:
--                                    the hash is compared inside the function
--   app_request_email_change         a value sent to the acting user's new email
--   app_confirm_email_change         uses up that value: the user's email becomes the new one,
--                                    verified (a taken email violates users_email_key)
--   app_soft_delete_user             the acting user soft-deletes itself (its own row only)
--   to reference_worker
--   app_delete_expired_verifications the purge of expired values
-- app_mark_email_verified (0051) is dropped: it verified an email without its token.
-- verifications holds few short-lived rows: its brief locks (a new foreign key, an index) are
-- waived, as 0010 waives them.
-- squawk-ignore-file require-concurrent-index-creation, ban-drop-function, adding-foreign-key-constraint

-- A new column is NULL in every row: its foreign key has nothing to validate.
ALTER TABLE verifications
    ADD COLUMN user_id text
        CONSTRAINT verifications_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN new_email text;

CREATE INDEX verifications_user_id_idx ON verifications (user_id);

COMMENT ON COLUMN verifications.user_id IS
    'The user a value was made for (email verification or change); NULL: a value tied to no user.';

COMMENT ON COLUMN verifications.new_email IS
    'For an email change: the email the user''s becomes once the value is used.';

REVOKE ALL ON verifications FROM reference_app;

ALTER TABLE verifications ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

REVOKE UPDATE ON users FROM reference_app;

GRANT UPDATE (name, image, username, updated_at) ON users TO reference_app;

-- squawk-ignore ban-drop-function
DROP FUNCTION app_mark_email_verified(text);

CREATE FUNCTION app_create_verification(
    verification_identifier text, verification_value_hash bytea, expires_in interval
)
RETURNS TABLE (
    id text, identifier text, expires_at timestamptz, created_at timestamptz,
    updated_at timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF expires_in IS NULL OR expires_in > interval '30 days' THEN
        RAISE EXCEPTION 'a verification expires within 30 days'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    INSERT INTO verifications AS v (identifier, value_hash, expires_at)
    VALUES (verification_identifier, verification_value_hash, now() + expires_in)
    RETURNING v.id, v.identifier, v.expires_at, v.created_at, v.updated_at;
END;
$$;

COMMENT ON FUNCTION app_create_verification(text, bytea, interval) IS
    'A one-time value (by its SHA-256) for an identifier, tied to no user; expires within 30 days.';

CREATE FUNCTION app_consume_verification(
    verification_identifier text, verification_value_hash bytea
)
RETURNS TABLE (
    id text, identifier text, expires_at timestamptz, created_at timestamptz,
    updated_at timestamptz
)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    DELETE FROM verifications AS v
    WHERE v.identifier = verification_identifier AND v.value_hash = verification_value_hash
        AND v.expires_at > now() AND v.user_id IS NULL
    RETURNING v.id, v.identifier, v.expires_at, v.created_at, v.updated_at
$$;

COMMENT ON FUNCTION app_consume_verification(text, bytea) IS
    'Uses up a live value tied to no user: the verification once, nothing ever after.';

CREATE FUNCTION app_request_email_verification(
    verification_value_hash bytea, expires_in interval
)
RETURNS TABLE (
    id text, identifier text, expires_at timestamptz, created_at timestamptz,
    updated_at timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF expires_in IS NULL OR expires_in > interval '30 days' THEN
        RAISE EXCEPTION 'a verification expires within 30 days'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    INSERT INTO verifications AS v (identifier, value_hash, expires_at, user_id)
    SELECT u.email, verification_value_hash, now() + expires_in, u.id
    FROM users AS u
    WHERE u.id = app_acting_user() AND u.deleted_at IS NULL
    RETURNING v.id, v.identifier, v.expires_at, v.created_at, v.updated_at;
END;
$$;

COMMENT ON FUNCTION app_request_email_verification(bytea, interval) IS
    'A value to verify the acting user''s own email; nothing without an active acting user.';

CREATE FUNCTION app_verify_email(email_address text, verification_value_hash bytea)
RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH consumed AS (
        DELETE FROM verifications AS v
        USING users AS u
        WHERE u.id = v.user_id AND u.deleted_at IS NULL
            AND lower(u.email) = lower(v.identifier)
            AND lower(v.identifier) = lower(email_address)
            AND v.value_hash = verification_value_hash
            AND v.expires_at > now() AND v.new_email IS NULL
        RETURNING v.user_id
    )
    UPDATE users SET email_verified = true
    FROM consumed
    WHERE users.id = consumed.user_id
    RETURNING users.id
$$;

COMMENT ON FUNCTION app_verify_email(text, bytea) IS
    'Email verification: uses up the user''s live value for this email and marks it verified; the user''s id, else NULL.';

CREATE FUNCTION app_request_email_change(
    new_email_address text, verification_value_hash bytea, expires_in interval
)
RETURNS TABLE (
    id text, identifier text, expires_at timestamptz, created_at timestamptz,
    updated_at timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF expires_in IS NULL OR expires_in > interval '30 days' THEN
        RAISE EXCEPTION 'a verification expires within 30 days'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    INSERT INTO verifications AS v (identifier, value_hash, expires_at, user_id, new_email)
    SELECT new_email_address, verification_value_hash, now() + expires_in, u.id,
        new_email_address
    FROM users AS u
    WHERE u.id = app_acting_user() AND u.deleted_at IS NULL
    RETURNING v.id, v.identifier, v.expires_at, v.created_at, v.updated_at;
END;
$$;

COMMENT ON FUNCTION app_request_email_change(text, bytea, interval) IS
    'A value, sent to the new email, that changes the acting user''s email once used.';

CREATE FUNCTION app_confirm_email_change(new_email_address text, verification_value_hash bytea)
RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH consumed AS (
        DELETE FROM verifications AS v
        USING users AS u
        WHERE u.id = v.user_id AND u.deleted_at IS NULL
            AND lower(v.new_email) = lower(new_email_address)
            AND v.value_hash = verification_value_hash
            AND v.expires_at > now()
        RETURNING v.user_id, v.new_email
    )
    UPDATE users SET email = consumed.new_email, email_verified = true
    FROM consumed
    WHERE users.id = consumed.user_id
    RETURNING users.id
$$;

COMMENT ON FUNCTION app_confirm_email_change(text, bytea) IS
    'Email change: uses up the value sent to the new email; the user''s email becomes it, verified. The user''s id, else NULL.';

CREATE FUNCTION app_soft_delete_user(target_user_id text) RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    UPDATE users SET deleted_at = now()
    WHERE id = target_user_id AND id = app_acting_user() AND deleted_at IS NULL
    RETURNING id
$$;

COMMENT ON FUNCTION app_soft_delete_user(text) IS
    'The acting user soft-deletes its own row; its id, else NULL (another user, or already deleted).';

CREATE FUNCTION app_delete_expired_verifications() RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM verifications WHERE expires_at <= now() RETURNING 1
    )
    SELECT count(*)::integer FROM purged
$$;

COMMENT ON FUNCTION app_delete_expired_verifications() IS
    'Worker path: deletes every expired verification; returns the count.';

REVOKE ALL ON FUNCTION
    app_create_verification(text, bytea, interval),
    app_consume_verification(text, bytea),
    app_request_email_verification(bytea, interval),
    app_verify_email(text, bytea),
    app_request_email_change(text, bytea, interval),
    app_confirm_email_change(text, bytea),
    app_soft_delete_user(text),
    app_delete_expired_verifications()
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_create_verification(text, bytea, interval) TO reference_app;

GRANT EXECUTE ON FUNCTION app_consume_verification(text, bytea) TO reference_app;

GRANT EXECUTE ON FUNCTION app_request_email_verification(bytea, interval) TO reference_app;

GRANT EXECUTE ON FUNCTION app_verify_email(text, bytea) TO reference_app;

GRANT EXECUTE ON FUNCTION app_request_email_change(text, bytea, interval) TO reference_app;

GRANT EXECUTE ON FUNCTION app_confirm_email_change(text, bytea) TO reference_app;

GRANT EXECUTE ON FUNCTION app_soft_delete_user(text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_delete_expired_verifications() TO reference_worker;
