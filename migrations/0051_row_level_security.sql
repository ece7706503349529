-- 0051_row_level_security: the database itself keeps users apart. Row-level security, enabled
-- and forced, on users and on every table holding a user's rows directly or through a parent;
-- policies for reference_app (0050) that read the acting user from the transaction-local
-- setting app.user_id (which plainsql's units of work set); and the few narrow paths that run
-- before or beside an acting user, each a SECURITY DEFINER function granted on its own.
--
-- Fail closed: app_acting_user() is NULL when app.user_id is unset or '' (a pooled connection
-- whose earlier transaction set it reads ''), and every policy compares with it, so with no
-- acting user the role sees no row and can write none.
--
-- Who sees what:
-- - users: one's own row only (names of co-members: app_team_directory());
-- - sessions, accounts, workspaces, projects, agents, meetings, video_summaries: rows whose
--   user_id is the acting user; a meeting also needs the acting user's agent;
-- - nodes, git_repositories, deployment_history (through workspaces), project_files and
--   agent_states (through projects), keyframes and the tag/category links (through
--   video_summaries): rows whose parent the acting user sees. The parent is looked up once per
--   statement (an uncorrelated IN), not once per row: a bulk INSERT ... SELECT stays fast;
-- - teams and team_members: the teams one is a member of; only an OWNER of the team may
--   change it or its members (add, change a role, remove, delete the team); a member may leave.
--   Membership is read by app_is_team_member()/app_is_team_owner(), SECURITY DEFINER so that
--   the policy of team_members does not recurse into itself.
--
-- FORCE ROW LEVEL SECURITY makes the policies bind the tables' owner too. Migrations and seeds
-- run as a superuser (or a role with BYPASSRLS), which no policy binds.
--
-- The explicit paths (EXECUTE revoked from PUBLIC, granted to reference_app):
--   app_sign_up               a user with its credential account; returns the user's id
--   app_credential_by_email   sign-in: the user id and password hash of an active email
--   app_session_user          the user of the live session with this token hash
--   app_mark_email_verified   marks the active user with this email verified; returns its id
--   app_delete_expired_sessions  the purge of every user's expired sessions (a maintenance job)
--   app_create_team           a team with the acting user as OWNER; returns the team's id (the
--                             creator is not a member until it returns: the team row could not
--                             be read back through the policy inside the same INSERT)
--   app_team_directory        names and emails of the members of a team the acting user is in
--   app_user_is_active        whether a user id is an active user (adding a member)
-- The triggers that must see or write every user's rows run as the owner too: the audit
-- trigger audit_log_record() (audit_log is closed to the role) and the last-owner rule
-- (team_assert_has_owner() counts owners the acting user cannot see).

-- The acting user of the transaction, NULL when none (unset or '').
CREATE FUNCTION app_acting_user() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.user_id', true), '') $$;

COMMENT ON FUNCTION app_acting_user() IS
    'The transaction''s acting user (setting app.user_id), NULL when unset or empty: policies fail closed.';

CREATE FUNCTION app_is_team_member(checked_team_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM team_members
        WHERE team_id = checked_team_id AND user_id = app_acting_user()
    )
$$;

CREATE FUNCTION app_is_team_owner(checked_team_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM team_members
        WHERE team_id = checked_team_id AND user_id = app_acting_user() AND role = 'OWNER'
    )
$$;

REVOKE ALL ON FUNCTION app_is_team_member(uuid), app_is_team_owner(uuid) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_is_team_member(uuid), app_is_team_owner(uuid) TO reference_app;

-- --- row-level security and policies -------------------------------------------------------

ALTER TABLE users ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY users_own_row ON users TO reference_app
    USING (id = app_acting_user());

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY sessions_own_rows ON sessions TO reference_app
    USING (user_id = app_acting_user());

ALTER TABLE accounts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY accounts_own_rows ON accounts TO reference_app
    USING (user_id = app_acting_user());

ALTER TABLE teams ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY teams_members_read ON teams FOR SELECT TO reference_app
    USING (app_is_team_member(id));

CREATE POLICY teams_owners_update ON teams FOR UPDATE TO reference_app
    USING (app_is_team_owner(id));

CREATE POLICY teams_owners_delete ON teams FOR DELETE TO reference_app
    USING (app_is_team_owner(id));

