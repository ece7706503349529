-- 0008_team_members rollback: drop the owner rule's triggers and functions, then the table.

DROP TRIGGER users_keep_team_owners ON users;

DROP FUNCTION users_keep_team_owners();

DROP TABLE team_members;

DROP FUNCTION team_members_keep_an_owner();

DROP FUNCTION team_assert_has_owner(uuid);
