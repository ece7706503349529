-- 20261207023235_team_invitations rollback: owners add members directly again (INSERT on
-- team_members, app_user_is_active(text, uuid) as 20261128114027 made it); pending
-- invitations are dropped with their table.
-- squawk-ignore-file ban-drop-function, ban-drop-table

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

DROP FUNCTION app_accept_team_invitation(uuid);

DROP FUNCTION app_team_invitations_of_acting_user();

GRANT INSERT ON team_members TO reference_app;

DROP TABLE team_invitations;
