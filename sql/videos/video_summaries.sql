-- name: create_video_summary(user_id, youtube_url, youtube_id, title, description, channel_name, duration, thumbnail_url)<!
-- The new pending video summary; the same youtube_id twice for one user violates video_summaries_user_id_youtube_id_key.
INSERT INTO video_summaries (user_id, youtube_url, youtube_id, title, description, channel_name,
                             duration, thumbnail_url)
VALUES (:user_id, :youtube_url, :youtube_id, :title, :description, :channel_name,
        :duration::integer, :thumbnail_url)
RETURNING id, user_id, youtube_url, youtube_id, title, description, channel_name, duration,
          thumbnail_url, processing_status, processing_error, ai_generated_content,
          created_at, updated_at;

-- name: get_video_summary_by_id(video_summary_id, user_id)^
-- The user's video summary, or nothing.
SELECT id, user_id, youtube_url, youtube_id, title, description, channel_name, duration,
       thumbnail_url, processing_status, processing_error, ai_generated_content,
       created_at, updated_at
FROM video_summaries
WHERE id = :video_summary_id AND user_id = :user_id;

-- name: get_video_summary_by_youtube_id(user_id, youtube_id)^
-- The user's video summary of this YouTube video, or nothing.
SELECT id, user_id, youtube_url, youtube_id, title, description, channel_name, duration,
       thumbnail_url, processing_status, processing_error, ai_generated_content,
       created_at, updated_at
FROM video_summaries
WHERE user_id = :user_id AND youtube_id = :youtube_id;

-- name: list_video_summaries_by_user(user_id)
-- The user's video summaries, newest first, each with its tag count and its category names (sorted).
SELECT v.id, v.user_id, v.youtube_url, v.youtube_id, v.title, v.description, v.channel_name,
       v.duration, v.thumbnail_url, v.processing_status, v.processing_error,
       v.ai_generated_content, v.created_at, v.updated_at,
       (SELECT count(*) FROM video_summary_tags AS vt WHERE vt.video_summary_id = v.id)
           AS tag_count,
       ARRAY(SELECT c.name
             FROM video_summary_categories AS vc
             JOIN categories AS c ON c.id = vc.category_id
             WHERE vc.video_summary_id = v.id
             ORDER BY c.name) AS category_names
FROM video_summaries AS v
WHERE v.user_id = :user_id
ORDER BY v.created_at DESC, v.id DESC;

-- name: update_video_summary_status(video_summary_id, user_id, processing_status, processing_error)<!
-- The video summary with its processing status and error (NULL clears it) set, or nothing if not the user's.
UPDATE video_summaries
SET processing_status = :processing_status::processing_status,
    processing_error = :processing_error
WHERE id = :video_summary_id AND user_id = :user_id
RETURNING id, user_id, youtube_url, youtube_id, title, description, channel_name, duration,
          thumbnail_url, processing_status, processing_error, ai_generated_content,
          created_at, updated_at;

-- name: update_video_summary_content(video_summary_id, user_id, ai_generated_content)<!
-- The video summary with the AI-generated content stored, or nothing if not the user's.
UPDATE video_summaries
SET ai_generated_content = :ai_generated_content::jsonb
WHERE id = :video_summary_id AND user_id = :user_id
RETURNING id, user_id, youtube_url, youtube_id, title, description, channel_name, duration,
          thumbnail_url, processing_status, processing_error, ai_generated_content,
          created_at, updated_at;

-- name: delete_video_summary(video_summary_id, user_id)!
-- How many video summaries were deleted (0 or 1); links and keyframes go with them.
DELETE FROM video_summaries
WHERE id = :video_summary_id AND user_id = :user_id;