ALTER TABLE team_members ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY team_members_members_read ON team_members FOR SELECT TO reference_app
    USING (app_is_team_member(team_id));

CREATE POLICY team_members_owners_add ON team_members FOR INSERT TO reference_app
    WITH CHECK (app_is_team_owner(team_id));

CREATE POLICY team_members_owners_update ON team_members FOR UPDATE TO reference_app
    USING (app_is_team_owner(team_id));

CREATE POLICY team_members_owners_remove_or_leave ON team_members FOR DELETE TO reference_app
    USING (app_is_team_owner(team_id) OR user_id = app_acting_user());

ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY workspaces_own_rows ON workspaces TO reference_app
    USING (user_id = app_acting_user());

ALTER TABLE nodes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY nodes_own_workspace ON nodes TO reference_app
    USING (workspace_id IN (SELECT id FROM workspaces WHERE user_id = app_acting_user()));

ALTER TABLE git_repositories ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY git_repositories_own_workspace ON git_repositories TO reference_app
    USING (workspace_id IN (SELECT id FROM workspaces WHERE user_id = app_acting_user()));

ALTER TABLE deployment_history ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY deployment_history_own_workspace ON deployment_history TO reference_app
    USING (workspace_id IN (SELECT id FROM workspaces WHERE user_id = app_acting_user()));

ALTER TABLE projects ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY projects_own_rows ON projects TO reference_app
    USING (user_id = app_acting_user());

ALTER TABLE project_files ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY project_files_own_project ON project_files TO reference_app
    USING (project_id IN (SELECT id FROM projects WHERE user_id = app_acting_user()));

ALTER TABLE agent_states ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY agent_states_own_project ON agent_states TO reference_app
    USING (project_id IN (SELECT id FROM projects WHERE user_id = app_acting_user()));

ALTER TABLE agents ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY agents_own_rows ON agents TO reference_app
    USING (user_id = app_acting_user());

ALTER TABLE meetings ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY meetings_own_rows ON meetings TO reference_app
    USING (user_id = app_acting_user())
    WITH CHECK (
        user_id = app_acting_user()
        AND agent_id IN (SELECT id FROM agents WHERE user_id = app_acting_user())
    );

ALTER TABLE video_summaries ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY video_summaries_own_rows ON video_summaries TO reference_app
    USING (user_id = app_acting_user());

ALTER TABLE video_summary_tags ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY video_summary_tags_own_summary ON video_summary_tags TO reference_app
    USING (video_summary_id IN (SELECT id FROM video_summaries WHERE user_id = app_acting_user()));

ALTER TABLE video_summary_categories ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY video_summary_categories_own_summary ON video_summary_categories TO reference_app
    USING (video_summary_id IN (SELECT id FROM video_summaries WHERE user_id = app_acting_user()));

ALTER TABLE keyframes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY keyframes_own_summary ON keyframes TO reference_app
    USING (video_summary_id IN (SELECT id FROM video_summaries WHERE user_id = app_acting_user()));

-- --- triggers that see or write every user's rows run as the owner ---------------------------

ALTER FUNCTION audit_log_record() SECURITY DEFINER SET search_path = public, pg_temp;

ALTER FUNCTION team_assert_has_owner(uuid) SECURITY DEFINER SET search_path = public, pg_temp;

ALTER FUNCTION team_members_keep_an_owner() SECURITY DEFINER SET search_path = public, pg_temp;

ALTER FUNCTION users_keep_team_owners() SECURITY DEFINER SET search_path = public, pg_temp;

REVOKE ALL ON FUNCTION team_assert_has_owner(uuid) FROM PUBLIC;

-- --- the explicit paths --------------------------------------------------------------------

CREATE FUNCTION app_sign_up(
    new_name text, new_email text, new_username text, new_image text, password_hash text
) RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH new_user AS (
        INSERT INTO users (name, email, username, image)
        VALUES (new_name, new_email, new_username, new_image)
        RETURNING id
    ), credential AS (
        INSERT INTO accounts (user_id, account_id, provider_id, password)
        SELECT id, id, 'credential', password_hash FROM new_user
    )
    SELECT id FROM new_user
$$;

