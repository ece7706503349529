-- The summarising worker's queue (migration 0052). The worker has no acting user: each query
-- calls one SECURITY DEFINER path granted to the application role on its own; the policies
-- stay on for everything else it might run.

-- name: update_videos_claim(worker, batch_size, lease_seconds, max_attempts)
-- Claims up to batch_size pending videos of any user, oldest first (or ones whose lease ran out), for lease_seconds; each comes with its claim_token and attempt number. Commit before working on them: the lease is what keeps other workers off.
SELECT c.id AS "id!", c.user_id AS "user_id!", c.youtube_url AS "youtube_url!",
       c.youtube_id AS "youtube_id!", c.title AS "title!", c.description, c.channel_name,
       c.duration, c.processing_attempts AS "processing_attempts!",
       c.claimed_until AS "claimed_until!", c.claim_token AS "claim_token!"
FROM app_claim_videos(:worker::text, :batch_size::integer, :lease_seconds::integer,
                      :max_attempts::integer) AS c;

-- name: update_video_complete(video_summary_id, claim_token, ai_generated_content)$
-- True when the claim was still the video's newest and it is now completed with the content; false when the lease was lost to another claim (or the video is gone).
SELECT app_complete_video(:video_summary_id::text, :claim_token::uuid,
                          :ai_generated_content::jsonb) AS "completed!";

-- name: update_video_fail(video_summary_id, claim_token, processing_error, max_attempts)$
-- The status after a failed attempt (pending while attempts are left, else failed; the error is kept), or NULL when the lease was lost.
SELECT app_fail_video(:video_summary_id::text, :claim_token::uuid, :processing_error::text,
                      :max_attempts::integer) AS status;
