-- name: create_keyframe(video_summary_id, user_id, timestamp_seconds, image_url, description)<!
-- The new keyframe of the user's video, or nothing if the video is not theirs.
INSERT INTO keyframes (video_summary_id, timestamp_seconds, image_url, description)
SELECT v.id, :timestamp_seconds::integer, :image_url, :description
FROM video_summaries AS v
WHERE v.id = :video_summary_id AND v.user_id = :user_id
RETURNING id, video_summary_id, timestamp_seconds, image_url, description, created_at;

-- name: list_keyframes_by_video_summary(video_summary_id, user_id, after_timestamp_seconds, after_id, page_size)
-- One page of the keyframes of the user's video in time order, strictly after the cursor (after_timestamp_seconds, after_id; NULL = the first page; none if the video is not theirs), read in order from keyframes_video_summary_id_timestamp_idx.
SELECT k.id, k.video_summary_id, k.timestamp_seconds, k.image_url, k.description, k.created_at
FROM keyframes AS k
JOIN video_summaries AS v ON v.id = k.video_summary_id
WHERE k.video_summary_id = :video_summary_id AND v.user_id = :user_id
  AND (k.timestamp_seconds, k.id) > (coalesce(:after_timestamp_seconds::integer, -1),
                                     coalesce(:after_id::text, ''))
ORDER BY k.timestamp_seconds, k.id
LIMIT :page_size::integer;

-- name: create_keyframes(video_summary_id, user_id, timestamps_seconds, image_urls, descriptions)
-- Many keyframes of the user's video in one statement (parallel arrays, one element per keyframe), returned in time order; none if the video is not theirs. An empty description is stored as NULL. The policy checks the statement once, not per row.
WITH added AS (
    INSERT INTO keyframes (video_summary_id, timestamp_seconds, image_url, description)
    SELECT v.id, k.timestamp_seconds, k.image_url, nullif(k.description, '')
    FROM video_summaries AS v
    CROSS JOIN unnest(:timestamps_seconds::integer[], :image_urls::text[],
                      :descriptions::text[]) AS k(timestamp_seconds, image_url, description)
    WHERE v.id = :video_summary_id AND v.user_id = :user_id
    RETURNING id, video_summary_id, timestamp_seconds, image_url, description, created_at
)
SELECT id, video_summary_id, timestamp_seconds, image_url, description, created_at
FROM added
ORDER BY timestamp_seconds, id;

-- name: delete_keyframe(keyframe_id, video_summary_id, user_id)!
-- How many keyframes of the user's video were deleted (0 or 1).
DELETE FROM keyframes AS k
USING video_summaries AS v
WHERE k.id = :keyframe_id AND k.video_summary_id = :video_summary_id
  AND v.id = k.video_summary_id AND v.user_id = :user_id;
