-- Team members. Demoting or removing the last OWNER is refused by the database (trigger
-- team_members_keep_an_owner, error constraint team_members_last_owner).

-- name: create_team_member(team_id, user_id, role)<!
-- Adds an active user to a team with a role; returns the membership, or nothing when the
-- user is not active.
INSERT INTO team_members (team_id, user_id, role)
SELECT CAST(:team_id AS uuid), u.id, CAST(:role AS user_role)
FROM users AS u
WHERE u.id = :user_id AND u.deleted_at IS NULL
RETURNING team_id, user_id, role, created_at;

-- name: update_team_member_role(team_id, user_id, role)<!
-- Sets the role of an active user in a team; returns the membership, or nothing.
UPDATE team_members AS m
SET role = CAST(:role AS user_role)
FROM users AS u
WHERE m.team_id = :team_id
    AND m.user_id = :user_id
    AND u.id = m.user_id
    AND u.deleted_at IS NULL
RETURNING m.team_id, m.user_id, m.role, m.created_at;

-- name: delete_team_member(team_id, user_id)!
-- Removes a user (soft-deleted ones too) from a team; returns the count (0 or 1).
DELETE FROM team_members
WHERE team_id = :team_id AND user_id = :user_id;

-- name: list_team_members(team_id)
-- Returns the team's active members with their names and roles, owners first, then by name.
SELECT
    m.team_id, m.user_id, u.name, u.email, u.username, u.image, m.role,
    m.created_at AS joined_at
FROM team_members AS m
JOIN users AS u ON u.id = m.user_id
WHERE m.team_id = :team_id AND u.deleted_at IS NULL
ORDER BY m.role = 'OWNER' DESC, u.name, u.id;
