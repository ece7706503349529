-- The build log is stored as a JSON array (the atomic append needs jsonb ||) and returned as
-- text[]: its lines in order, NULL when the column is NULL. jsonb_array_elements_text cannot
-- fail here, deployment_history_build_log_is_array keeps every stored log an array.

-- name: create_deployment(workspace_id, commit_sha, status)<!
-- The recorded deployment (build_log empty); an unknown workspace fails on
-- deployment_history_workspace_id_fkey.
INSERT INTO deployment_history (workspace_id, commit_sha, status)
VALUES (:workspace_id, :commit_sha, :status::deployment_status)
RETURNING id, workspace_id, commit_sha, status, deployed_at, error_log,
          CASE WHEN build_log IS NOT NULL THEN ARRAY(
              SELECT l.line FROM jsonb_array_elements_text(build_log) WITH ORDINALITY AS l (line, n)
              ORDER BY l.n
          ) END AS build_log;

-- name: get_deployment_by_id(deployment_id, workspace_id)^
-- The deployment, if it belongs to the workspace.
SELECT id, workspace_id, commit_sha, status, deployed_at, error_log,
       CASE WHEN build_log IS NOT NULL THEN ARRAY(
           SELECT l.line FROM jsonb_array_elements_text(build_log) WITH ORDINALITY AS l (line, n)
           ORDER BY l.n
       ) END AS build_log
FROM deployment_history
WHERE id = :deployment_id AND workspace_id = :workspace_id;

-- name: update_deployment_status(deployment_id, workspace_id, status, error_log)<!
-- The deployment moved forward to :status (pending < building < success | failed), keeping
-- error_log when :error_log is NULL; none when it is missing, finished, or the move goes
-- backwards. One statement, so two racing updates cannot both finish a deployment.
UPDATE deployment_history
SET status = :status::deployment_status, error_log = coalesce(:error_log::text, error_log)
WHERE id = :deployment_id
    AND workspace_id = :workspace_id
    AND status IN ('pending', 'building')
    AND status < :status::deployment_status
RETURNING id, workspace_id, commit_sha, status, deployed_at, error_log,
          CASE WHEN build_log IS NOT NULL THEN ARRAY(
              SELECT l.line FROM jsonb_array_elements_text(build_log) WITH ORDINALITY AS l (line, n)
              ORDER BY l.n
          ) END AS build_log;

-- name: update_deployment_build_log(deployment_id, workspace_id, line)<!
-- Appends one line to the build log in one atomic statement (concurrent appends all land);
-- the number of lines now in the log, or none when the deployment is missing.
UPDATE deployment_history
SET build_log = coalesce(build_log, '[]'::jsonb) || jsonb_build_array(:line::text)
WHERE id = :deployment_id AND workspace_id = :workspace_id
RETURNING jsonb_array_length(build_log) AS "line_count!";  -- never NULL: an array, just set

-- name: list_latest_deployments(workspace_id, limit)
-- The workspace's latest deployments, newest first (deployment_history_workspace_id_deployed_at_idx).
SELECT id, workspace_id, commit_sha, status, deployed_at, error_log,
       CASE WHEN build_log IS NOT NULL THEN ARRAY(
           SELECT l.line FROM jsonb_array_elements_text(build_log) WITH ORDINALITY AS l (line, n)
           ORDER BY l.n
       ) END AS build_log
FROM deployment_history
WHERE workspace_id = :workspace_id
ORDER BY deployed_at DESC, id DESC
LIMIT :limit;
