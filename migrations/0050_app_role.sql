-- 0050_app_role: the application's group role, reference_app, and the DML it holds; nothing more.
--
-- The application's pooled connections act as reference_app (plainsql's transaction-role
-- setting: SET LOCAL ROLE in every unit of work), or a deployment logs in as a role of its own
-- that is a member of it. It is NOLOGIN (nobody signs in as it), owns nothing, may not create
-- anything, and has no BYPASSRLS: the row-level security policies of 0051 apply to it.
-- Migrations and seeds run as the owner of the schema, never as this role.
--
-- Roles belong to the cluster, not to a database: test copies and scratch databases of the
-- same cluster share it. So the role is created only when missing (two databases migrating at
-- the same moment may both find it missing: the loser's duplicate is ignored), and the
-- rollback drops it only when no other database holds anything for it.
--
-- What it holds, table by table:
-- - the users' own tables: SELECT, INSERT, UPDATE, DELETE; the policies of 0051 narrow each
--   to the acting user's rows;
-- - users: SELECT, DELETE, and UPDATE of the profile columns only: never of role (a user's
--   global role), id or created_at. No INSERT: sign-up goes through app_sign_up() (0051);
-- - teams: SELECT, UPDATE (name, slug), DELETE; no INSERT: app_create_team() (0051) creates a
--   team with its creator as OWNER. team_members: SELECT, INSERT, UPDATE (role), DELETE, which
--   the policies give to the team's OWNERs only;
-- - tags, categories (shared catalogues): SELECT and INSERT only, never UPDATE or DELETE;
-- - verifications (keyed by an email, no user yet): SELECT, INSERT, DELETE;
-- - audit_log: nothing. The audit trigger (SECURITY DEFINER since 0051) writes it;
-- - the identity sequences of the tables it inserts into: USAGE.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'reference_app') THEN
        CREATE ROLE reference_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
            NOBYPASSRLS;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another database of the cluster created it meanwhile
END
$$;

GRANT USAGE ON SCHEMA public TO reference_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    sessions, accounts,
    workspaces, nodes, git_repositories, deployment_history,
    projects, project_files, agent_states,
    agents, meetings,
    video_summaries, video_summary_tags, video_summary_categories, keyframes
TO reference_app;

GRANT SELECT, DELETE ON users TO reference_app;

GRANT UPDATE (name, email, email_verified, image, username, updated_at, deleted_at)
    ON users TO reference_app;

GRANT SELECT, DELETE ON teams TO reference_app;

GRANT UPDATE (name, slug, updated_at) ON teams TO reference_app;

GRANT SELECT, INSERT, DELETE ON team_members TO reference_app;

GRANT UPDATE (role) ON team_members TO reference_app;

GRANT SELECT, INSERT ON tags, categories TO reference_app;

GRANT SELECT, INSERT, DELETE ON verifications TO reference_app;

GRANT USAGE ON SEQUENCE workspaces_id_seq, git_repositories_id_seq, deployment_history_id_seq
    TO reference_app;
