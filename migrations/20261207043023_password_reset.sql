-- 20261207043023_password_reset: a forgotten password is reset with a single-use value sent to
-- the user's email. The application role asks for a reset; the worker role, which delivers
-- the mail, makes the value; the application role uses it up. SQL run as the application (an
-- injection, a bug) can therefore never hold a value for another user's account: the value is
-- made where it is delivered, and verifications stays closed to reference_app
-- (20261207022403_guarded_user_columns).
--
-- password_reset_requests is the outbox of the requests: at most one per user (a request for a
-- user with one pending adds nothing), user ids only, never a value. Closed to every role but
-- the owner (row-level security forced with no policy, no privilege), like verifications.
--
-- The paths (SECURITY DEFINER, EXECUTE revoked from PUBLIC, granted one by one):
--   to reference_app
--   app_request_password_reset(email)
--       queues a request for the active user with this email; for an unknown email the same
--       statements run and find no user. Returns nothing either way.
--   app_reset_password(value_hash, password_hash)
--       uses a live value up (one DELETE ... RETURNING: of concurrent uses exactly one gets
--       the row), sets the user's credential password (creating the credential account of a
--       user who had only OAuth ones) and ends every session of the user, in one transaction;
--       returns (user_id, NULL). An expired value returns (NULL, its expiry); one unknown, used
--       or replaced, no row.
--   to reference_worker
--   app_issue_password_reset(value_hash, expires_in)
--       takes the oldest pending request (FOR UPDATE SKIP LOCKED: concurrent deliverers take
--       different ones), replaces the user's earlier reset value by this one (so at most one
--       is live) and returns (user_id, the user's email, expiry) to deliver to; no row when
--       nothing is pending. A request whose user was soft-deleted meanwhile is dropped, and
--       the next one taken.
--
-- A reset value's identifier is 'password-reset:<user id>': it contains no '@', so the email
-- paths (which match an email) never take one, and app_consume_verification takes only values
-- tied to no user. The value is looked up by its hash alone (the link carries nothing else):
-- verifications_value_hash_idx. verifications holds few short-lived rows: the index's brief
-- lock is waived, as 0010 waives it.
-- squawk-ignore-file require-concurrent-index-creation

CREATE TABLE password_reset_requests (
    user_id      text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT password_reset_requests_pkey PRIMARY KEY (user_id),
    CONSTRAINT password_reset_requests_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX password_reset_requests_requested_at_idx
    ON password_reset_requests (requested_at, user_id);

COMMENT ON TABLE password_reset_requests IS
    'The outbox of password reset requests, one per user, drained by app_issue_password_reset(); never holds a value.';

ALTER TABLE password_reset_requests ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE INDEX verifications_value_hash_idx ON verifications (value_hash);

CREATE FUNCTION app_request_password_reset(email_address text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    INSERT INTO password_reset_requests (user_id)
    SELECT u.id
    FROM users AS u
    WHERE lower(u.email) = lower(email_address) AND u.deleted_at IS NULL
    ON CONFLICT ON CONSTRAINT password_reset_requests_pkey DO NOTHING
$$;

COMMENT ON FUNCTION app_request_password_reset(text) IS
    'Queues a password reset for the active user with this email (at most one pending per user); nothing for an unknown email, after the same work.';

CREATE FUNCTION app_issue_password_reset(verification_value_hash bytea, expires_in interval)
RETURNS TABLE (user_id text, email text, expires_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    target_user text;
BEGIN
    IF expires_in IS NULL OR expires_in <= interval '0' OR expires_in > interval '1 day' THEN
        RAISE EXCEPTION 'a password reset expires within a day'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Each turn takes one request out of the queue, so the loop ends.
    LOOP
        target_user := NULL;
        DELETE FROM password_reset_requests AS r
        WHERE r.user_id = (
            SELECT p.user_id FROM password_reset_requests AS p
            ORDER BY p.requested_at, p.user_id
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        )
        RETURNING r.user_id INTO target_user;
        IF target_user IS NULL THEN
            RETURN;
        END IF;
        DELETE FROM verifications AS v WHERE v.identifier = 'password-reset:' || target_user;
        RETURN QUERY
        WITH issued AS (
            INSERT INTO verifications AS v (identifier, value_hash, expires_at, user_id)
            SELECT 'password-reset:' || u.id, verification_value_hash, now() + expires_in, u.id
            FROM users AS u
            WHERE u.id = target_user AND u.deleted_at IS NULL
            RETURNING v.user_id, v.expires_at
        )
        SELECT issued.user_id, u.email, issued.expires_at
        FROM issued
        JOIN users AS u ON u.id = issued.user_id;
        IF FOUND THEN
            RETURN;
        END IF;
        -- The user was soft-deleted since the request: the request is dropped, take the next.
    END LOOP;
END;
$$;

COMMENT ON FUNCTION app_issue_password_reset(bytea, interval) IS
    'Worker path: the oldest pending reset request becomes a live value (by its SHA-256), replacing the user''s earlier one; (user_id, email, expiry) to deliver to.';

CREATE FUNCTION app_reset_password(verification_value_hash bytea, new_password_hash text)
RETURNS TABLE (user_id text, expired_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    target_user text;
BEGIN
    IF new_password_hash IS NULL OR btrim(new_password_hash) = '' THEN
        RAISE EXCEPTION 'a password hash is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM verifications AS v
    USING users AS u
    WHERE v.value_hash = verification_value_hash
        AND v.identifier = 'password-reset:' || v.user_id
        AND u.id = v.user_id AND u.deleted_at IS NULL
        AND v.expires_at > now()
    RETURNING v.user_id INTO target_user;
    IF target_user IS NULL THEN
        RETURN QUERY
        SELECT NULL::text, max(v.expires_at)
        FROM verifications AS v
        WHERE v.value_hash = verification_value_hash
            AND v.identifier = 'password-reset:' || v.user_id
            AND v.expires_at <= now()
        HAVING count(*) > 0;
        RETURN;
    END IF;
    INSERT INTO accounts AS a (user_id, account_id, provider_id, password)
    VALUES (target_user, target_user, 'credential', new_password_hash)
    ON CONFLICT ON CONSTRAINT accounts_provider_id_account_id_key DO UPDATE
    SET password = EXCLUDED.password
    WHERE a.user_id = EXCLUDED.user_id;
    DELETE FROM sessions AS s WHERE s.user_id = target_user;
    RETURN QUERY SELECT target_user, NULL::timestamptz;
END;
$$;

COMMENT ON FUNCTION app_reset_password(bytea, text) IS
    'Uses up a live password reset value: sets the user''s password, ends its sessions; (user_id, NULL), (NULL, expiry) when expired, else no row.';

REVOKE ALL ON FUNCTION
    app_request_password_reset(text),
    app_issue_password_reset(bytea, interval),
    app_reset_password(bytea, text)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_request_password_reset(text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_reset_password(bytea, text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_issue_password_reset(bytea, interval) TO reference_worker;
