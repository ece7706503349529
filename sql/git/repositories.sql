-- name: create_git_repository(workspace_id, repo_url, branch, deploy_key)<!
-- The connected repository. A second one for the workspace fails on
-- git_repositories_workspace_id_key, an unknown workspace on git_repositories_workspace_id_fkey.
INSERT INTO git_repositories (workspace_id, repo_url, branch, deploy_key)
VALUES (:workspace_id, :repo_url, :branch, CAST(:deploy_key AS bytea))
RETURNING id, workspace_id, repo_url, branch, last_sync, sync_status, error_log,
          created_at, updated_at;

-- name: get_git_repository_by_workspace(workspace_id)^
-- The workspace's repository, or none.
SELECT id, workspace_id, repo_url, branch, last_sync, sync_status, error_log,
       created_at, updated_at
FROM git_repositories
WHERE workspace_id = :workspace_id;

-- name: get_git_deploy_key_ciphertext(workspace_id)^
-- The workspace's repository's encrypted deploy key (NULL when it has none), or no row.
SELECT workspace_id, deploy_key
FROM git_repositories
WHERE workspace_id = :workspace_id;

-- name: list_git_deploy_key_ciphertexts(after_workspace_id, limit)
-- The next page (by workspace, after :after_workspace_id) of repositories holding a deploy key,
-- locked FOR UPDATE until the transaction ends: the key rotation re-encrypts them.
SELECT workspace_id, deploy_key
FROM git_repositories
WHERE workspace_id > :after_workspace_id AND deploy_key IS NOT NULL
ORDER BY workspace_id
LIMIT :limit
FOR UPDATE;

-- name: update_git_deploy_key_ciphertext(workspace_id, deploy_key)!
-- Replaces the encrypted deploy key of the workspace's repository (the key rotation).
UPDATE git_repositories
SET deploy_key = CAST(:deploy_key AS bytea)
WHERE workspace_id = :workspace_id;

-- name: update_git_repository_sync_status(workspace_id, sync_status, error_log)<!
-- The repository with its new sync status and error log (NULL clears it); none when missing.
UPDATE git_repositories
SET sync_status = :sync_status::sync_status, error_log = :error_log::text
WHERE workspace_id = :workspace_id
RETURNING id, workspace_id, repo_url, branch, last_sync, sync_status, error_log,
          created_at, updated_at;

-- name: update_git_repository_synced(workspace_id)<!
-- The repository marked as synced now: last_sync set, status success, error log cleared.
UPDATE git_repositories
SET last_sync = now(), sync_status = 'success', error_log = NULL
WHERE workspace_id = :workspace_id
RETURNING id, workspace_id, repo_url, branch, last_sync, sync_status, error_log,
          created_at, updated_at;

-- name: delete_git_repository_by_workspace(workspace_id)!
-- Disconnects the workspace's repository; 1, or 0 when there was none.
DELETE FROM git_repositories
WHERE workspace_id = :workspace_id;

-- name: update_git_repository_remote(workspace_id, repo_url, branch, set_deploy_key, deploy_key)<!
-- The workspace's repository pointed at another url and/or branch (NULL keeps a value) and, when set_deploy_key, given another encrypted deploy key (NULL removes it); the sync state goes back to idle (last sync and error cleared): the new remote was never synced. None when missing.
UPDATE git_repositories
SET repo_url = coalesce(:repo_url::text, repo_url),
    branch = coalesce(:branch::text, branch),
    deploy_key = CASE WHEN :set_deploy_key::boolean THEN CAST(:deploy_key AS bytea)
                      ELSE deploy_key END,
    sync_status = 'idle', last_sync = NULL, error_log = NULL
WHERE workspace_id = :workspace_id
RETURNING id, workspace_id, repo_url, branch, last_sync, sync_status, error_log,
          created_at, updated_at;
