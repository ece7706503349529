-- 20261207043025_maintenance_paths rollback: the archived entries go back into audit_log
-- (with their ids: audit_log's id is GENERATED ALWAYS, hence OVERRIDING SYSTEM VALUE), the
-- archive and its path go, and the verification purge is again the one statement of
-- 20261207022403.
-- squawk-ignore-file ban-drop-function, ban-drop-table

DROP FUNCTION app_archive_audit_entries(integer, integer);

INSERT INTO audit_log (
    id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at
)
OVERRIDING SYSTEM VALUE
SELECT id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at
FROM audit_log_archive;

DROP TABLE audit_log_archive;

DROP FUNCTION app_delete_expired_verifications(integer);

CREATE FUNCTION app_delete_expired_verifications() RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM verifications WHERE expires_at <= now() RETURNING 1
    )
    SELECT count(*)::integer FROM purged
$$;

COMMENT ON FUNCTION app_delete_expired_verifications() IS
    'Worker path: deletes every expired verification; returns the count.';

REVOKE ALL ON FUNCTION app_delete_expired_verifications() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_delete_expired_verifications() TO reference_worker;
