-- 20261128110402_node_parent_index rollback: the index goes.
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS nodes_workspace_id_uuid_key;
