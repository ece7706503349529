-- 20261207022341_node_keys_validate rollback: the parent key is as the previous migration left it, NOT
-- VALID (dropped and added again: PostgreSQL cannot mark a validated constraint not valid).

ALTER TABLE nodes DROP CONSTRAINT nodes_workspace_id_parent_uuid_fkey;

ALTER TABLE nodes
    ADD CONSTRAINT nodes_workspace_id_parent_uuid_fkey
    FOREIGN KEY (workspace_id, parent_uuid) REFERENCES nodes (workspace_id, uuid)
    ON DELETE CASCADE NOT VALID;
