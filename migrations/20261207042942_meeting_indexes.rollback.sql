-- 20261207042942_meeting_indexes rollback: the indexes go, then the extensions they needed
-- (RESTRICT: an extension something else still uses stops the rollback with an error naming
-- that object, rather than dropping it).
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS meetings_claimable_idx;

DROP INDEX CONCURRENTLY IF EXISTS meetings_user_id_name_trgm_idx;

DROP EXTENSION IF EXISTS btree_gin RESTRICT;

DROP EXTENSION IF EXISTS pg_trgm RESTRICT;
