-- 20261128114027_member_check_for_team_owners rollback: back to 0051's app_user_is_active(text),
-- answering any acting user.

CREATE FUNCTION app_user_is_active(checked_user_id text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM users WHERE id = checked_user_id AND deleted_at IS NULL)
$$;

COMMENT ON FUNCTION app_user_is_active(text) IS
    'Adding a member: whether this id is an active user (and nothing else about it).';

REVOKE ALL ON FUNCTION app_user_is_active(text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_user_is_active(text) TO reference_app;

DROP FUNCTION app_user_is_active(text, uuid);
