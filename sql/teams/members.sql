-- Team members. Demoting or removing the last OWNER is refused by the database (trigger
-- team_members_keep_an_owner, error constraint team_members_last_owner). A user becomes a
-- member by accepting an owner's invitation (sql/teams/invitations.sql).

-- name: update_team_member_role(team_id, user_id, role)<!
-- Sets the role of an active user in a team; returns the membership, or nothing (whether the
-- member is active is read from the co-member directory, app_team_directory).
UPDATE team_members AS m
SET role = CAST(:role AS user_role)
WHERE m.team_id = :team_id
    AND m.user_id = :user_id
    AND m.user_id IN (SELECT d.user_id FROM app_team_directory(m.team_id) AS d)
RETURNING m.team_id, m.user_id, m.role, m.created_at;

-- name: get_team_member_role(team_id, user_id)$
-- Returns the user's role in the team (OWNER or MEMBER), or nothing when it is not a member.
SELECT role
FROM team_members
WHERE team_id = :team_id AND user_id = :user_id;

-- name: delete_team_member(team_id, user_id)!
-- Removes a user (soft-deleted ones too) from a team; returns the count (0 or 1).
DELETE FROM team_members
WHERE team_id = :team_id AND user_id = :user_id;

-- name: list_team_members(team_id, after_joined_at, after_user_id, page_size)
-- One page of the team's active members with their names and roles, in the order they joined,
-- strictly after the cursor (after_joined_at, after_user_id; NULL = the first page); nothing
-- unless the acting user is a member. The page path app_team_directory_page (20261207082949)
-- reads the page from team_members_team_id_created_at_user_id_idx; only its rows are sorted here.
SELECT
    d.team_id AS "team_id!", d.user_id AS "user_id!", d.name AS "name!", d.email AS "email!",
    d.username, d.image, d.role AS "role!", d.joined_at AS "joined_at!"
FROM app_team_directory_page(:team_id::uuid,
                             coalesce(:after_joined_at::timestamptz, '-infinity'),
                             coalesce(:after_user_id::text, ''), :page_size::integer) AS d
ORDER BY d.joined_at, d.user_id;
