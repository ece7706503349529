-- 20261207080125_workspace_domain_lowercase_backfill rollback: the check is as 20261207080124
-- left it, NOT VALID (dropped and added again: PostgreSQL cannot mark a validated constraint
-- not valid). The domains stay lowercase: their former spelling was not kept, and the
-- lowercase one is what the earlier schema accepts as well.

ALTER TABLE workspaces DROP CONSTRAINT workspaces_domain_lowercase;

ALTER TABLE workspaces
    ADD CONSTRAINT workspaces_domain_lowercase CHECK (domain = lower(domain)) NOT VALID;
