-- 20261207022307_node_keys_in_workspace rollback: the global keys come back: primary key
-- (uuid), parent_uuid -> nodes (uuid). It fails on the primary key (nodes_pkey, naming the
-- uuid) when two workspaces hold the same uuid, which the scoped key allowed: such rows must
-- be removed by hand first. The unique index (workspace_id, uuid) is rebuilt under its
-- previous migration's name, so that migration's rollback finds it.

ALTER TABLE nodes DROP CONSTRAINT nodes_workspace_id_parent_uuid_fkey;

ALTER TABLE nodes DROP CONSTRAINT nodes_pkey;

ALTER TABLE nodes ADD CONSTRAINT nodes_pkey PRIMARY KEY (uuid);

CREATE UNIQUE INDEX nodes_workspace_id_uuid_key ON nodes (workspace_id, uuid);

ALTER TABLE nodes
    ADD CONSTRAINT nodes_parent_uuid_fkey
    FOREIGN KEY (parent_uuid) REFERENCES nodes (uuid) ON DELETE CASCADE NOT VALID;

ALTER TABLE nodes VALIDATE CONSTRAINT nodes_parent_uuid_fkey;
