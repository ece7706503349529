-- 20261207082948_team_list_indexes: a team's members and its pending invitations are read in
-- keyset pages in the order they joined or were invited, (created_at, user_id), instead of
-- all at once up to a fixed LIMIT that cut an enterprise team's list silently. These indexes
-- serve that order under the team's id, so a page is read in index order, never sorted.
-- transactional: false
--
-- Each primary key, (team_id, user_id), serves a lookup, not the order. Built CONCURRENTLY
-- (the tables stay readable and writable), so outside a transaction. A failed build leaves an
-- INVALID index: DROP INDEX CONCURRENTLY it and migrate again.

CREATE INDEX CONCURRENTLY IF NOT EXISTS team_members_team_id_created_at_user_id_idx
    ON team_members (team_id, created_at, user_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS team_invitations_team_id_created_at_user_id_idx
    ON team_invitations (team_id, created_at, user_id);
