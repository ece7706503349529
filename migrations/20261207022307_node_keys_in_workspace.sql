-- 20261207022307_node_keys_in_workspace: node keys are scoped to their workspace.
--
-- - The primary key becomes (workspace_id, uuid) (the unique index of the previous migration,
--   renamed nodes_pkey): uuid alone was global, so user B could insert, in B's own workspace, a
--   node with the key A's import computes for A's next page, and A's import then failed.
-- - The parent key becomes (workspace_id, parent_uuid) -> nodes (workspace_id, uuid), ON DELETE
--   CASCADE as before: foreign-key checks bypass row-level security, so with parent_uuid ->
--   nodes (uuid) B could hang a block under A's page (learning that it exists, and A's deletes
--   cascaded into B's rows). Now a node's parent is in its own workspace for every writer, the
--   owner and psql included, and the key answers nothing about another workspace. A page
--   (parent_uuid NULL) is not checked (MATCH SIMPLE), as before.
--
-- One transaction: the old key and the old primary key go, the new ones come, so no moment
-- is left without either. The parent key is added NOT VALID (no scan under the ACCESS
-- EXCLUSIVE lock that swapping the primary key takes); the next migration validates it. The
-- old parent_uuid -> nodes (uuid) key is dropped, not kept: it needs uuid unique on its own.
-- The previous release's queries still give the same answers (each reads within one
-- workspace); its page tree walks children by parent_uuid alone, which the index that
-- 20261207022351 drops served: deploy this release's SQL before that migration runs. Its
-- seeds' ON CONFLICT (uuid) no longer matches a unique index: they take (workspace_id, uuid).

-- plainsql-ignore fk-indexed nodes_workspace_id_parent_uuid_fkey: nodes_workspace_id_parent_uuid_position_idx (workspace_id, parent_uuid, position) WHERE parent_uuid IS NOT NULL serves it: the cascade's 'workspace_id = $1 AND parent_uuid = $2' implies the predicate (Index Cond on both columns in its plan; make bench cascade_delete)

-- squawk-ignore ban-drop-constraint
ALTER TABLE nodes DROP CONSTRAINT nodes_parent_uuid_fkey;

-- squawk-ignore ban-drop-constraint
ALTER TABLE nodes DROP CONSTRAINT nodes_pkey;

ALTER TABLE nodes ADD CONSTRAINT nodes_pkey PRIMARY KEY USING INDEX nodes_workspace_id_uuid_key;

ALTER TABLE nodes
    ADD CONSTRAINT nodes_workspace_id_parent_uuid_fkey
    FOREIGN KEY (workspace_id, parent_uuid) REFERENCES nodes (workspace_id, uuid)
    ON DELETE CASCADE NOT VALID;
