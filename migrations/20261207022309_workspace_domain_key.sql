-- 20261207022309_workspace_domain_key: a custom domain belongs to one workspace, whatever its
-- case (Docs.Example.com and docs.example.COM are one host name), and the notes site finds a
-- workspace by the Host a visitor asked for: a unique index on lower(domain), for the
-- workspaces that have one. The site looks up lower(:domain), which this index answers.
-- Built CONCURRENTLY (workspaces stays writable), so outside a transaction. When two
-- workspaces already share a domain the build fails naming the index and leaves an INVALID
-- index: clear one domain, DROP INDEX workspaces_domain_key, and migrate again.
-- transactional: false

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS workspaces_domain_key
    ON workspaces (lower(domain)) WHERE domain IS NOT NULL;
