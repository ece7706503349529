-- 20261128110514_node_parent_in_workspace_validate rollback: the old foreign key comes back
-- (every row satisfies it: the workspace-aware one implied it), and the workspace-aware one is
-- as the previous migration left it, NOT VALID (dropped and added again: PostgreSQL cannot
-- mark a validated constraint not valid).

ALTER TABLE nodes
    ADD CONSTRAINT nodes_parent_uuid_fkey
    FOREIGN KEY (parent_uuid) REFERENCES nodes (uuid) ON DELETE CASCADE NOT VALID;

ALTER TABLE nodes VALIDATE CONSTRAINT nodes_parent_uuid_fkey;

ALTER TABLE nodes DROP CONSTRAINT nodes_workspace_id_parent_uuid_fkey;

ALTER TABLE nodes
    ADD CONSTRAINT nodes_workspace_id_parent_uuid_fkey
    FOREIGN KEY (workspace_id, parent_uuid) REFERENCES nodes (workspace_id, uuid)
    ON DELETE CASCADE NOT VALID;
