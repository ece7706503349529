-- 20261207080124_workspace_domain_lowercase rollback: the check, the trigger and its function
-- go. The domains stay lowercase (their former spelling was not kept), which the earlier schema
-- accepts as they are; new ones are stored as written again.

ALTER TABLE workspaces DROP CONSTRAINT workspaces_domain_lowercase;

DROP TRIGGER workspaces_lowercase_domain ON workspaces;

DROP FUNCTION workspaces_lowercase_domain();
