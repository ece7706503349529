-- 0020_sync_status: the state of a workspace's git repository sync (git_repositories.sync_status).
-- idle: never synced or nothing running; syncing: a pull is running; success: the last pull
-- worked (last_sync says when); error: the last pull failed (error_log says why).

CREATE TYPE sync_status AS ENUM ('idle', 'syncing', 'success', 'error');

COMMENT ON TYPE sync_status IS 'State of a git repository sync: idle, syncing, success, error.';
