-- 20261128110403_node_parent_in_workspace rollback: the workspace-aware foreign key goes (the
-- old one, parent_uuid -> nodes (uuid), is still there until the next migration).

ALTER TABLE nodes DROP CONSTRAINT nodes_workspace_id_parent_uuid_fkey;
