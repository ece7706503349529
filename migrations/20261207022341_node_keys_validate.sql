-- 20261207022341_node_keys_validate: validate the existing nodes against the workspace-scoped parent key
-- (20261207022307 added it NOT VALID).
--
-- VALIDATE reads nodes under a SHARE UPDATE EXCLUSIVE lock: reads and writes go on. A node
-- whose parent is in another workspace fails it with the constraint's name and the key; such
-- rows must be moved or removed by hand first.

ALTER TABLE nodes VALIDATE CONSTRAINT nodes_workspace_id_parent_uuid_fkey;
