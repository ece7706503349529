-- 0050_app_role rollback: take back every privilege reference_app holds in this database; drop
-- the role itself only when no other database of the cluster still holds anything for it
-- (test copies, scratch databases and other deployments share the role: their grants must not
-- make this rollback fail, nor be taken from them).

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM reference_app;

REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM reference_app;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM reference_app;

REVOKE ALL ON SCHEMA public FROM reference_app;

DO $$
DECLARE
    role_oid oid := (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'reference_app');
BEGIN
    IF role_oid IS NULL THEN
        RETURN;
    END IF;
    -- pg_shdepend holds, per database, every object owned by or granted to the role.
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_shdepend
        WHERE refclassid = 'pg_catalog.pg_authid'::regclass AND refobjid = role_oid
    ) THEN
        DROP ROLE reference_app;
    END IF;
EXCEPTION
    -- Another database granted something to it, or dropped it, since the check above.
    WHEN dependent_objects_still_exist OR undefined_object THEN
        NULL;
END
$$;
