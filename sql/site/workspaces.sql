-- The notes site's reads of workspaces, as reference_visitor (no acting user): only the columns
-- it may read (id, slug, name, domain, embed_depth); its policy hides a soft-deleted owner's.

-- name: get_site_workspace_by_slug(slug)^
-- The public face of the workspace with this slug (the site's /{slug}/... URLs).
-- plainsql: replica-safe
SELECT id, slug, name, domain, embed_depth
FROM workspaces
WHERE slug = :slug;

-- name: get_site_workspace_by_domain(domain)^
-- The public face of the workspace whose custom domain is this host name, in any case
-- (domains are stored lowercase; workspaces_domain_key on domain is its index condition
-- under the visitor's policy, which lower(domain) could not be).
-- plainsql: replica-safe
SELECT id, slug, name, domain, embed_depth
FROM workspaces
WHERE domain = lower(:domain::text);
