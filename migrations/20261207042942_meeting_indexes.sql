-- 20261207042942_meeting_indexes: the indexes the meeting worker's claim and the meeting name
-- search read, built CONCURRENTLY (meetings stay writable meanwhile), so outside a transaction,
-- and the two extensions the name search's index needs.
-- transactional: false
--
-- - pg_trgm: trigram operator classes, so that a GIN index serves ILIKE '%term%' (a search by
--   any part of a name, which no b-tree can serve); btree_gin: b-tree-like operator classes
--   for GIN, so that the same index also holds the user column. Both are contrib extensions,
--   trusted, present on the embedded server and on the distributions' packages. Created only
--   when missing; the rollback drops them (RESTRICT: if anything else in the database came to
--   use them meanwhile, the rollback stops there instead of dropping it).
-- - meetings_user_id_name_trgm_idx: the user's meetings whose name contains a term
--   (list_meetings_by_name): one GIN index on (user_id, name gin_trgm_ops), so a rare term
--   among a user's 20,000 meetings reads the few matching entries, not every meeting;
-- - meetings_claimable_idx: the worker's claim (20261207042941) walks the meetings still to
--   process, oldest ended first; completed, cancelled and given-up ones, the bulk, are not in it.

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;

CREATE INDEX CONCURRENTLY IF NOT EXISTS meetings_user_id_name_trgm_idx
    ON meetings USING gin (user_id, name gin_trgm_ops);

CREATE INDEX CONCURRENTLY IF NOT EXISTS meetings_claimable_idx
    ON meetings (ended_at, id)
    WHERE status = 'processing' AND processing_failed_at IS NULL;