COMMENT ON FUNCTION app_sign_up(text, text, text, text, text) IS
    'Sign-up path: a user (role MEMBER) and its credential account; returns the new user''s id.';

CREATE FUNCTION app_credential_by_email(email_address text)
RETURNS TABLE (user_id text, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT u.id, a.password
    FROM users AS u
    JOIN accounts AS a
        ON a.user_id = u.id AND a.provider_id = 'credential' AND a.account_id = u.id
    WHERE lower(u.email) = lower(email_address) AND u.deleted_at IS NULL
        AND a.password IS NOT NULL
$$;

COMMENT ON FUNCTION app_credential_by_email(text) IS
    'Sign-in path: the id and credential hash of the active user with this email (no acting user yet).';

CREATE FUNCTION app_session_user(session_token_hash bytea) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT s.user_id
    FROM sessions AS s
    JOIN users AS u ON u.id = s.user_id
    WHERE s.token_hash = session_token_hash AND s.expires_at > now() AND u.deleted_at IS NULL
$$;

COMMENT ON FUNCTION app_session_user(bytea) IS
    'Session lookup path: the user of the live session whose token has this SHA-256, else NULL.';

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

CREATE FUNCTION app_delete_expired_sessions(batch_size integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM sessions
        WHERE id = any(ARRAY(
            SELECT id FROM sessions WHERE expires_at <= now() LIMIT batch_size
            FOR UPDATE SKIP LOCKED
        ))
        RETURNING 1
    )
    SELECT count(*)::integer FROM purged
$$;

COMMENT ON FUNCTION app_delete_expired_sessions(integer) IS
    'Maintenance path: deletes up to batch_size expired sessions of any user; returns the count.';

CREATE FUNCTION app_create_team(team_name text, team_slug text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    creator text := app_acting_user();
    new_team_id uuid;
BEGIN
    INSERT INTO teams (name, slug) VALUES (team_name, team_slug) RETURNING id INTO new_team_id;
    INSERT INTO team_members (team_id, user_id, role)
    SELECT new_team_id, u.id, 'OWNER'
    FROM users AS u
    WHERE u.id = creator AND u.deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'a team needs an active acting user to own it'
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'team_members_user_id_fkey',
                  TABLE = 'team_members';
    END IF;
    RETURN new_team_id;
END;
$$;

COMMENT ON FUNCTION app_create_team(text, text) IS
    'Team creation path: a team with the acting user as its OWNER; returns the team''s id.';

CREATE FUNCTION app_team_directory(checked_team_id uuid)
RETURNS TABLE (
    team_id uuid, user_id text, name text, email text, username text, image text,
    role user_role, joined_at timestamptz
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT m.team_id, m.user_id, u.name, u.email, u.username, u.image, m.role, m.created_at
    FROM team_members AS m
    JOIN users AS u ON u.id = m.user_id
    WHERE m.team_id = checked_team_id AND u.deleted_at IS NULL
        AND app_is_team_member(checked_team_id)
$$;

COMMENT ON FUNCTION app_team_directory(uuid) IS
    'Co-member directory: the active members of a team the acting user belongs to, else none.';

CREATE FUNCTION app_user_is_active(checked_user_id text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM users WHERE id = checked_user_id AND deleted_at IS NULL)
$$;

COMMENT ON FUNCTION app_user_is_active(text) IS
    'Adding a member: whether this id is an active user (and nothing else about it).';

REVOKE ALL ON FUNCTION
    app_sign_up(text, text, text, text, text),
    app_credential_by_email(text),
    app_session_user(bytea),
    app_mark_email_verified(text),
    app_delete_expired_sessions(integer),
    app_create_team(text, text),
    app_team_directory(uuid),
    app_user_is_active(text)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_sign_up(text, text, text, text, text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_credential_by_email(text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_session_user(bytea) TO reference_app;

GRANT EXECUTE ON FUNCTION app_mark_email_verified(text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_delete_expired_sessions(integer) TO reference_app;

GRANT EXECUTE ON FUNCTION app_create_team(text, text) TO reference_app;

GRANT EXECUTE ON FUNCTION app_team_directory(uuid) TO reference_app;

GRANT EXECUTE ON FUNCTION app_user_is_active(text) TO reference_app;
