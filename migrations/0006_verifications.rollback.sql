-- 0006_verifications rollback: drop the verifications table with its indexes and trigger.

DROP TABLE verifications;
