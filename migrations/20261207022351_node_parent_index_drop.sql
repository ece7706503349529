-- 20261207022351_node_parent_index_drop: nodes_parent_uuid_position_idx goes: every query that lists a node's
-- children names its workspace now, and nodes_workspace_id_parent_uuid_position_idx
-- (20261207022305) serves them and the parent key, so the import maintains no more indexes
-- than before the keys were scoped. Dropped CONCURRENTLY (no lock on readers), so outside a
-- transaction.
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS nodes_parent_uuid_position_idx;
