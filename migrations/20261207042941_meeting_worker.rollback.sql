-- 20261207042941_meeting_worker rollback: the worker's paths and columns go; reference_app may
-- UPDATE every column of meetings again, as before.
-- squawk-ignore-file ban-drop-column, ban-drop-function

DROP FUNCTION app_fail_meeting(text, uuid, text, integer);

DROP FUNCTION app_complete_meeting(text, uuid, text, text, text);

DROP FUNCTION app_claim_meetings(text, integer, integer, integer);

REVOKE UPDATE (
    name, agent_id, status, started_at, ended_at, transcript_url, recording_url, summary,
    updated_at
) ON meetings FROM reference_app;

GRANT UPDATE ON meetings TO reference_app;

ALTER TABLE meetings
    DROP COLUMN claim_token,
    DROP COLUMN claimed_by,
    DROP COLUMN claimed_until,
    DROP COLUMN processing_failed_at,
    DROP COLUMN processing_error,
    DROP COLUMN processing_attempts;
