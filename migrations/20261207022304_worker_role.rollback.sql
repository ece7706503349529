-- 20261207022304_worker_role rollback: the paths go back to reference_app with their 0051/0054
-- bodies; reference_worker loses every privilege in this database, and the role itself is
-- dropped only when no other database of the cluster still holds anything for it (as 0050's
-- rollback does for reference_app).

REVOKE ALL ON FUNCTION
    app_claim_videos(text, integer, integer, integer),
    app_complete_video(text, uuid, jsonb),
    app_fail_video(text, uuid, text, integer),
    app_delete_expired_sessions(integer),
    app_purge_deleted_teams(integer)
FROM reference_worker;

GRANT EXECUTE ON FUNCTION app_claim_videos(text, integer, integer, integer) TO reference_app;

GRANT EXECUTE ON FUNCTION app_complete_video(text, uuid, jsonb) TO reference_app;

GRANT EXECUTE ON FUNCTION app_fail_video(text, uuid, text, integer) TO reference_app;

GRANT EXECUTE ON FUNCTION app_delete_expired_sessions(integer) TO reference_app;

GRANT EXECUTE ON FUNCTION app_purge_deleted_teams(integer) TO reference_app;

CREATE OR REPLACE FUNCTION app_purge_deleted_teams(retention_seconds integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM teams
        WHERE deleted_at < now() - make_interval(secs => retention_seconds)
        RETURNING 1
    )
    SELECT count(*)::integer FROM purged
$$;

COMMENT ON FUNCTION app_purge_deleted_teams(integer) IS
    'Maintenance path: deletes teams soft-deleted more than retention_seconds ago; returns the count.';

CREATE OR REPLACE FUNCTION app_delete_expired_sessions(batch_size integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM sessions
        WHERE id = any(ARRAY(
            SELECT id FROM sessions WHERE expires_at <= now() LIMIT batch_size
            FOR UPDATE SKIP LOCKED
        ))
        RETURNING 1
    )
    SELECT count(*)::integer FROM purged
$$;

COMMENT ON FUNCTION app_delete_expired_sessions(integer) IS
    'Maintenance path: deletes up to batch_size expired sessions of any user; returns the count.';

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM reference_worker;

REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM reference_worker;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM reference_worker;

REVOKE ALL ON SCHEMA public FROM reference_worker;

DO $$
DECLARE
    role_oid oid := (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'reference_worker');
BEGIN
    IF role_oid IS NULL THEN
        RETURN;
    END IF;
    -- pg_shdepend holds, per database, every object owned by or granted to the role.
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_shdepend
        WHERE refclassid = 'pg_catalog.pg_authid'::regclass AND refobjid = role_oid
    ) THEN
        DROP ROLE reference_worker;
    END IF;
EXCEPTION
    -- Another database granted something to it, or dropped it, since the check above.
    WHEN dependent_objects_still_exist OR undefined_object THEN
        NULL;
END
$$;
