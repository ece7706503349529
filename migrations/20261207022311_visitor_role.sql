-- 20261207022311_visitor_role: the notes site's visitors, reference_visitor, who read the
-- published pages and nothing else.
--
-- The site serves /{workspace slug}/{page} (or {page} on a workspace's custom domain) to
-- anyone, with no acting user; every workspace's pages are public. Its connections act as
-- reference_visitor (plainsql's transaction-role, or a login role of the deployment that is a
-- member of it), a NOLOGIN role like reference_app (0050): created only when missing (roles
-- belong to the cluster), no BYPASSRLS, owns nothing, creates nothing.
--
-- What it holds:
-- - SELECT on workspaces (id, slug, name, domain, embed_depth) only: not user_id (who owns a
--   site), nor the timestamps;
-- - SELECT on nodes (pages and blocks);
-- - policies of its own on both tables (TO reference_visitor, FOR SELECT): the workspaces whose
--   owner is not soft-deleted (app_workspace_is_public(), below: a soft-deleted user is
--   invisible everywhere, their site included), and the nodes of a workspace it can see. The
--   policies of 0051 are TO reference_app and do not apply to it; with no policy for INSERT,
--   UPDATE or DELETE and no such privilege, every write is refused.
-- Nothing on users, sessions, accounts, verifications, teams, audit_log, git_repositories,
-- deployment_history or any other application's table: every read of them is refused. The
-- SECURITY DEFINER functions of 0051 onwards have EXECUTE revoked from PUBLIC: it can run none.
--
-- The visitor's queries read workspaces and nodes directly (sql/site/), so the planner sees
-- the whole query (the page tree's recursion, the backlinks' GIN index) as for the owner's.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'reference_visitor') THEN
        CREATE ROLE reference_visitor NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
            NOBYPASSRLS;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another database of the cluster created it meanwhile
END
$$;

GRANT USAGE ON SCHEMA public TO reference_visitor;

GRANT SELECT (id, slug, name, domain, embed_depth) ON workspaces TO reference_visitor;

GRANT SELECT ON nodes TO reference_visitor;

-- Whether a workspace is public, i.e. its owner is not soft-deleted: the visitor's policy on
-- workspaces asks it without any privilege on users. It takes the workspace, not the user: a
-- visitor calling it learns what the policy shows anyway (whether that workspace is visible),
-- never whether some user id exists.
CREATE FUNCTION app_workspace_is_public(checked_workspace_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM workspaces AS w JOIN users AS u ON u.id = w.user_id
        WHERE w.id = checked_workspace_id AND u.deleted_at IS NULL
    )
$$;

COMMENT ON FUNCTION app_workspace_is_public(bigint) IS
    'The visitors'' policy on workspaces: whether the workspace''s owner is an active user.';

REVOKE ALL ON FUNCTION app_workspace_is_public(bigint) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_workspace_is_public(bigint) TO reference_visitor;

CREATE POLICY workspaces_visitors_read ON workspaces FOR SELECT TO reference_visitor
    USING (app_workspace_is_public(id));

-- The nodes of a workspace the visitor can see (the subquery is itself under the policy above).
CREATE POLICY nodes_visitors_read ON nodes FOR SELECT TO reference_visitor
    USING (EXISTS (SELECT 1 FROM workspaces AS w WHERE w.id = nodes.workspace_id));
