-- 20261128114027_member_check_for_team_owners: whether a user id is an active user is told
-- only to an OWNER of the team it is being added to.
--
-- app_user_is_active(user_id) (0051) answered any acting user, so anyone could test ids for
-- accounts. Adding or re-roling a member is an owner's act (the team_members policies), so
-- the check now takes the team: app_user_is_active(user_id, team_id) is true only when the
-- acting user is an OWNER of that team and the id is an active user; anyone else learns
-- nothing (false). An owner learns what adding the member tells anyway.

CREATE FUNCTION app_user_is_active(checked_user_id text, for_team_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT app_is_team_owner(for_team_id)
        AND EXISTS (SELECT 1 FROM users WHERE id = checked_user_id AND deleted_at IS NULL)
$$;

COMMENT ON FUNCTION app_user_is_active(text, uuid) IS
    'Adding a member: whether this id is an active user, told only to an OWNER of the team.';

REVOKE ALL ON FUNCTION app_user_is_active(text, uuid) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_user_is_active(text, uuid) TO reference_app;

-- The one-argument form goes: it is the leak. An application still calling it (an older
-- release during a rolling deploy) fails to add members until it runs this release's SQL.
-- squawk-ignore ban-drop-function
DROP FUNCTION app_user_is_active(text);
