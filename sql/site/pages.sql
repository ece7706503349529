-- The notes site's reads of pages that the owner's queries (sql/content/) do not already
-- answer; the site also runs content's list_pages_by_workspace and list_backlinks_by_page,
-- which read nodes alone.
--
-- list_site_page_tree restates content's list_page_tree on purpose, not by oversight: a
-- visitor's query reads the tables directly, not through functions, as reference_visitor under
-- that role's own policies (and may be served by a replica), and finds the page by its public
-- slug; the owner's list_page_tree runs as reference_app for the acting user, on the primary.
-- Kept apart, either one can change for its own role without touching the other.

-- name: list_site_page_tree(workspace_id, slug)
-- The page with this slug (the first by page name when several share it) at depth 0, then its
-- blocks down to the workspace's embed_depth, depth-first in position order, at most 10001
-- rows (a 10001st makes the service refuse, as content's list_page_tree's does); no rows when
-- there is no such page. One recursive query; every step names the workspace, so each level is
-- read from nodes_workspace_id_parent_uuid_position_idx.
-- plainsql: replica-safe
WITH RECURSIVE page AS (
    SELECT n.uuid, n.workspace_id, n.parent_uuid, n.position, n.page_name, n.slug, n.title,
           n.html, n.metadata, n.created_at, n.updated_at, w.embed_depth
    FROM workspaces AS w
    JOIN nodes AS n ON n.workspace_id = w.id
    WHERE w.id = :workspace_id AND n.slug = :slug AND n.parent_uuid IS NULL
    ORDER BY n.page_name
    LIMIT 1
), tree AS (
    SELECT uuid, workspace_id, parent_uuid, position, page_name, slug, title, html, metadata,
           created_at, updated_at, 0 AS depth, ARRAY[]::integer[] AS path, embed_depth
    FROM page
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
