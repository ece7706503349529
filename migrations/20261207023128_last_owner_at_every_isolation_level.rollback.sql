-- 20261207023128_last_owner_at_every_isolation_level rollback: team_assert_has_owner() as
-- 0008 and 0051 left it (the team lock only), and the guard table goes.

CREATE OR REPLACE FUNCTION team_assert_has_owner(checked_team_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    -- Serialize every owner-removing change of this team (see the migration's header).
    PERFORM 1 FROM teams WHERE id = checked_team_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;  -- the team itself is being deleted: its members go with it
    END IF;
    IF NOT EXISTS (
        SELECT 1
        FROM team_members AS m
        JOIN users AS u ON u.id = m.user_id
        WHERE m.team_id = checked_team_id AND m.role = 'OWNER' AND u.deleted_at IS NULL
    ) THEN
        RAISE EXCEPTION 'team % must keep at least one owner', checked_team_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'team_members_last_owner',
                  TABLE = 'team_members',
                  HINT = 'Make another member an OWNER first, or delete the team.';
    END IF;
END;
$$;

COMMENT ON FUNCTION team_assert_has_owner(uuid) IS
    'Locks the team row, then raises check_violation (team_members_last_owner) if it has no active OWNER left.';

DROP TABLE team_owner_guards;
