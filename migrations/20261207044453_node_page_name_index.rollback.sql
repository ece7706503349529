-- 20261207044453_node_page_name_index rollback: the index goes (20261207022351's rollback
-- brings back the plain one).
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS nodes_workspace_id_page_name_idx;
