-- 0052_video_work_queue rollback: drop the worker's paths and the lease columns (a video in
-- processing keeps that status; its lease is gone with the columns).

DROP FUNCTION video_search_vector(text, jsonb);

DROP FUNCTION app_fail_video(text, uuid, text, integer);

DROP FUNCTION app_complete_video(text, uuid, jsonb);

DROP FUNCTION app_claim_videos(text, integer, integer, integer);

ALTER TABLE video_summaries
    DROP COLUMN claim_token,
    DROP COLUMN claimed_by,
    DROP COLUMN claimed_until,
    DROP COLUMN processing_attempts;
