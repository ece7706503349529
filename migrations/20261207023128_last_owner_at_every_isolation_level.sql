-- 20261207023128_last_owner_at_every_isolation_level: the last-owner rule (0008) holds at
-- READ COMMITTED, REPEATABLE READ and SERIALIZABLE alike, for every path that demotes or
-- removes an owner (a role change, leaving, a removal, a user's soft or hard delete).
--
-- 0008 locked the team row, then counted the owners left. At READ COMMITTED the count runs on
-- a fresh snapshot taken after the lock, so of two owners demoting themselves at once the
-- second sees the first's commit and is refused. At REPEATABLE READ and SERIALIZABLE the count
-- runs on the transaction's snapshot, taken before the wait: the second counted the first as
-- still an owner, and 16 concurrent self-demotions left 50 of 50 teams without one. Locking a
-- row raises no error where the other transaction only locked it.
--
-- Now every owner-removing change also writes the team's row of team_owner_guards (an upsert
-- that bumps a counter), after locking the team as before. Writing a row that a transaction
-- invisible to this one's snapshot wrote is a serialization failure (SQLSTATE 40001) at
-- REPEATABLE READ and SERIALIZABLE: the second change is rolled back instead of counting on a
-- stale snapshot, and plainsql's retry runs it again, on a snapshot that sees the first. At
-- READ COMMITTED the write just waits, as the lock did. No deadlock is added: the guard row is
-- written under the team lock, which every such change takes first.
--
-- team_owner_guards is internal: row-level security enabled and forced with no policy, no
-- privilege for any application role; only the SECURITY DEFINER trigger function writes it.

CREATE TABLE team_owner_guards (
    team_id uuid   NOT NULL,
    changes bigint NOT NULL DEFAULT 1,
    CONSTRAINT team_owner_guards_pkey PRIMARY KEY (team_id),
    CONSTRAINT team_owner_guards_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id)
        ON DELETE CASCADE
);

COMMENT ON TABLE team_owner_guards IS
    'Internal: one row per team, written by every owner-removing change so that concurrent ones conflict at any isolation level.';

ALTER TABLE team_owner_guards ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE OR REPLACE FUNCTION team_assert_has_owner(checked_team_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    -- Serialize every owner-removing change of this team (see 0008).
    PERFORM 1 FROM teams WHERE id = checked_team_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;  -- the team itself is being deleted: its members go with it
    END IF;
    -- Conflict with any concurrent owner-removing change this snapshot cannot see (40001 at
    -- REPEATABLE READ and SERIALIZABLE; see the migration's header).
    INSERT INTO team_owner_guards AS g (team_id) VALUES (checked_team_id)
    ON CONFLICT (team_id) DO UPDATE SET changes = g.changes + 1;
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
    'Locks the team and writes its guard row, then raises check_violation (team_members_last_owner) if it has no active OWNER left.';
