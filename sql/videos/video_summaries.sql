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

-- Video pages are keyset pages, newest first, on (created_at, id), strictly after the cursor
-- (before_created_at, before_id; NULL = the first page). Each row has its tag count and its
-- category names (in no order: the service sorts them, so no page plan holds a sort).
-- Browsing by tag or category goes through the link table in the order of its key
-- (video_summary_id), which the index (tag_id, video_summary_id) serves: the page is read in
-- index order and never sorted. Tags are shared, so a page of a tag many other users use
-- passes over their links (checked by the link table's policy, one hash probe each).

-- name: list_video_summaries_by_user(user_id, before_created_at, before_id, page_size)
-- One page of the user's video summaries, newest first, with tag_count and category_names.
SELECT v.id, v.user_id, v.youtube_url, v.youtube_id, v.title, v.description, v.channel_name,
       v.duration, v.thumbnail_url, v.processing_status, v.processing_error,
       v.ai_generated_content, v.created_at, v.updated_at,
       (SELECT count(*) FROM video_summary_tags AS vt WHERE vt.video_summary_id = v.id)
           AS tag_count,
       ARRAY(SELECT c.name
             FROM video_summary_categories AS vc
             JOIN categories AS c ON c.id = vc.category_id
             WHERE vc.video_summary_id = v.id) AS category_names
FROM video_summaries AS v
WHERE v.user_id = :user_id
  AND (v.created_at, v.id) < (coalesce(:before_created_at::timestamptz, 'infinity'),
                              coalesce(:before_id::text, ''))
ORDER BY v.created_at DESC, v.id DESC
LIMIT :page_size::integer;

-- name: list_video_summaries_by_status(user_id, processing_status, before_created_at, before_id, page_size)
-- One page of the user's video summaries in one processing status, newest first.
SELECT v.id, v.user_id, v.youtube_url, v.youtube_id, v.title, v.description, v.channel_name,
       v.duration, v.thumbnail_url, v.processing_status, v.processing_error,
       v.ai_generated_content, v.created_at, v.updated_at,
       (SELECT count(*) FROM video_summary_tags AS vt WHERE vt.video_summary_id = v.id)
           AS tag_count,
       ARRAY(SELECT c.name
             FROM video_summary_categories AS vc
             JOIN categories AS c ON c.id = vc.category_id
             WHERE vc.video_summary_id = v.id) AS category_names
FROM video_summaries AS v
WHERE v.user_id = :user_id AND v.processing_status = :processing_status::processing_status
  AND (v.created_at, v.id) < (coalesce(:before_created_at::timestamptz, 'infinity'),
                              coalesce(:before_id::text, ''))
ORDER BY v.created_at DESC, v.id DESC
LIMIT :page_size::integer;

-- name: list_video_summaries_by_tag(user_id, tag_id, after_id, page_size)
-- One page of the user's video summaries with this tag, in the link table's key order (video id), strictly after after_id (NULL = the first page).
SELECT v.id, v.user_id, v.youtube_url, v.youtube_id, v.title, v.description, v.channel_name,
       v.duration, v.thumbnail_url, v.processing_status, v.processing_error,
       v.ai_generated_content, v.created_at, v.updated_at,
       (SELECT count(*) FROM video_summary_tags AS vt WHERE vt.video_summary_id = v.id)
           AS tag_count,
       ARRAY(SELECT c.name
             FROM video_summary_categories AS vc
             JOIN categories AS c ON c.id = vc.category_id
             WHERE vc.video_summary_id = v.id) AS category_names
FROM (
    -- the page's ids: the link's index and the user's ids (user_id, id), merged in id order
    SELECT t.video_summary_id AS id
    FROM video_summary_tags AS t
    JOIN video_summaries AS mine ON mine.id = t.video_summary_id
    WHERE t.tag_id = :tag_id AND t.video_summary_id > coalesce(:after_id::text, '')
      AND mine.user_id = :user_id
    ORDER BY t.video_summary_id
    LIMIT :page_size::integer
) AS page
JOIN video_summaries AS v ON v.id = page.id
ORDER BY page.id;

-- name: list_video_summaries_by_category(user_id, category_id, after_id, page_size)
-- One page of the user's video summaries in this category, in the link table's key order (video id), strictly after after_id (NULL = the first page).
SELECT v.id, v.user_id, v.youtube_url, v.youtube_id, v.title, v.description, v.channel_name,
       v.duration, v.thumbnail_url, v.processing_status, v.processing_error,
       v.ai_generated_content, v.created_at, v.updated_at,
       (SELECT count(*) FROM video_summary_tags AS vt WHERE vt.video_summary_id = v.id)
           AS tag_count,
       ARRAY(SELECT c.name
             FROM video_summary_categories AS vc
             JOIN categories AS c ON c.id = vc.category_id
             WHERE vc.video_summary_id = v.id) AS category_names
FROM (
    -- the page's ids: the link's index and the user's ids (user_id, id), merged in id order
    SELECT k.video_summary_id AS id
    FROM video_summary_categories AS k
    JOIN video_summaries AS mine ON mine.id = k.video_summary_id
    WHERE k.category_id = :category_id AND k.video_summary_id > coalesce(:after_id::text, '')
      AND mine.user_id = :user_id
    ORDER BY k.video_summary_id
    LIMIT :page_size::integer
) AS page
JOIN video_summaries AS v ON v.id = page.id
ORDER BY page.id;

-- name: list_video_summaries_search(user_id, query, limit)
-- The user's videos whose title or AI summary match the web-search style query, best first (ts_rank; title weighs more), each with an html snippet of title and summary, matches in <mark>. A ranked top-N: the search path app_search_video_summaries (20261207060516) finds its ids from the full-text index (under row-level security @@ cannot be an index condition); their rows are read here through the policy, ranked again, and ts_headline runs on them only.
WITH q AS (
    SELECT websearch_to_tsquery('english', :query::text) AS query
), hits AS (
    SELECT v.id, v.title, v.ai_generated_content, v.processing_status, v.created_at,
           ts_rank(video_search_vector(v.title, v.ai_generated_content), q.query) AS rank
    FROM video_summaries AS v
    CROSS JOIN q
    WHERE v.user_id = :user_id
      AND v.id = any(ARRAY(
          SELECT app_search_video_summaries(:user_id::text, :query::text, :limit::integer)))
    ORDER BY rank DESC, v.created_at DESC, v.id DESC
    LIMIT :limit::integer
)
SELECT h.id, h.title, h.processing_status, h.created_at, h.rank AS "rank!",
       ts_headline('english',
                   h.title || ' ' || coalesce(h.ai_generated_content ->> 'summary', ''),
                   q.query,
                   'StartSel=<mark>, StopSel=</mark>, MinWords=8, MaxWords=30, MaxFragments=2'
       ) AS "snippet!"
FROM hits AS h
CROSS JOIN q
ORDER BY h.rank DESC, h.created_at DESC, h.id DESC;

-- name: update_video_summary_status(video_summary_id, user_id, processing_status, processing_error)<!
-- The video summary with its processing status and error (NULL clears it) set, or nothing if not the user's. Any worker's lease is dropped (its late report then changes nothing); back to pending, the attempts start again from 0.
UPDATE video_summaries
SET processing_status = :processing_status::processing_status,
    processing_error = :processing_error,
    processing_attempts = CASE WHEN :processing_status::processing_status = 'pending' THEN 0
                               ELSE processing_attempts END,
    claimed_until = NULL, claimed_by = NULL, claim_token = NULL
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
