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
-- - meetings_agent_id_created_at_idx: an agent's meetings, newest first; it starts with
--   agent_id, so it also indexes the foreign key and replaces meetings_agent_id_idx;
-- - users_created_at_idx: the administrators' list of users, newest first.

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summaries_claimable_idx
    ON video_summaries (created_at, id)
    WHERE processing_status IN ('pending', 'processing');

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summaries_user_id_status_created_at_idx
    ON video_summaries (user_id, processing_status, created_at DESC, id DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS video_summaries_search_idx
    ON video_summaries USING gin (video_search_vector(title, ai_generated_content));

CREATE INDEX CONCURRENTLY IF NOT EXISTS meetings_agent_id_created_at_idx
    ON meetings (agent_id, created_at DESC, id DESC);

DROP INDEX CONCURRENTLY IF EXISTS meetings_agent_id_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_at_idx ON users (created_at DESC, id DESC);
