-- Teams, addressed by id or by their unique slug. A soft-deleted team (deleted_at set, 0054)
-- is invisible to every get and list; its slug stays taken until the purge.

-- name: create_team(name, slug)$
-- Creates a team with the acting user as its OWNER; returns the team's id (the path
-- app_create_team of migration 0051: the role cannot insert a team it is not yet a member of).
SELECT app_create_team(:name, :slug) AS "id!";

-- name: get_team_by_id(team_id)^
-- Returns the team with this id, or nothing.
SELECT id, name, slug, created_at, updated_at
FROM teams
WHERE id = :team_id AND deleted_at IS NULL;

-- name: get_team_by_slug(slug)^
-- Returns the team with this slug, or nothing.
SELECT id, name, slug, created_at, updated_at
FROM teams
WHERE slug = :slug AND deleted_at IS NULL;

-- name: list_teams_by_user(user_id)
-- Returns the teams an active user belongs to, with the user's role in each, by name; at most 1000.
-- Capped, not paged: one joins a team only by accepting an invitation oneself, so a user's
-- teams are few (the switcher shows them all); a thousand is far past any real use.
-- Cached per acting user (the team switcher reads it on every page): a committed write to
-- teams, team_members or users drops it; an entry lives 30 s at most.
-- plainsql: cache ttl=30s
SELECT t.id, t.name, t.slug, t.created_at, t.updated_at, m.role
FROM team_members AS m
JOIN teams AS t ON t.id = m.team_id
JOIN users AS u ON u.id = m.user_id
WHERE m.user_id = :user_id AND u.deleted_at IS NULL AND t.deleted_at IS NULL
ORDER BY t.name, t.id
LIMIT 1000;

-- name: delete_team(team_id)!
-- Deletes a team and (by cascade) its memberships; returns the count (0 or 1).
DELETE FROM teams
WHERE id = :team_id;

-- name: update_team_name(team_id, name, slug)<!
-- The live team renamed (slug kept when :slug is NULL); nothing when missing, soft-deleted or the acting user is not an OWNER (the policy). A taken slug violates teams_slug_key.
UPDATE teams
SET name = :name::text, slug = coalesce(:slug::text, slug)
WHERE id = :team_id AND deleted_at IS NULL
RETURNING id, name, slug, created_at, updated_at;

-- name: update_team_soft_deleted(team_id)!
-- Soft-deletes the live team (an OWNER's: the policy); 1, or 0 when missing or already deleted.
UPDATE teams
SET deleted_at = now()
WHERE id = :team_id AND deleted_at IS NULL;

-- name: update_team_restored(team_id)<!
-- Restores the soft-deleted team (an OWNER's: the policy); nothing when missing, live, or purged.
UPDATE teams
SET deleted_at = NULL
WHERE id = :team_id AND deleted_at IS NOT NULL
RETURNING id, name, slug, created_at, updated_at;

-- name: delete_teams_soft_deleted_before(retention_seconds)$
-- The maintenance purge (app_purge_deleted_teams, 0054): deletes every team soft-deleted more than retention_seconds ago, with its memberships; returns the count. No acting user needed.
SELECT app_purge_deleted_teams(:retention_seconds::integer) AS "purged!";
