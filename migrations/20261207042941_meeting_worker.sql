-- 20261207042941_meeting_worker: the job that processes ended meetings (transcript, recording,
-- summary) gets its own path, as the video queue has (0052, 20261207022304_worker_role).
--
-- Every meeting write needed the owner as acting user, so the webhook that finishes a meeting
-- had no path and meetings stayed in processing. Now a worker claims meetings in processing
-- with FOR UPDATE SKIP LOCKED and commits a lease on each (claimed until a time, with a fresh
-- claim_token); it works outside any transaction and reports the outcome with that token:
-- completed (transcript, recording and summary), or a failure with its reason, which leaves the
-- meeting claimable again until max_attempts claims were made, then gives it up
-- (processing_failed_at set, the reason kept in processing_error). meeting_status has no
-- failed label (its labels are the contract's): a given-up meeting stays in processing, and
-- its owner may still complete it by hand (update_meeting_complete). A worker that dies holds
-- its meetings only until the lease runs out. Processing is at least once; completion is
-- exactly once: only the holder of the newest claim_token of a meeting still in processing
-- can complete it, and the owner's own completion needs processing too.
--
-- The worker acts for no user: SECURITY DEFINER functions, EXECUTE revoked from PUBLIC and
-- granted to reference_worker one by one (reference_app cannot execute them):
--   app_claim_meetings     claims up to batch_size (1..1000) meetings in processing, oldest
--                          ended first (or ones whose lease ran out), for lease_seconds; a
--                          meeting whose lease ran out on its last allowed attempt is given up
--                          instead
--   app_complete_meeting   processing -> completed with the transcript and recording urls and
--                          the summary, for the lease holder
--   app_fail_meeting       records the reason; claimable again while attempts are left, else
--                          given up
-- The claim's partial index is built by 20261207042942 (CONCURRENTLY).
--
-- The worker's columns are the worker's: reference_app may UPDATE only the columns a user's
-- own paths write (name, agent, lifecycle, recording, summary), never the claim, the attempts
-- or the failure.

ALTER TABLE meetings
    ADD COLUMN processing_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN processing_error text,
    ADD COLUMN processing_failed_at timestamptz,
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN claimed_by text,
    ADD COLUMN claim_token uuid;

COMMENT ON COLUMN meetings.processing_attempts IS
    'How many times a worker claimed the meeting (app_claim_meetings); bounded by max_attempts.';

COMMENT ON COLUMN meetings.processing_error IS
    'The reason of the last failed attempt (app_fail_meeting, or a lease that ran out).';

COMMENT ON COLUMN meetings.processing_failed_at IS
    'Set when the worker gave the meeting up (attempts exhausted); it is no longer claimed.';

COMMENT ON COLUMN meetings.claimed_until IS
    'While processing: the end of the claiming worker''s lease; after it, another worker may claim.';

COMMENT ON COLUMN meetings.claim_token IS
    'While processing: the token of the newest claim; only its holder may complete or fail it.';

REVOKE UPDATE ON meetings FROM reference_app;

GRANT UPDATE (
    name, agent_id, status, started_at, ended_at, transcript_url, recording_url, summary,
    updated_at
) ON meetings TO reference_app;

CREATE FUNCTION app_claim_meetings(
    worker text, batch_size integer, lease_seconds integer, max_attempts integer
)
RETURNS TABLE (
    id text, user_id text, agent_id text, name text, started_at timestamptz,
    ended_at timestamptz, transcript_url text, recording_url text, processing_attempts integer,
    claimed_until timestamptz, claim_token uuid
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 1000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF lease_seconds IS NULL OR lease_seconds NOT BETWEEN 1 AND 86400 THEN
        RAISE EXCEPTION 'lease_seconds must be between 1 and 86400 (a day)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'max_attempts must be between 1 and 100'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Leases that ran out on the last allowed attempt: given up, not claimed again.
    UPDATE meetings AS m
    SET processing_failed_at = now(),
        processing_error = 'lease of ' || coalesce(m.claimed_by, 'a worker')
            || ' ran out after attempt ' || m.processing_attempts,
        claimed_until = NULL, claimed_by = NULL, claim_token = NULL
    WHERE m.id = any(ARRAY(
        SELECT q.id FROM meetings AS q
        WHERE q.status = 'processing' AND q.processing_failed_at IS NULL
            AND coalesce(q.claimed_until, '-infinity') <= now()
            AND q.processing_attempts >= max_attempts
        FOR UPDATE SKIP LOCKED
    ));
    RETURN QUERY
    WITH claimable AS (
        SELECT q.id
        FROM meetings AS q
        WHERE q.status = 'processing' AND q.processing_failed_at IS NULL
            AND coalesce(q.claimed_until, '-infinity') <= now()
            AND q.processing_attempts < max_attempts
        ORDER BY q.ended_at, q.id
        LIMIT batch_size
        FOR UPDATE SKIP LOCKED
    )
    UPDATE meetings AS m
    SET processing_attempts = m.processing_attempts + 1,
        claimed_until = now() + make_interval(secs => lease_seconds),
        claimed_by = worker,
        claim_token = gen_random_uuid()
    FROM claimable
    WHERE m.id = claimable.id
    RETURNING m.id, m.user_id, m.agent_id, m.name, m.started_at, m.ended_at, m.transcript_url,
        m.recording_url, m.processing_attempts, m.claimed_until, m.claim_token;
END;
$$;

COMMENT ON FUNCTION app_claim_meetings(text, integer, integer, integer) IS
    'Worker path: claims up to batch_size meetings in processing (or lease-expired) of any user for lease_seconds.';

CREATE FUNCTION app_complete_meeting(
    meeting_id text, token uuid, new_transcript_url text, new_recording_url text,
    new_summary text
) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH done AS (
        UPDATE meetings
        SET status = 'completed',
            transcript_url = new_transcript_url,
            recording_url = new_recording_url,
            summary = new_summary,
            processing_error = NULL,
            claimed_until = NULL, claimed_by = NULL, claim_token = NULL
        WHERE id = meeting_id AND status = 'processing' AND claim_token = token
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM done)
$$;

COMMENT ON FUNCTION app_complete_meeting(text, uuid, text, text, text) IS
    'Worker path: processing -> completed with transcript, recording and summary, only for the newest claim''s token; false otherwise.';

CREATE FUNCTION app_fail_meeting(
    meeting_id text, token uuid, reason text, max_attempts integer
) RETURNS TABLE (processing_attempts integer, processing_failed_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    UPDATE meetings AS m
    SET processing_failed_at = CASE WHEN m.processing_attempts >= max_attempts THEN now() END,
        processing_error = reason,
        claimed_until = NULL, claimed_by = NULL, claim_token = NULL
    WHERE m.id = meeting_id AND m.status = 'processing' AND m.claim_token = token
    RETURNING m.processing_attempts, m.processing_failed_at
$$;

COMMENT ON FUNCTION app_fail_meeting(text, uuid, text, integer) IS
    'Worker path: the newest claim failed for reason: claimable again while attempts are left, else given up.';

REVOKE ALL ON FUNCTION
    app_claim_meetings(text, integer, integer, integer),
    app_complete_meeting(text, uuid, text, text, text),
    app_fail_meeting(text, uuid, text, integer)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_claim_meetings(text, integer, integer, integer) TO reference_worker;

GRANT EXECUTE ON FUNCTION app_complete_meeting(text, uuid, text, text, text) TO reference_worker;

GRANT EXECUTE ON FUNCTION app_fail_meeting(text, uuid, text, integer) TO reference_worker;
