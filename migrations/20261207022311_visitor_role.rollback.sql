-- 20261207022311_visitor_role rollback: the policies, the function and every privilege
-- reference_visitor holds in this database go; the role itself only when no other database
-- of the cluster still holds anything for it (as 0050's rollback does for reference_app).

DROP POLICY nodes_visitors_read ON nodes;

DROP POLICY workspaces_visitors_read ON workspaces;

DROP FUNCTION app_workspace_is_public(bigint);

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM reference_visitor;

REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM reference_visitor;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM reference_visitor;

REVOKE ALL ON SCHEMA public FROM reference_visitor;

DO $$
DECLARE
    role_oid oid := (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'reference_visitor');
BEGIN
    IF role_oid IS NULL THEN
        RETURN;
    END IF;
    -- pg_shdepend holds, per database, every object owned by or granted to the role.
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_shdepend
        WHERE refclassid = 'pg_catalog.pg_authid'::regclass AND refobjid = role_oid
    ) THEN
        DROP ROLE reference_visitor;
    END IF;
EXCEPTION
    -- Another database granted something to it, or dropped it, since the check above.
    WHEN dependent_objects_still_exist OR undefined_object THEN
        NULL;
END
$$;
