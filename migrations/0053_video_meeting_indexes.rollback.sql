-- 0053_video_meeting_indexes rollback: the indexes go; meetings_agent_id_idx comes back.
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS users_created_at_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS meetings_agent_id_idx ON meetings (agent_id);

DROP INDEX CONCURRENTLY IF EXISTS meetings_agent_id_created_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS video_summaries_search_idx;

DROP INDEX CONCURRENTLY IF EXISTS video_summaries_user_id_status_created_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS video_summaries_claimable_idx;
