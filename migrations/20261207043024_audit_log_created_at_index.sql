-- 20261207043024_audit_log_created_at_index: the audit entries older than a cutoff, oldest
-- first, read from an index: the archive (20261207043025_maintenance_paths) takes them in
-- batches, and without it each batch would scan the whole log it exists to shrink. Built
-- CONCURRENTLY (the log grows with every write of users, teams and members, which go on
-- meanwhile), so outside a transaction.
-- transactional: false

CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_created_at_idx ON audit_log (created_at, id);
