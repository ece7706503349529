-- Teams, addressed by id or by their unique slug.

-- name: create_team(name, slug)$
-- Creates a team with the acting user as its OWNER; returns the team's id (the path
-- app_create_team of migration 0051: the role cannot insert a team it is not yet a member of).
SELECT app_create_team(:name, :slug) AS "id!";

-- name: get_team_by_id(team_id)^
-- Returns the team with this id, or nothing.
SELECT id, name, slug, created_at, updated_at
FROM teams
WHERE id = :team_id;

-- name: get_team_by_slug(slug)^
-- Returns the team with this slug, or nothing.
SELECT id, name, slug, created_at, updated_at
FROM teams
WHERE slug = :slug;

-- name: list_teams_by_user(user_id)
-- Returns the teams an active user belongs to, with the user's role in each, by name.
SELECT t.id, t.name, t.slug, t.created_at, t.updated_at, m.role
FROM team_members AS m
JOIN teams AS t ON t.id = m.team_id
JOIN users AS u ON u.id = m.user_id
WHERE m.user_id = :user_id AND u.deleted_at IS NULL
ORDER BY t.name, t.id;

-- name: delete_team(team_id)!
-- Deletes a team and (by cascade) its memberships; returns the count (0 or 1).
DELETE FROM teams
WHERE id = :team_id;
