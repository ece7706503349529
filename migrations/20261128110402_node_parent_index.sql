-- 20261128110402_node_parent_index: a unique index on nodes (workspace_id, uuid), built
-- CONCURRENTLY (nodes stays writable meanwhile), so outside a transaction. The next migration
-- makes a node's parent foreign key reference it: a parent must be in the node's workspace.
-- uuid alone is already unique (the primary key): the index adds no rule of its own.
-- transactional: false

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS nodes_workspace_id_uuid_key
    ON nodes (workspace_id, uuid);
