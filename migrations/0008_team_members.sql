-- 0008_team_members: who belongs to which team, with which role, and the rule that a team
-- always keeps at least one OWNER.
--
-- The rule is enforced here, not in Python, so that every writer (services, scripts, psql)
-- obeys it, also under concurrency. Every change that can take an owner away (demoting or
-- removing an OWNER, soft-deleting or hard-deleting a user who owns teams) runs
-- team_assert_has_owner(team_id) in an AFTER ROW trigger. That function first locks the
-- team row (FOR NO KEY UPDATE: it does not block the KEY SHARE locks that foreign key checks
-- of new members take), so two such changes to one team run one after the other; the second
-- then counts the owners with a fresh READ COMMITTED snapshot that sees the first one's
-- commit, and fails with check_violation naming the pseudo-constraint
-- team_members_last_owner. (Under REPEATABLE READ the count would use the old snapshot: the
-- services run in READ COMMITTED, PostgreSQL's default.) A soft-deleted owner no longer
-- counts: it is invisible everywhere. A team being deleted (its row is gone in this
-- transaction) is not checked, so deleting a team cascades to its members.

CREATE TABLE team_members (
    team_id    uuid        NOT NULL,
    user_id    text        NOT NULL,
    role       user_role   NOT NULL DEFAULT 'MEMBER',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_members_pkey PRIMARY KEY (team_id, user_id),
    CONSTRAINT team_members_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE,
    CONSTRAINT team_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX team_members_user_id_idx ON team_members (user_id);

COMMENT ON TABLE team_members IS 'Membership of users in teams with their role; every team keeps at least one active OWNER.';

CREATE FUNCTION team_assert_has_owner(checked_team_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
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

CREATE FUNCTION team_members_keep_an_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM team_assert_has_owner(OLD.team_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER team_members_keep_an_owner
    AFTER UPDATE OR DELETE ON team_members
    FOR EACH ROW WHEN (OLD.role = 'OWNER')
    EXECUTE FUNCTION team_members_keep_an_owner();

CREATE FUNCTION users_keep_team_owners() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owned_team_id uuid;
BEGIN
    -- Team order: two users soft-deleted at once lock their teams in the same order.
    FOR owned_team_id IN
        SELECT team_id FROM team_members WHERE user_id = NEW.id AND role = 'OWNER' ORDER BY team_id
    LOOP
        PERFORM team_assert_has_owner(owned_team_id);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_keep_team_owners
    AFTER UPDATE OF deleted_at ON users
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION users_keep_team_owners();
