-- 0051_row_level_security rollback: drop the explicit paths and the policies, turn row-level
-- security off, and let the triggers run as their caller again (as before 0051).

DROP FUNCTION app_user_is_active(text);

DROP FUNCTION app_team_directory(uuid);

DROP FUNCTION app_create_team(text, text);

DROP FUNCTION app_delete_expired_sessions(integer);

DROP FUNCTION app_mark_email_verified(text);

DROP FUNCTION app_session_user(bytea);

DROP FUNCTION app_credential_by_email(text);

DROP FUNCTION app_sign_up(text, text, text, text, text);

GRANT EXECUTE ON FUNCTION team_assert_has_owner(uuid) TO PUBLIC;

ALTER FUNCTION users_keep_team_owners() SECURITY INVOKER RESET search_path;

ALTER FUNCTION team_members_keep_an_owner() SECURITY INVOKER RESET search_path;

ALTER FUNCTION team_assert_has_owner(uuid) SECURITY INVOKER RESET search_path;

ALTER FUNCTION audit_log_record() SECURITY INVOKER RESET search_path;

DROP POLICY keyframes_own_summary ON keyframes;

ALTER TABLE keyframes NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY video_summary_categories_own_summary ON video_summary_categories;

ALTER TABLE video_summary_categories NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY video_summary_tags_own_summary ON video_summary_tags;

ALTER TABLE video_summary_tags NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY video_summaries_own_rows ON video_summaries;

ALTER TABLE video_summaries NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY meetings_own_rows ON meetings;

ALTER TABLE meetings NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY agents_own_rows ON agents;

ALTER TABLE agents NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY agent_states_own_project ON agent_states;

ALTER TABLE agent_states NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY project_files_own_project ON project_files;

ALTER TABLE project_files NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY projects_own_rows ON projects;

ALTER TABLE projects NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY deployment_history_own_workspace ON deployment_history;

ALTER TABLE deployment_history NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY git_repositories_own_workspace ON git_repositories;

ALTER TABLE git_repositories NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY nodes_own_workspace ON nodes;

ALTER TABLE nodes NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY workspaces_own_rows ON workspaces;

ALTER TABLE workspaces NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY team_members_owners_remove_or_leave ON team_members;

DROP POLICY team_members_owners_update ON team_members;

DROP POLICY team_members_owners_add ON team_members;

DROP POLICY team_members_members_read ON team_members;

ALTER TABLE team_members NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY teams_owners_delete ON teams;

DROP POLICY teams_owners_update ON teams;

DROP POLICY teams_members_read ON teams;

ALTER TABLE teams NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY accounts_own_rows ON accounts;

ALTER TABLE accounts NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY sessions_own_rows ON sessions;

ALTER TABLE sessions NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY users_own_row ON users;

ALTER TABLE users NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP FUNCTION app_is_team_owner(uuid);

DROP FUNCTION app_is_team_member(uuid);

DROP FUNCTION app_acting_user();
