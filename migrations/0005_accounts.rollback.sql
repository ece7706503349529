-- 0005_accounts rollback: drop the accounts table with its indexes and trigger.

DROP TABLE accounts;
