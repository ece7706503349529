-- 20261207082949_team_directory_page: the co-member directory read a page at a time. The
-- directory app_team_directory (0051) returns every active member of a team: the query
-- list_team_members sorted them all and kept the first 1000, silently losing the rest of an
-- enterprise team. app_team_directory_page returns one page of it, in the order the members
-- joined, (created_at, user_id), strictly after the cursor (('-infinity', ''): the first page;
-- a NULL finds nothing), read in that order from team_members_team_id_created_at_user_id_idx
-- (20261207082948).
--
-- Like the directory it runs as the owner (the users' policy shows the application role only
-- its own row) and finds nothing unless the acting user is a member of the team. A page size
-- outside 1 to 1001 is refused: a NULL would make LIMIT read the whole team. app_team_directory
-- stays: update_team_member_role checks a member is active through it.
--
-- Granted to reference_app only (EXECUTE revoked from PUBLIC).

CREATE FUNCTION app_team_directory_page(
    checked_team_id uuid, after_joined_at timestamptz, after_user_id text, page_size integer
)
RETURNS TABLE (
    team_id uuid, user_id text, name text, email text, username text, image text,
    role user_role, joined_at timestamptz
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 1001 THEN
        RAISE EXCEPTION 'page_size must be between 1 and 1001'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT m.team_id, m.user_id, u.name, u.email, u.username, u.image, m.role, m.created_at
    FROM team_members AS m
    JOIN users AS u ON u.id = m.user_id
    WHERE m.team_id = checked_team_id AND u.deleted_at IS NULL
      AND (m.created_at, m.user_id) > (after_joined_at, after_user_id)
      AND app_is_team_member(checked_team_id)
    ORDER BY m.created_at, m.user_id
    LIMIT page_size;
END;
$$;

COMMENT ON FUNCTION app_team_directory_page(uuid, timestamptz, text, integer) IS
    'One page of the co-member directory, in the order members joined, after the cursor; none unless the acting user is a member.';

REVOKE ALL ON FUNCTION app_team_directory_page(uuid, timestamptz, text, integer) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_team_directory_page(uuid, timestamptz, text, integer)
    TO reference_app;
