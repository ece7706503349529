-- name: list_pages_by_workspace(workspace_id, after_page_name, page_size)
-- One page of the workspace's pages (no blocks), by page name, strictly after after_page_name (NULL = the first page); a page name is unique among the workspace's pages (nodes_page_key), which is read in order.
SELECT uuid, workspace_id, parent_uuid, position, page_name, slug, title, html, metadata,
       created_at, updated_at
FROM nodes
WHERE workspace_id = :workspace_id AND parent_uuid IS NULL
  AND page_name > coalesce(:after_page_name::text, '')
ORDER BY page_name
LIMIT :page_size::integer;

-- name: list_page_tree(workspace_id, page_name)
-- The page (depth 0) then its blocks down to the workspace's embed_depth, depth-first in
-- position order, at most 10001 rows; no rows when the page does not exist. One recursive query,
-- not one per level. A tree is shown whole, so not paged: a 10001st row makes the services
-- refuse (reference_apps.services.content.MAX_TREE_ROWS) rather than show a page cut short.
WITH RECURSIVE tree AS (
    SELECT n.uuid, n.workspace_id, n.parent_uuid, n.position, n.page_name, n.slug, n.title,
           n.html, n.metadata, n.created_at, n.updated_at,
           0 AS depth, ARRAY[]::integer[] AS path, w.embed_depth
    FROM workspaces AS w
    JOIN nodes AS n ON n.workspace_id = w.id
    WHERE w.id = :workspace_id AND n.page_name = :page_name AND n.parent_uuid IS NULL
    UNION ALL
    SELECT c.uuid, c.workspace_id, c.parent_uuid, c.position, c.page_name, c.slug, c.title,
           c.html, c.metadata, c.created_at, c.updated_at,
           t.depth + 1, t.path || c.position, t.embed_depth
    FROM tree AS t
    JOIN nodes AS c
        ON c.workspace_id = t.workspace_id AND c.parent_uuid = t.uuid AND c.parent_uuid IS NOT NULL
    WHERE t.depth < t.embed_depth
)
SELECT uuid, workspace_id, parent_uuid, position, page_name, slug, title, html, metadata,
       created_at, updated_at,
       depth  -- 0 for the page, then a parent's depth + 1: typegen proves it NOT NULL
FROM tree
ORDER BY path, uuid
LIMIT 10001;

-- name: delete_page_by_name(workspace_id, page_name)!
-- Deletes the page; its blocks go with it (ON DELETE CASCADE). 1, or 0 when there is no such page.
DELETE FROM nodes
WHERE workspace_id = :workspace_id AND page_name = :page_name AND parent_uuid IS NULL;

-- name: get_page_by_slug(workspace_id, slug)^
-- The page (not a block) of the workspace with this slug, its public URL; when several pages share a slug, the first by page name.
SELECT uuid, workspace_id, parent_uuid, position, page_name, slug, title, html, metadata,
       created_at, updated_at
FROM nodes
WHERE workspace_id = :workspace_id AND slug = :slug AND parent_uuid IS NULL
ORDER BY page_name
LIMIT 1;
