-- name: get_workspace_id_for_import(workspace_id)$
-- The workspace id, row-locked until the import commits; NULL when there is no such workspace.
-- FOR UPDATE also makes other writers of this workspace's nodes wait (their foreign-key
-- check takes KEY SHARE on the row), so an import replaces the content as one step.
SELECT id
FROM workspaces
WHERE id = :workspace_id
FOR UPDATE;

-- name: delete_nodes_by_workspace(workspace_id)!
-- Deletes every node of the workspace; the number of nodes deleted.
DELETE FROM nodes
WHERE workspace_id = :workspace_id;

-- name: count_nodes_by_workspace(workspace_id)$
-- The number of nodes (pages and blocks) of the workspace.
SELECT count(*)
FROM nodes
WHERE workspace_id = :workspace_id;
