-- 20261207043024_audit_log_created_at_index rollback: the index goes.
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS audit_log_created_at_idx;
