-- 20261207043023_password_reset rollback: the paths and the requests' outbox go, with the
-- reset values (no other path can use them) and the index on the values' hashes.
-- squawk-ignore-file ban-drop-function, ban-drop-table

DROP FUNCTION app_reset_password(bytea, text);

DROP FUNCTION app_issue_password_reset(bytea, interval);

DROP FUNCTION app_request_password_reset(text);

DELETE FROM verifications WHERE identifier LIKE 'password-reset:%';

DROP INDEX verifications_value_hash_idx;

DROP TABLE password_reset_requests;
