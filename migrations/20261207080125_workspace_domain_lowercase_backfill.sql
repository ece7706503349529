-- 20261207080125_workspace_domain_lowercase_backfill: the existing custom domains in their
-- canonical form, lowercase (20261207080124 says why), then the check workspaces_domain_lowercase
-- that 20261207080124 added NOT VALID is validated.
-- transactional: false
--
-- - The backfill: 1,000 workspaces per transaction in key order, so no transaction holds many
--   row locks for long and each batch reads its range from the primary key. The former
--   spelling is not kept; the rows it changes get a new updated_at, as any change does. Run
--   again, it finds nothing left to change.
-- - VALIDATE reads workspaces under a SHARE UPDATE EXCLUSIVE lock: reads and writes go on
--   (the trigger of 20261207080124 keeps new domains lowercase meanwhile). A domain that is not
--   lowercase fails it, naming the constraint.

DO $$
DECLARE
    done_up_to bigint;
    batch_end bigint;
BEGIN
    SELECT min(id) - 1 INTO done_up_to FROM workspaces;  -- NULL when empty: nothing to do
    LOOP
        SELECT max(b.id) INTO batch_end
        FROM (SELECT id FROM workspaces WHERE id > done_up_to ORDER BY id LIMIT 1000) AS b;
        EXIT WHEN batch_end IS NULL;
        UPDATE workspaces SET domain = lower(domain)
        WHERE id > done_up_to AND id <= batch_end AND domain <> lower(domain);
        COMMIT;
        done_up_to := batch_end;
    END LOOP;
END
$$;

-- Validating a valid constraint again changes nothing, so a rerun after a failure is safe:
-- squawk-ignore prefer-robust-stmts
ALTER TABLE workspaces VALIDATE CONSTRAINT workspaces_domain_lowercase;
