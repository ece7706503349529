-- 20261207022305_node_keys_indexes: the two indexes the workspace-scoped node keys need, built
-- CONCURRENTLY (nodes stays readable and writable meanwhile), so outside a transaction.
-- transactional: false
--
-- - nodes_workspace_id_uuid_key: unique (workspace_id, uuid); the next migration makes it the
--   primary key (a key computed by one workspace's import can no longer be taken by another
--   workspace) and the target of the parent foreign key;
-- - nodes_workspace_id_parent_uuid_position_idx: the children of a node in order. It serves the
--   parent foreign key (workspace_id, parent_uuid): every node a DELETE removes makes the
--   cascade run 'DELETE FROM nodes WHERE workspace_id = $1 AND parent_uuid = $2', and an index
--   leading with both columns answers it in one probe. (An earlier attempt kept only
--   (parent_uuid, position): the planner picked a workspace index, and deleting 100,000 nodes
--   took 140 s.) It replaces nodes_parent_uuid_position_idx (dropped once the old key is gone,
--   20261207022351). It holds blocks only (a page has no parent): a query that names no
--   parent (the key's own check, 'workspace_id = $1 AND uuid = $2') cannot use it, so the
--   primary key is the one index that check can take (see 20261207022351).

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS nodes_workspace_id_uuid_key
    ON nodes (workspace_id, uuid);

CREATE INDEX CONCURRENTLY IF NOT EXISTS nodes_workspace_id_parent_uuid_position_idx
    ON nodes (workspace_id, parent_uuid, position) WHERE parent_uuid IS NOT NULL;
