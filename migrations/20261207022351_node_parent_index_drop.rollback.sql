-- 20261207022351_node_parent_index_drop rollback: the (parent_uuid, position) index comes back.
-- transactional: false

CREATE INDEX CONCURRENTLY IF NOT EXISTS nodes_parent_uuid_position_idx
    ON nodes (parent_uuid, position);
