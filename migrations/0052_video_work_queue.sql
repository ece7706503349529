-- 0052_video_work_queue: the queue the summarising worker takes its pending videos from.
--
-- A worker claims videos with FOR UPDATE SKIP LOCKED and commits a lease on each (claimed
-- until a time, with a fresh claim_token); it then works outside any transaction and reports
-- the outcome with that token: completed (with the content), or a failure (the error kept),
-- which puts the video back to pending until max_attempts claims were made, then to failed.
-- A worker that dies holds its videos only until the lease runs out: the next claim takes them
-- again (a video in processing with no lease, set so by hand, counts as one whose lease ran out). Processing is at least once; completion is exactly once, because only the holder of
-- the newest claim_token of a video still in processing can complete it.
--
-- The worker runs without an acting user: these are SECURITY DEFINER functions, EXECUTE
-- revoked from PUBLIC and granted to reference_app one by one, like 0051's explicit paths
-- (the policies stay on; a unit that calls none of these still sees no other user's video).
--   app_claim_videos        claims up to batch_size pending videos (or ones whose lease ran
--                           out) for lease_seconds; a video whose lease ran out after its last
--                           allowed attempt becomes failed instead
--   app_complete_video      processing -> completed with the content, for the lease holder
--   app_fail_video          processing -> pending (attempts left) or failed, error kept
-- The claim's index is built by 0053 (CONCURRENTLY, outside a transaction).
--
-- Also here: video_search_vector(), what the full-text search over a video's title (weight A)
-- and its summary (ai_generated_content ->> 'summary', weight B) matches; 0053 indexes it.

ALTER TABLE video_summaries
    ADD COLUMN processing_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN claimed_by text,
    ADD COLUMN claim_token uuid;

COMMENT ON COLUMN video_summaries.processing_attempts IS
    'How many times a worker claimed the video (app_claim_videos); bounded by max_attempts.';

COMMENT ON COLUMN video_summaries.claimed_until IS
    'While processing: the end of the claiming worker''s lease; after it, another worker may claim.';

COMMENT ON COLUMN video_summaries.claim_token IS
    'While processing: the token of the newest claim; only its holder may complete or fail it.';

CREATE FUNCTION app_claim_videos(
    worker text, batch_size integer, lease_seconds integer, max_attempts integer
)
RETURNS TABLE (
    id text, user_id text, youtube_url text, youtube_id text, title text, description text,
    channel_name text, duration integer, processing_attempts integer,
    claimed_until timestamptz, claim_token uuid
)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH given_up AS (
        UPDATE video_summaries AS v
        SET processing_status = 'failed',
            processing_error = coalesce(v.processing_error, '')
                || CASE WHEN v.processing_error IS NULL THEN '' ELSE '; ' END
                || 'lease of ' || coalesce(v.claimed_by, 'a worker') || ' ran out after attempt '
                || v.processing_attempts,
            claimed_until = NULL, claimed_by = NULL, claim_token = NULL
        WHERE v.id = any(ARRAY(
            SELECT q.id FROM video_summaries AS q
            WHERE q.processing_status = 'processing'
                AND coalesce(q.claimed_until, '-infinity') <= now()
                AND q.processing_attempts >= max_attempts
            FOR UPDATE SKIP LOCKED
        ))
    ), claimable AS (
        SELECT q.id
        FROM video_summaries AS q
        WHERE q.processing_status IN ('pending', 'processing')
            AND (q.processing_status = 'pending'
                 OR coalesce(q.claimed_until, '-infinity') <= now())
            AND q.processing_attempts < max_attempts
        ORDER BY q.created_at, q.id
        LIMIT batch_size
        FOR UPDATE SKIP LOCKED
    )
    UPDATE video_summaries AS v
    SET processing_status = 'processing',
        processing_attempts = v.processing_attempts + 1,
        claimed_until = now() + make_interval(secs => lease_seconds),
        claimed_by = worker,
        claim_token = gen_random_uuid()
    FROM claimable
    WHERE v.id = claimable.id
    RETURNING v.id, v.user_id, v.youtube_url, v.youtube_id, v.title, v.description,
        v.channel_name, v.duration, v.processing_attempts, v.claimed_until, v.claim_token
$$;

COMMENT ON FUNCTION app_claim_videos(text, integer, integer, integer) IS
    'Worker path: claims up to batch_size pending (or lease-expired) videos of any user for lease_seconds.';

CREATE FUNCTION app_complete_video(
    video_id text, token uuid, content jsonb
) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH done AS (
        UPDATE video_summaries
        SET processing_status = 'completed',
            ai_generated_content = content,
            processing_error = NULL,
            claimed_until = NULL, claimed_by = NULL, claim_token = NULL
        WHERE id = video_id AND processing_status = 'processing' AND claim_token = token
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM done)
$$;

COMMENT ON FUNCTION app_complete_video(text, uuid, jsonb) IS
    'Worker path: processing -> completed with the content, only for the newest claim''s token; false otherwise.';

CREATE FUNCTION app_fail_video(
    video_id text, token uuid, error text, max_attempts integer
) RETURNS processing_status
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    UPDATE video_summaries
    SET processing_status = CASE WHEN processing_attempts >= max_attempts
                                 THEN 'failed' ELSE 'pending' END::processing_status,
        processing_error = error,
        claimed_until = NULL, claimed_by = NULL, claim_token = NULL
    WHERE id = video_id AND processing_status = 'processing' AND claim_token = token
    RETURNING processing_status
$$;

COMMENT ON FUNCTION app_fail_video(text, uuid, text, integer) IS
    'Worker path: the newest claim failed: pending again while attempts are left, else failed; the error is kept.';

REVOKE ALL ON FUNCTION
    app_claim_videos(text, integer, integer, integer),
    app_complete_video(text, uuid, jsonb),
    app_fail_video(text, uuid, text, integer)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_claim_videos(text, integer, integer, integer) TO reference_app;

GRANT EXECUTE ON FUNCTION app_complete_video(text, uuid, jsonb) TO reference_app;

GRANT EXECUTE ON FUNCTION app_fail_video(text, uuid, text, integer) TO reference_app;

CREATE FUNCTION video_search_vector(title text, ai_generated_content jsonb) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig,
                             coalesce(ai_generated_content ->> 'summary', '')), 'B');

COMMENT ON FUNCTION video_search_vector(text, jsonb) IS
    'What the video search matches: the title (weight A) and the AI summary (weight B), in English.';
