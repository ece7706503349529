-- 20261128110403_node_parent_in_workspace: a node's parent is in the node's own workspace.
--
-- The foreign key parent_uuid -> nodes (uuid) only said the parent exists. Foreign-key checks
-- bypass row-level security, so a user could hang a block under another user's node (learning
-- that the uuid exists), and that user's deletes then cascaded into the first user's rows. The
-- new foreign key takes the workspace too: (workspace_id, parent_uuid) -> nodes (workspace_id,
-- uuid), through the unique index of the previous migration, ON DELETE CASCADE as before (a
-- page's or block's removal removes the blocks under it). A page (parent_uuid NULL) is not
-- checked, as before (MATCH SIMPLE).
--
-- Added NOT VALID: from now on every new or changed node is checked; the next migration
-- validates the existing rows in a transaction of its own (reads and writes go on meanwhile)
-- and drops the old foreign key.
--
-- plainsql-ignore fk-indexed nodes_workspace_id_parent_uuid_fkey: nodes_parent_uuid_position_idx leads with parent_uuid, which alone finds the children a cascade deletes (a uuid is in one workspace)

ALTER TABLE nodes
    ADD CONSTRAINT nodes_workspace_id_parent_uuid_fkey
    FOREIGN KEY (workspace_id, parent_uuid) REFERENCES nodes (workspace_id, uuid)
    ON DELETE CASCADE NOT VALID;
