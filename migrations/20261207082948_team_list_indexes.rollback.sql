-- 20261207082948_team_list_indexes rollback: the two indexes of the team lists' pages go.
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS team_invitations_team_id_created_at_user_id_idx;

DROP INDEX CONCURRENTLY IF EXISTS team_members_team_id_created_at_user_id_idx;
