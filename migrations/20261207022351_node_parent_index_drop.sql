-- 20261207022351_node_parent_index_drop: the indexes the scoped keys make redundant go, so each
-- of the keys' per-row queries has one index to take, whatever the planner's estimates.
-- transactional: false
--
-- - nodes_parent_uuid_position_idx: every query that lists a node's children names its
--   workspace now, and nodes_workspace_id_parent_uuid_position_idx (20261207022305) serves
--   them and the parent key's cascade;
-- - nodes_workspace_id_page_name_idx: a page by name is nodes_page_key (workspace_id,
--   page_name) WHERE parent_uuid IS NULL, the workspace's blocks are the parent index's, and
--   the foreign key to workspaces is served by the primary key (workspace_id, uuid). Kept, it
--   led with workspace_id and nothing else: for the parent key's check ('workspace_id = $1 AND
--   uuid = $2', once per inserted block) it costed the same as the primary key while the
--   planner took nodes for nearly empty (a fresh or emptied table), and a plan made then was
--   kept by the session: an import of 100,000 nodes ran one scan of the workspace per block
--   (a chunk passed its 30 s statement_timeout in make bench).
-- So the import maintains one index fewer than before the keys were scoped.
-- Dropped CONCURRENTLY (no lock on readers), so outside a transaction.

DROP INDEX CONCURRENTLY IF EXISTS nodes_parent_uuid_position_idx;

DROP INDEX CONCURRENTLY IF EXISTS nodes_workspace_id_page_name_idx;
