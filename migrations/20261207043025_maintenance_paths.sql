-- 20261207043025_maintenance_paths: the maintenance jobs (python -m reference_apps.maintenance)
-- run from cron while the application runs, each in batches of short transactions that skip
-- the rows another run holds, through worker paths (granted to reference_worker one by one;
-- reference_app cannot execute them).
--
--   app_delete_expired_verifications(batch_size)
--       replaces app_delete_expired_verifications() (20261207022403), which deleted every
--       expired value in one statement: up to batch_size (1..10000) expired values, FOR UPDATE
--       SKIP LOCKED, as app_delete_expired_sessions does. Only the maintenance job called the
--       old one: a run during the deploy fails and the next one succeeds.
--   app_archive_audit_entries(older_than_seconds, batch_size)
--       moves up to batch_size (1..10000) audit entries older than older_than_seconds (0..10
--       years), oldest first, from audit_log into audit_log_archive: one statement, DELETE ...
--       RETURNING feeding the INSERT, so an entry is in exactly one of the two tables at every
--       commit. Rows another archiver holds are skipped (SKIP LOCKED); the audit trigger only
--       inserts, so the writers never wait on an archiver. An entry keeps its id: the
--       archive's primary key refuses a second copy rather than keeping it.
--
-- audit_log_archive is audit_log's shape plus archived_at. Like audit_log it is closed to
-- reference_app, reference_worker and reference_visitor (no privilege): a DBA reads it as the
-- owner or through a role granted SELECT on it (docs/production-roles.md, "Maintenance").
-- squawk-ignore-file ban-drop-function

DROP FUNCTION app_delete_expired_verifications();

CREATE FUNCTION app_delete_expired_verifications(batch_size integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    purged integer;
BEGIN
    IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 10000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM verifications
    WHERE id = any(ARRAY(
        SELECT id FROM verifications WHERE expires_at <= now() LIMIT batch_size
        FOR UPDATE SKIP LOCKED
    ));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END;
$$;

COMMENT ON FUNCTION app_delete_expired_verifications(integer) IS
    'Worker path: deletes up to batch_size (1..10000) expired verifications; returns the count.';

CREATE TABLE audit_log_archive (
    id             bigint      NOT NULL,
    table_name     text        NOT NULL,
    action         text        NOT NULL,
    row_key        jsonb       NOT NULL,
    old_row        jsonb,
    new_row        jsonb,
    acting_user_id text,
    created_at     timestamptz NOT NULL,
    archived_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_log_archive_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_archive_action_check CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    CONSTRAINT audit_log_archive_rows_match_action CHECK (
        (action = 'INSERT' AND old_row IS NULL AND new_row IS NOT NULL)
        OR (action = 'UPDATE' AND old_row IS NOT NULL AND new_row IS NOT NULL)
        OR (action = 'DELETE' AND old_row IS NOT NULL AND new_row IS NULL)
    )
);

CREATE INDEX audit_log_archive_table_name_row_key_idx
    ON audit_log_archive (table_name, row_key, id);

CREATE INDEX audit_log_archive_acting_user_id_idx ON audit_log_archive (acting_user_id, id);

CREATE INDEX audit_log_archive_created_at_idx ON audit_log_archive (created_at, id);

COMMENT ON TABLE audit_log_archive IS
    'Audit entries moved out of audit_log by app_archive_audit_entries(), with their ids; read by a DBA, never by the application.';

COMMENT ON COLUMN audit_log_archive.id IS 'The entry''s id in audit_log (ids are never reused).';

CREATE FUNCTION app_archive_audit_entries(older_than_seconds integer, batch_size integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    moved integer;
BEGIN
    IF older_than_seconds IS NULL OR older_than_seconds NOT BETWEEN 0 AND 315360000 THEN
        RAISE EXCEPTION 'older_than_seconds must be between 0 and 315360000 (10 years)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 10000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WITH batch AS (
        DELETE FROM audit_log
        WHERE id = any(ARRAY(
            SELECT id FROM audit_log
            WHERE created_at < now() - make_interval(secs => older_than_seconds)
            ORDER BY created_at, id
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED
        ))
        RETURNING id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at
    )
    INSERT INTO audit_log_archive (
        id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at
    )
    SELECT id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at
    FROM batch;
    GET DIAGNOSTICS moved = ROW_COUNT;
    RETURN moved;
END;
$$;

COMMENT ON FUNCTION app_archive_audit_entries(integer, integer) IS
    'Worker path: moves up to batch_size (1..10000) audit entries older than older_than_seconds (0..10 years) into audit_log_archive; returns the count.';

REVOKE ALL ON FUNCTION
    app_delete_expired_verifications(integer),
    app_archive_audit_entries(integer, integer)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_delete_expired_verifications(integer) TO reference_worker;

GRANT EXECUTE ON FUNCTION app_archive_audit_entries(integer, integer) TO reference_worker;
