-- 20261128110514_node_parent_in_workspace_validate: validate the existing nodes against the
-- workspace-aware parent foreign key (previous migration), then drop the old parent_uuid ->
-- nodes (uuid) foreign key, which the new one implies (a parent in the same workspace exists).
--
-- VALIDATE reads nodes under a SHARE UPDATE EXCLUSIVE lock: reads and writes go on. A node
-- whose parent is in another workspace fails it with the constraint's name and the key; the
-- migration then changes nothing, and such rows must be moved or removed by hand first.

ALTER TABLE nodes VALIDATE CONSTRAINT nodes_workspace_id_parent_uuid_fkey;

-- squawk-ignore ban-drop-constraint
ALTER TABLE nodes DROP CONSTRAINT nodes_parent_uuid_fkey;
