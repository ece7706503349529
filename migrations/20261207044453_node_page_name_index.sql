-- 20261207044453_node_page_name_index: every node is indexed by (workspace_id, page_name) again,
-- as the contract lists it, in an index that only a query naming page_name can take.
-- transactional: false
--
-- 20261207022351 dropped the plain (workspace_id, page_name) index: leading with workspace_id,
-- it could serve the scoped keys' per-row queries ('workspace_id = $1 AND uuid = $2', the
-- parent key's check; 'workspace_id = $1 AND parent_uuid = $2', its cascade) with workspace_id
-- alone, and while nodes looked empty to the planner it costed the same as their own indexes,
-- so a session could keep a plan that scanned the workspace once per row. Since then a page by
-- name had nodes_page_key (pages only) and a query over a page's blocks by name no index.
--
-- The predicate 'page_name IS NOT NULL' holds for every row (page_name is NOT NULL): the index
-- holds every page and block. A query may use a partial index only when its conditions imply
-- the predicate: 'page_name = $1' (any strict operator on page_name) does, the keys' queries,
-- which never name page_name, do not, so they keep one index each whatever the estimates.
-- Built CONCURRENTLY (nodes stays readable and writable), so outside a transaction.

CREATE INDEX CONCURRENTLY IF NOT EXISTS nodes_workspace_id_page_name_idx
    ON nodes (workspace_id, page_name) WHERE page_name IS NOT NULL;
