-- The audit log of users, teams and team_members (written by the trigger audit_log_record).

-- name: set_acting_user(user_id)$
-- Sets app.user_id, read by the audit trigger, until the transaction ends; returns it.
SELECT set_config('app.user_id', :user_id, true);

-- name: list_audit_entries_by_row(table_name, row_key, max_entries)
-- Returns the latest max_entries changes of one row (row_key as jsonb, e.g. {"id": ...}), oldest first.
SELECT id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at
FROM (
    SELECT id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at
    FROM audit_log
    WHERE table_name = :table_name AND row_key = :row_key
    ORDER BY id DESC
    LIMIT :max_entries
) AS latest
ORDER BY id;

-- name: list_audit_entries_by_actor(acting_user_id, max_entries)
-- Returns the latest max_entries changes made by one acting user, newest first.
SELECT id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at
FROM audit_log
WHERE acting_user_id = :acting_user_id
ORDER BY id DESC
LIMIT :max_entries;

-- name: delete_audit_entries_into_archive(older_than_seconds, batch_size)$
-- Moves up to batch_size entries older than older_than_seconds, oldest first, from audit_log
-- into audit_log_archive in one statement, skipping rows another archiver holds; returns the
-- count (the worker path app_archive_audit_entries of 20261207043025).
SELECT app_archive_audit_entries(:older_than_seconds::integer, :batch_size::integer)
    AS "moved!";
