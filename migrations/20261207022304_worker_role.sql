-- 20261207022304_worker_role: cross-user work runs as its own role, reference_worker, and the
-- application role loses the paths that act on every user's rows.
--
-- Until now every explicit path was granted to reference_app, the role every request runs as:
-- SQL run as it (an injection, a bug) could claim and overwrite any user's videos, release
-- them, or purge every soft-deleted team. The queue worker, the purges and other maintenance
-- act for no user and on every user's rows, so they get a NOLOGIN role of their own, granted
-- those paths one by one; a deployment's worker process logs in as a member of it (or, with
-- plainsql's transaction-role, switches to it per unit of work). reference_app can no longer
-- execute them.
--
-- The role is created like reference_app (0050): only when missing (roles belong to the
-- cluster; test copies share it), and the rollback drops it only when no other database holds
-- anything for it. It owns nothing, holds no table privilege and no BYPASSRLS: it reaches rows
-- only through the SECURITY DEFINER paths below.
--
--   app_claim_videos, app_complete_video, app_fail_video   the video queue (0052)
--   app_delete_expired_sessions                           the session purge (0051), whose batch
--                                                         is now bounded to 1..10000 (a batch
--                                                         of 0 never finished the purge loop)
--   app_purge_deleted_teams                               the team purge (0054), whose retention
--                                                         is now bounded to 0..10 years: a
--                                                         negative one purged every soft-deleted
--                                                         team at once

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'reference_worker') THEN
        CREATE ROLE reference_worker NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
            NOBYPASSRLS;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another database of the cluster created it meanwhile
END
$$;

GRANT USAGE ON SCHEMA public TO reference_worker;

CREATE OR REPLACE FUNCTION app_purge_deleted_teams(retention_seconds integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    purged integer;
BEGIN
    IF retention_seconds IS NULL OR retention_seconds NOT BETWEEN 0 AND 315360000 THEN
        RAISE EXCEPTION 'retention_seconds must be between 0 and 315360000 (10 years)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM teams WHERE deleted_at < now() - make_interval(secs => retention_seconds);
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END;
$$;

COMMENT ON FUNCTION app_purge_deleted_teams(integer) IS
    'Worker path: deletes teams soft-deleted more than retention_seconds (0..10 years) ago; returns the count.';

CREATE OR REPLACE FUNCTION app_delete_expired_sessions(batch_size integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    purged integer;
BEGIN
    IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 10000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM sessions
    WHERE id = any(ARRAY(
        SELECT id FROM sessions WHERE expires_at <= now() LIMIT batch_size
        FOR UPDATE SKIP LOCKED
    ));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END;
$$;

COMMENT ON FUNCTION app_delete_expired_sessions(integer) IS
    'Worker path: deletes up to batch_size (1..10000) expired sessions of any user; returns the count.';

REVOKE ALL ON FUNCTION
    app_claim_videos(text, integer, integer, integer),
    app_complete_video(text, uuid, jsonb),
    app_fail_video(text, uuid, text, integer),
    app_delete_expired_sessions(integer),
    app_purge_deleted_teams(integer)
FROM PUBLIC, reference_app;

GRANT EXECUTE ON FUNCTION app_claim_videos(text, integer, integer, integer) TO reference_worker;

GRANT EXECUTE ON FUNCTION app_complete_video(text, uuid, jsonb) TO reference_worker;

GRANT EXECUTE ON FUNCTION app_fail_video(text, uuid, text, integer) TO reference_worker;

GRANT EXECUTE ON FUNCTION app_delete_expired_sessions(integer) TO reference_worker;

GRANT EXECUTE ON FUNCTION app_purge_deleted_teams(integer) TO reference_worker;
