-- 0053_video_meeting_indexes: the indexes the work queue, the keyset pages and the video
-- search read, built CONCURRENTLY (the tables stay writable meanwhile), so outside a
-- transaction.
-- transactional: false
--
-- - video_summaries_claimable_idx: the worker's claim (0052) walks the pending and processing
--   videos oldest first; completed and failed ones, the bulk, are not in it;
-- - video_summaries_user_id_status_created_at_idx: a user's videos of one processing status,
--   newest first (the keyset page);
-- - video_summaries_search_idx: the full-text search (video_search_vector(), 0052);
-- - meetings_user_id_status_created_at_idx, meetings_user_id_agent_id_created_at_idx: a
--   user's meetings of one status, or with one agent, newest first (every filter an index
--   condition, so the page is read in index order and never sorted);
-- - video_summary_tags_tag_id_video_summary_id_idx, video_summary_categories_category_id_
--   video_summary_id_idx: the videos of a tag or category are browsed through the link table
--   in the order of its key (video_summary_id); they start with the foreign key's column, so
--   they replace the single-column indexes of 0044; video_summaries_user_id_id_idx gives the
--   user's videos in the same order, so joining the two is a merge of two index scans;
-- - users_created_at_idx: the administrators' list of users, newest first;
-- - projects_user_id_status_updated_at_idx: a user's projects of one status, most recently
--   updated first;
-- - nodes_page_slug_idx: a page by its slug (its public URL).

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summaries_claimable_idx
    ON video_summaries (created_at, id)
    WHERE processing_status IN ('pending', 'processing');

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summaries_user_id_status_created_at_idx
    ON video_summaries (user_id, processing_status, created_at DESC, id DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summaries_search_idx
    ON video_summaries USING gin (video_search_vector(title, ai_generated_content));

CREATE INDEX CONCURRENTLY IF NOT EXISTS meetings_user_id_status_created_at_idx
    ON meetings (user_id, status, created_at DESC, id DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS meetings_user_id_agent_id_created_at_idx
    ON meetings (user_id, agent_id, created_at DESC, id DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summaries_user_id_id_idx
    ON video_summaries (user_id, id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summary_tags_tag_id_video_summary_id_idx
    ON video_summary_tags (tag_id, video_summary_id);

DROP INDEX CONCURRENTLY IF EXISTS video_summary_tags_tag_id_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summary_categories_category_id_video_summary_id_idx
    ON video_summary_categories (category_id, video_summary_id);

DROP INDEX CONCURRENTLY IF EXISTS video_summary_categories_category_id_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_at_idx ON users (created_at DESC, id DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS projects_user_id_status_updated_at_idx
    ON projects (user_id, status, updated_at DESC, id DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS nodes_page_slug_idx
    ON nodes (workspace_id, slug) WHERE parent_uuid IS NULL;
