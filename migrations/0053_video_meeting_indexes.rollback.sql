-- 0053_video_meeting_indexes rollback: the indexes go; the link tables get back the
-- single-column indexes of 0044.
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS nodes_page_slug_idx;

DROP INDEX CONCURRENTLY IF EXISTS projects_user_id_status_updated_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS users_created_at_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summary_categories_category_id_idx
    ON video_summary_categories (category_id);

DROP INDEX CONCURRENTLY IF EXISTS video_summary_categories_category_id_video_summary_id_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summary_tags_tag_id_idx
    ON video_summary_tags (tag_id);

DROP INDEX CONCURRENTLY IF EXISTS video_summary_tags_tag_id_video_summary_id_idx;

DROP INDEX CONCURRENTLY IF EXISTS video_summaries_user_id_id_idx;

DROP INDEX CONCURRENTLY IF EXISTS meetings_user_id_agent_id_created_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS meetings_user_id_status_created_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS video_summaries_search_idx;

DROP INDEX CONCURRENTLY IF EXISTS video_summaries_user_id_status_created_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS video_summaries_claimable_idx;
