-- 20261207022309_workspace_domain_key rollback: the index goes (domains are no longer unique).
-- transactional: false

DROP INDEX CONCURRENTLY IF EXISTS workspaces_domain_key;
