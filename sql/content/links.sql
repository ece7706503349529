-- name: list_backlinks_by_page(workspace_id, page_name)
-- The blocks of the workspace whose html links the page (<a data-page="NAME">), with the
-- page they sit on; by linking page, then position; at most 1001. Served by nodes_linked_pages_idx: the
-- expression must stay node_linked_pages(b.html) for the planner to match the index.
-- Not paged (its order, (page_name, position, uuid), is no keyset of one key and an id): a
-- 1001st row makes the services refuse (reference_apps.services.content.MAX_BACKLINKS)
-- rather than cut the list short.
SELECT b.uuid, b.parent_uuid,
       b.position, b.page_name, b.html,
       p.uuid AS page_uuid, p.slug AS page_slug, p.title AS page_title
FROM nodes AS b
JOIN nodes AS p
    ON p.workspace_id = b.workspace_id AND p.page_name = b.page_name AND p.parent_uuid IS NULL
WHERE b.workspace_id = :workspace_id
    AND b.parent_uuid IS NOT NULL
    AND node_linked_pages(b.html) @> ARRAY[:page_name::text]
ORDER BY b.page_name, b.position, b.uuid
LIMIT 1001;
