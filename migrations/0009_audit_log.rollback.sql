-- 0009_audit_log rollback: detach the audit triggers, drop their function and the log.

DROP TRIGGER team_members_audit ON team_members;

DROP TRIGGER teams_audit ON teams;

DROP TRIGGER users_audit ON users;

DROP FUNCTION audit_log_record();

DROP TABLE audit_log;
