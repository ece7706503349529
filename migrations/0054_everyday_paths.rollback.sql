-- 0054_everyday_paths rollback: the paths and the admin read policy go; soft-deleted teams
-- lose their mark (they are teams again: purge them first if they must stay gone).

DROP FUNCTION app_purge_deleted_teams(integer);

DROP FUNCTION app_set_user_role(text, user_role);

DROP POLICY users_admins_read ON users;

DROP FUNCTION app_acting_user_is_admin();

DROP FUNCTION app_credential_by_login(text);

REVOKE UPDATE (deleted_at) ON teams FROM reference_app;

ALTER TABLE teams DROP COLUMN deleted_at;
