-- 0009_audit_log: an append-only log of every INSERT, UPDATE and DELETE on users, teams and
-- team_members, written by one trigger function so that every writer is logged, psql included.
-- Each row holds the table, the action, the changed row's key, the old and new row as jsonb,
-- the acting user and the time. The acting user comes from the transaction-local setting
-- app.user_id, which the services set with set_config('app.user_id', :user_id, true); it is
-- NULL when nobody set it. acting_user_id has no foreign key on purpose: the log outlives
-- hard-deleted users. Only these three tables are audited: sessions, accounts and
-- verifications hold tokens and password hashes, which must never be copied here.

CREATE TABLE audit_log (
    id             bigint      GENERATED ALWAYS AS IDENTITY,
    table_name     text        NOT NULL,
    action         text        NOT NULL,
    row_key        jsonb       NOT NULL,
    old_row        jsonb,
    new_row        jsonb,
    acting_user_id text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_action_check CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    CONSTRAINT audit_log_rows_match_action CHECK (
        (action = 'INSERT' AND old_row IS NULL AND new_row IS NOT NULL)
        OR (action = 'UPDATE' AND old_row IS NOT NULL AND new_row IS NOT NULL)
        OR (action = 'DELETE' AND old_row IS NOT NULL AND new_row IS NULL)
    )
);

CREATE INDEX audit_log_table_name_row_key_idx ON audit_log (table_name, row_key, id);

CREATE INDEX audit_log_acting_user_id_idx ON audit_log (acting_user_id, id);

COMMENT ON TABLE audit_log IS
    'Append-only change log of users, teams and team_members, written by audit_log_record(); acting_user_id from app.user_id.';

-- The trigger's arguments name the key columns of the audited table.
CREATE FUNCTION audit_log_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_data jsonb;
    new_data jsonb;
    key_data jsonb := '{}';
    key_index integer;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_data := to_jsonb(OLD);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_data := to_jsonb(NEW);
    END IF;
    FOR key_index IN 0 .. TG_NARGS - 1 LOOP
        key_data := key_data || jsonb_build_object(
            TG_ARGV[key_index], coalesce(new_data, old_data) -> TG_ARGV[key_index]
        );
    END LOOP;
    INSERT INTO audit_log (table_name, action, row_key, old_row, new_row, acting_user_id)
    VALUES (
        TG_TABLE_NAME,
        TG_OP,
        key_data,
        old_data,
        new_data,
        -- After a transaction that set it ends, the setting reads as '' in that session.
        nullif(current_setting('app.user_id', true), '')
    );
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION audit_log_record() IS
    'AFTER ROW trigger: appends the change to audit_log; TG_ARGV names the key columns.';

CREATE TRIGGER users_audit
    AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION audit_log_record('id');

CREATE TRIGGER teams_audit
    AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION audit_log_record('id');

CREATE TRIGGER team_members_audit
    AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION audit_log_record('team_id', 'user_id');
