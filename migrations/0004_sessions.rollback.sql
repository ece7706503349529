-- 0004_sessions rollback: drop the sessions table with its indexes and trigger.

DROP TABLE sessions;
