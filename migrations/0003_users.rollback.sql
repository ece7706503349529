-- 0003_users rollback: drop the users table with its indexes and trigger.

DROP TABLE users;
