-- name: create_workspace(user_id, slug, name, domain, embed_depth)<!
-- The new workspace; no row when the user does not exist or is soft-deleted.
-- A second workspace for the user or a taken slug fails on workspaces_user_id_key or
-- workspaces_slug_key: the constraints decide, so two racing creates cannot both succeed.
INSERT INTO workspaces (user_id, slug, name, domain, embed_depth)
SELECT u.id, :slug::text, :name::text, :domain::text, :embed_depth::integer
FROM users AS u
WHERE u.id = :user_id AND u.deleted_at IS NULL
RETURNING id, user_id, slug, name, domain, embed_depth, created_at, updated_at;

-- name: get_workspace_by_slug(slug)^
-- The workspace with this slug, unless its owner is soft-deleted.
SELECT w.id, w.user_id, w.slug, w.name, w.domain, w.embed_depth, w.created_at, w.updated_at
FROM workspaces AS w
JOIN users AS u ON u.id = w.user_id AND u.deleted_at IS NULL
WHERE w.slug = :slug;

-- name: get_workspace_by_user_id(user_id)^
-- The user's workspace, unless the user is soft-deleted.
SELECT w.id, w.user_id, w.slug, w.name, w.domain, w.embed_depth, w.created_at, w.updated_at
FROM workspaces AS w
JOIN users AS u ON u.id = w.user_id AND u.deleted_at IS NULL
WHERE w.user_id = :user_id;

-- name: update_workspace_name(user_id, name, slug)<!
-- The renamed workspace of the user (slug kept when :slug is NULL); no row when none.
UPDATE workspaces AS w
SET name = :name::text, slug = coalesce(:slug::text, w.slug)
FROM users AS u
WHERE w.user_id = :user_id AND u.id = w.user_id AND u.deleted_at IS NULL
RETURNING w.id, w.user_id, w.slug, w.name, w.domain, w.embed_depth, w.created_at, w.updated_at;

-- name: delete_workspace_by_user_id(user_id)!
-- Deletes the user's workspace with its nodes, repository and deployments; 1 or 0 rows.
DELETE FROM workspaces
WHERE user_id = :user_id;

-- name: update_workspace_settings(user_id, domain, set_domain, embed_depth)<!
-- The user's workspace with its custom domain (when set_domain; NULL removes it) and/or embed_depth (NULL keeps it) changed; no row when none. A depth out of range fails on workspaces_embed_depth_range.
UPDATE workspaces AS w
SET domain = CASE WHEN :set_domain::boolean THEN :domain::text ELSE w.domain END,
    embed_depth = coalesce(:embed_depth::integer, w.embed_depth)
FROM users AS u
WHERE w.user_id = :user_id AND u.id = w.user_id AND u.deleted_at IS NULL
RETURNING w.id, w.user_id, w.slug, w.name, w.domain, w.embed_depth, w.created_at, w.updated_at;
