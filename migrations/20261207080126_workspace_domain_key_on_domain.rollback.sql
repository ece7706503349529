-- 20261207080126_workspace_domain_key_on_domain rollback: workspaces_domain_key is on
-- lower(domain) again, swapped in the same way (built CONCURRENTLY, names swapped in one
-- transaction, the key on domain dropped CONCURRENTLY).
-- transactional: false

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS workspaces_domain_lower_key
    ON workspaces (lower(domain)) WHERE domain IS NOT NULL;

DO $$
BEGIN
    ALTER INDEX workspaces_domain_key RENAME TO workspaces_domain_new_key;
    ALTER INDEX workspaces_domain_lower_key RENAME TO workspaces_domain_key;
END
$$;

DROP INDEX CONCURRENTLY IF EXISTS workspaces_domain_new_key;
