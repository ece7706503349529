-- 20261207080126_workspace_domain_key_on_domain: the unique key of custom domains,
-- workspaces_domain_key, is on domain itself instead of lower(domain), so that the notes
-- site's 'domain = lower($1)' is an index condition for reference_visitor (whose policy keeps
-- lower(domain), not LEAKPROOF, out of index conditions: 20261207080124 says why).
-- transactional: false
--
-- The previous migration made every domain lowercase (the check workspaces_domain_lowercase,
-- validated), so a key on domain is as unique case-insensitively as one on lower(domain) was.
-- Without stopping traffic, each statement committing on its own:
-- - the new unique index is built CONCURRENTLY under a name of its own (writes go on; a
--   duplicate, which the old key forbade, cannot occur);
-- - the names are swapped in one statement, so one transaction (SHARE UPDATE EXCLUSIVE on the
--   two indexes, which blocks neither reads nor writes): a clash is reported under
--   workspaces_domain_key (DomainTaken) at every moment;
-- - the old index is dropped CONCURRENTLY.
-- A failed build leaves an INVALID index named workspaces_domain_new_key: DROP INDEX
-- CONCURRENTLY it and migrate again.

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS workspaces_domain_new_key
    ON workspaces (domain) WHERE domain IS NOT NULL;

DO $$
BEGIN
    ALTER INDEX workspaces_domain_key RENAME TO workspaces_domain_lower_key;
    ALTER INDEX workspaces_domain_new_key RENAME TO workspaces_domain_key;
END
$$;

DROP INDEX CONCURRENTLY IF EXISTS workspaces_domain_lower_key;
