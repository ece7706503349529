-- Meeting pages read agent_name with a scalar subquery, not a join: a join makes the planner
-- misjudge how many rows the user's meetings and agents pair into, and sort instead of
-- reading the index in order.
--
-- A meeting's lifecycle: upcoming -> active -> processing -> completed, and cancel from
-- upcoming or active. Each move is ONE conditional UPDATE ... WHERE status = <allowed>: of two
-- racing callers the second waits for the first's row lock, re-checks the status, finds it
-- changed and updates nothing. No row back means "not the user's meeting" or "not allowed
-- from its current status"; the service tells which. ended_at is greatest(now(), started_at):
-- a server clock stepped back between start and end records a zero-length meeting instead of
-- failing the CHECK meetings_ended_after_started.

-- name: create_meeting(user_id, agent_id, name)<!
-- The new upcoming meeting, or nothing if the agent is not the user's.
INSERT INTO meetings (user_id, agent_id, name)
SELECT a.user_id, a.id, :name
FROM agents AS a
WHERE a.id = :agent_id AND a.user_id = :user_id
RETURNING id, name, user_id, agent_id, status, started_at, ended_at, transcript_url,
          recording_url, summary, created_at, updated_at;

-- name: get_meeting_by_id(meeting_id, user_id)^
-- The user's meeting with its agent's name, or nothing.
SELECT m.id, m.name, m.user_id, m.agent_id, a.name AS agent_name, m.status, m.started_at,
       m.ended_at, m.transcript_url, m.recording_url, m.summary, m.created_at, m.updated_at
FROM meetings AS m
JOIN agents AS a ON a.id = m.agent_id
WHERE m.id = :meeting_id AND m.user_id = :user_id;

-- name: list_meetings_by_user(user_id, before_created_at, before_id, page_size)
-- One page of the user's meetings with their agent's name, newest first, strictly after the cursor (before_created_at, before_id); NULL cursor = first page.
SELECT m.id, m.name, m.user_id, m.agent_id,
       (SELECT a.name FROM agents AS a WHERE a.id = m.agent_id) AS "agent_name!",
       m.status, m.started_at, m.ended_at, m.transcript_url, m.recording_url, m.summary,
       m.created_at, m.updated_at
FROM meetings AS m
WHERE m.user_id = :user_id
  AND (m.created_at, m.id) < (coalesce(:before_created_at::timestamptz, 'infinity'),
                              coalesce(:before_id::text, ''))
ORDER BY m.created_at DESC, m.id DESC
LIMIT :page_size::integer;

-- name: list_meetings_by_status(user_id, status, before_created_at, before_id, page_size)
-- One page of the user's meetings of one status, newest first, strictly after the cursor.
SELECT m.id, m.name, m.user_id, m.agent_id,
       (SELECT a.name FROM agents AS a WHERE a.id = m.agent_id) AS "agent_name!",
       m.status, m.started_at, m.ended_at, m.transcript_url, m.recording_url, m.summary,
       m.created_at, m.updated_at
FROM meetings AS m
WHERE m.user_id = :user_id AND m.status = :status::meeting_status
  AND (m.created_at, m.id) < (coalesce(:before_created_at::timestamptz, 'infinity'),
                              coalesce(:before_id::text, ''))
ORDER BY m.created_at DESC, m.id DESC
LIMIT :page_size::integer;

-- name: list_meetings_by_agent(user_id, agent_id, before_created_at, before_id, page_size)
-- One page of the meetings the user had with one of their agents, newest first, strictly after the cursor; NULL cursor = first page.
SELECT m.id, m.name, m.user_id, m.agent_id,
       (SELECT a.name FROM agents AS a WHERE a.id = m.agent_id) AS "agent_name!",
       m.status, m.started_at, m.ended_at, m.transcript_url, m.recording_url, m.summary,
       m.created_at, m.updated_at
FROM meetings AS m
WHERE m.user_id = :user_id AND m.agent_id = :agent_id
  AND (m.created_at, m.id) < (coalesce(:before_created_at::timestamptz, 'infinity'),
                              coalesce(:before_id::text, ''))
ORDER BY m.created_at DESC, m.id DESC
LIMIT :page_size::integer;

