-- 20261207080124_workspace_domain_lowercase: a custom domain is stored in its canonical form,
-- lowercase, so that the notes site's lookup by domain can be an index condition for
-- reference_visitor (20261207080126 puts the key on domain itself).
--
-- Why: under row-level security PostgreSQL takes a condition of the query into an index scan
-- ahead of the policy's own conditions only when every function it applies to a column is
-- LEAKPROOF. lower() is not, so as reference_visitor 'lower(domain) = lower($1)' was a filter
-- after the policy (app_workspace_is_public(id), once per row): a sequential scan of
-- workspaces for each request to a custom domain. 'domain = lower($1)' applies texteq, which
-- is LEAKPROOF, to the column itself: an index condition. Host names are case-insensitive
-- (RFC 4343) and the contract fixes `domain text`, unique case-insensitively, not its
-- spelling, so the stored spelling is the lowercase one: Docs.Example.com and
-- docs.example.COM are one domain, stored as docs.example.com, and a clash is DomainTaken.
--
-- Rejected:
-- - a case-insensitive nondeterministic ICU collation on domain: the embedded PostgreSQL is
--   built without ICU ("ICU is not supported in this build"), and the builtin provider has
--   deterministic collations only;
-- - a generated column lower(domain) with its own index: the visitor's WHERE would name it,
--   which needs SELECT on it, and the visitor holds SELECT on workspaces (id, slug, name,
--   domain, embed_depth) only (issue 26); a STORED generated column also rewrites workspaces
--   under ACCESS EXCLUSIVE, and a VIRTUAL one (PostgreSQL 18) cannot be indexed;
-- - an index on domain::citext: citext's = is not LEAKPROOF either;
-- - a LEAKPROOF wrapper of lower(): only a superuser may declare one, and in production
--   migrations run as the database's owner (docs/production-roles.md);
-- - a SECURITY DEFINER lookup: a visitor's queries read the tables directly (issue 26).
--
-- This migration, one transaction, takes no lock for longer than a catalog change:
-- - workspaces_lowercase_domain: a BEFORE INSERT OR UPDATE OF domain trigger storing
--   lower(domain), so every writer (this release's SQL, the previous release's, psql) keeps
--   it canonical; it runs only for a domain that is not lowercase already (its WHEN);
-- - workspaces_domain_lowercase: CHECK (domain = lower(domain)), the invariant the key relies
--   on, enforced even where triggers are off (session_replication_role = replica). It is
--   added NOT VALID (ACCESS EXCLUSIVE for a moment, no scan); 20261207080125 lowercases the
--   existing domains and validates it.

CREATE FUNCTION workspaces_lowercase_domain() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.domain := lower(NEW.domain);
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION workspaces_lowercase_domain() IS
    'BEFORE INSERT OR UPDATE OF domain trigger function on workspaces: stores the domain lowercase, its canonical form.';

CREATE TRIGGER workspaces_lowercase_domain
    BEFORE INSERT OR UPDATE OF domain ON workspaces
    FOR EACH ROW
    WHEN (NEW.domain <> lower(NEW.domain))
    EXECUTE FUNCTION workspaces_lowercase_domain();

ALTER TABLE workspaces
    ADD CONSTRAINT workspaces_domain_lowercase CHECK (domain = lower(domain)) NOT VALID;
