-- 20261207022305_node_keys_indexes rollback: both indexes go.
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS nodes_workspace_id_parent_uuid_position_idx;

DROP INDEX CONCURRENTLY IF EXISTS nodes_workspace_id_uuid_key;