-- name: list_meetings_by_name(user_id, name_contains, before_created_at, before_id, page_size)
-- One page of the user's meetings whose name contains the text (case-insensitive, taken literally), newest first, strictly after the cursor. The search path app_search_meetings (20261207042944) finds the page's ids, from the trigram index for a rare text (under row-level security ILIKE cannot be an index condition), newest first from the b-tree for a common one; their rows are read here through the policy and the page's few rows sorted.
SELECT m.id, m.name, m.user_id, m.agent_id,
       (SELECT a.name FROM agents AS a WHERE a.id = m.agent_id) AS "agent_name!",
       m.status, m.started_at, m.ended_at, m.transcript_url, m.recording_url, m.summary,
       m.created_at, m.updated_at
FROM meetings AS m
WHERE m.user_id = :user_id
  AND m.id = any(ARRAY(
      SELECT app_search_meetings(:user_id::text, :name_contains::text,
                                 coalesce(:before_created_at::timestamptz, 'infinity'),
                                 coalesce(:before_id::text, ''), :page_size::integer)))
ORDER BY m.created_at DESC, m.id DESC;

-- name: update_meeting(meeting_id, user_id, name, agent_id)<!
-- The meeting renamed and/or moved to another of the user's agents (NULL keeps a value), or nothing if the meeting or the agent is not the user's.
UPDATE meetings AS m
SET name = coalesce(:name, m.name),
    agent_id = coalesce(:agent_id::text, m.agent_id)
WHERE m.id = :meeting_id AND m.user_id = :user_id
  AND (:agent_id::text IS NULL
       OR EXISTS (SELECT 1 FROM agents AS a WHERE a.id = :agent_id::text AND a.user_id = :user_id))
RETURNING m.id, m.name, m.user_id, m.agent_id, m.status, m.started_at, m.ended_at,
          m.transcript_url, m.recording_url, m.summary, m.created_at, m.updated_at;

-- name: count_meetings_by_user(user_id, status)$
-- How many meetings the user has, optionally of one status.
SELECT count(*)
FROM meetings
WHERE user_id = :user_id
  AND (:status::meeting_status IS NULL OR status = :status::meeting_status);

-- name: update_meeting_start(meeting_id, user_id)<!
-- The meeting moved upcoming -> active with started_at = now(), or nothing (not the user's, or not upcoming).
UPDATE meetings
SET status = 'active',
    started_at = now()
WHERE id = :meeting_id AND user_id = :user_id AND status = 'upcoming'
RETURNING id, name, user_id, agent_id, status, started_at, ended_at, transcript_url,
          recording_url, summary, created_at, updated_at;

-- name: update_meeting_end(meeting_id, user_id)<!
-- The meeting moved active -> processing with ended_at = now(), or nothing (not the user's, or not active).
UPDATE meetings
SET status = 'processing',
    ended_at = greatest(now(), started_at)
WHERE id = :meeting_id AND user_id = :user_id AND status = 'active'
RETURNING id, name, user_id, agent_id, status, started_at, ended_at, transcript_url,
          recording_url, summary, created_at, updated_at;

-- name: update_meeting_complete(meeting_id, user_id, summary)<!
-- The meeting moved processing -> completed with its summary, or nothing (not the user's, or not processing).
UPDATE meetings
SET status = 'completed',
    summary = :summary
WHERE id = :meeting_id AND user_id = :user_id AND status = 'processing'
RETURNING id, name, user_id, agent_id, status, started_at, ended_at, transcript_url,
          recording_url, summary, created_at, updated_at;

-- name: update_meeting_cancel(meeting_id, user_id)<!
-- The meeting moved upcoming or active -> cancelled (ended_at = now() if it had started), or nothing (not the user's, or already over).
UPDATE meetings
SET status = 'cancelled',
    ended_at = CASE WHEN started_at IS NOT NULL THEN greatest(now(), started_at) END
WHERE id = :meeting_id AND user_id = :user_id AND status IN ('upcoming', 'active')
RETURNING id, name, user_id, agent_id, status, started_at, ended_at, transcript_url,
          recording_url, summary, created_at, updated_at;

-- name: update_meeting_recording(meeting_id, user_id, transcript_url, recording_url)<!
-- The meeting with its transcript and/or recording url set (NULL keeps a value), or nothing if not the user's.
UPDATE meetings
SET transcript_url = coalesce(:transcript_url, transcript_url),
    recording_url = coalesce(:recording_url, recording_url)
WHERE id = :meeting_id AND user_id = :user_id
RETURNING id, name, user_id, agent_id, status, started_at, ended_at, transcript_url,
          recording_url, summary, created_at, updated_at;

-- name: delete_meeting(meeting_id, user_id)!
-- How many meetings were deleted (0 or 1).
DELETE FROM meetings
WHERE id = :meeting_id AND user_id = :user_id;
