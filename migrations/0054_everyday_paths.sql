-- 0054_everyday_paths: soft delete for teams, and the explicit paths of issue 16 that run
-- beside the row-level security of 0051, each a SECURITY DEFINER function with a fixed
-- search_path, EXECUTE revoked from PUBLIC and granted to reference_app on its own:
--
--   app_credential_by_login   sign-in by username OR email (the notes application): the user
--                             id and credential hash of the active user, like
--                             app_credential_by_email
--   app_acting_user_is_admin  whether the acting user is an administrator: an active user
--                             whose global role (users.role) is OWNER; the policy
--                             users_admins_read lets such a user read every user row (the
--                             administrators' list), and only through this function
--   app_set_user_role         an administrator changes a user's global role (the role may not UPDATE
--                             users.role itself, 0050); anyone else gets insufficient_privilege
--   app_purge_deleted_teams   the maintenance purge: deletes teams soft-deleted longer ago than
--                             the retention period (their memberships go by cascade)
--
-- teams.deleted_at: a soft-deleted team is invisible to every list and get (the queries
-- filter it, like users), its OWNERs may restore it, and its slug stays taken (the unique
-- constraint keeps it) until the purge deletes the row. The role may UPDATE the column; the
-- policy teams_owners_update (0051) narrows that to the team's OWNERs.

ALTER TABLE teams ADD COLUMN deleted_at timestamptz;

COMMENT ON COLUMN teams.deleted_at IS
    'Set when an OWNER soft-deleted the team; its slug stays taken until app_purge_deleted_teams().';

GRANT UPDATE (deleted_at) ON teams TO reference_app;

CREATE FUNCTION app_credential_by_login(login text)
RETURNS TABLE (user_id text, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT u.id, a.password
    FROM users AS u
    JOIN accounts AS a
        ON a.user_id = u.id AND a.provider_id = 'credential' AND a.account_id = u.id
    WHERE (lower(u.email) = lower(login) OR lower(u.username) = lower(login))
        AND u.deleted_at IS NULL AND a.password IS NOT NULL
    ORDER BY lower(u.email) = lower(login) DESC  -- a username equal to another's email loses
    LIMIT 1
$$;

COMMENT ON FUNCTION app_credential_by_login(text) IS
    'Sign-in path: the id and credential hash of the active user with this email or username.';

CREATE FUNCTION app_acting_user_is_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM users
        WHERE id = app_acting_user() AND role = 'OWNER' AND deleted_at IS NULL
    )
$$;

COMMENT ON FUNCTION app_acting_user_is_admin() IS
    'Whether the acting user is an administrator: active, global role OWNER (the admins'' read policy).';

CREATE POLICY users_admins_read ON users FOR SELECT TO reference_app
    USING ((SELECT app_acting_user_is_admin()));

CREATE FUNCTION app_set_user_role(target_user_id text, new_role user_role) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF NOT app_acting_user_is_admin() THEN
        RAISE EXCEPTION 'only an administrator may change a user''s role'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE users SET role = new_role WHERE id = target_user_id AND deleted_at IS NULL;
    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION app_set_user_role(text, user_role) IS
    'Admin path: sets an active user''s global role; true when found. Others: insufficient_privilege.';

CREATE FUNCTION app_purge_deleted_teams(retention_seconds integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM teams
        WHERE deleted_at < now() - make_interval(secs => retention_seconds)
        RETURNING 1
    )
    SELECT count(*)::integer FROM purged
$$;

COMMENT ON FUNCTION app_purge_deleted_teams(integer) IS
    'Maintenance path: deletes teams soft-deleted more than retention_seconds ago; returns the count.';

REVOKE ALL ON FUNCTION
    app_credential_by_login(text),
    app_acting_user_is_admin(),
    app_set_user_role(text, user_role),
    app_purge_deleted_teams(integer)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_credential_by_login(text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_acting_user_is_admin() TO reference_app;

GRANT EXECUTE ON FUNCTION app_set_user_role(text, user_role) TO reference_app;

GRANT EXECUTE ON FUNCTION app_purge_deleted_teams(integer) TO reference_app;
