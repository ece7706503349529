-- The meeting worker's queue (migration 20261207042941_meeting_worker): it takes the meetings
-- in processing, then completes each with its transcript, recording and summary, or fails it
-- with a reason. The worker has no acting user: each query calls one SECURITY DEFINER path
-- granted to the worker role reference_worker on its own (the application role cannot).

-- name: update_meetings_claim(worker, batch_size, lease_seconds, max_attempts)
-- Claims up to batch_size meetings in processing of any user, oldest ended first (or ones whose lease ran out), for lease_seconds; each comes with its claim_token and attempt number. Commit before working on them: the lease is what keeps other workers off.
SELECT c.id AS "id!", c.user_id AS "user_id!", c.agent_id AS "agent_id!", c.name AS "name!",
       c.started_at, c.ended_at, c.transcript_url, c.recording_url,
       c.processing_attempts AS "processing_attempts!", c.claimed_until AS "claimed_until!",
       c.claim_token AS "claim_token!"
FROM app_claim_meetings(:worker::text, :batch_size::integer, :lease_seconds::integer,
                        :max_attempts::integer) AS c;

-- name: update_meeting_claim_complete(meeting_id, claim_token, transcript_url, recording_url, summary)$
-- True when the claim was still the meeting's newest and it is now completed with its transcript url, recording url and summary; false when the lease was lost to another claim (or the meeting is gone, or its owner completed it).
SELECT app_complete_meeting(:meeting_id::text, :claim_token::uuid, :transcript_url::text,
                            :recording_url::text, :summary::text) AS "completed!";

-- name: update_meeting_claim_fail(meeting_id, claim_token, processing_error, max_attempts)^
-- The attempts made and, when this was the last allowed one, when the meeting was given up (NULL: it will be claimed again); nothing when the lease was lost.
SELECT f.processing_attempts AS "processing_attempts!", f.processing_failed_at
FROM app_fail_meeting(:meeting_id::text, :claim_token::uuid, :processing_error::text,
                      :max_attempts::integer) AS f;
