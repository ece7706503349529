-- 20261207022351_node_parent_index_drop rollback: both indexes come back.
-- transactional: false

CREATE INDEX CONCURRENTLY IF NOT EXISTS nodes_workspace_id_page_name_idx
    ON nodes (workspace_id, page_name);

CREATE INDEX CONCURRENTLY IF NOT EXISTS nodes_parent_uuid_position_idx
    ON nodes (parent_uuid, position);
