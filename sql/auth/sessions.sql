-- Sessions: a bearer token with an expiry. A session is live while expires_at > now() and
-- its user is not soft-deleted. No query here returns the token: only its creator sees it.

-- name: create_session(user_id, token, expires_in, ip_address, user_agent)<!
-- Inserts a session expiring expires_in (an interval) from now for an active user;
-- returns the session without its token, or nothing when the user is not active.
INSERT INTO sessions (user_id, token, expires_at, ip_address, user_agent)
SELECT u.id, CAST(:token AS text), now() + CAST(:expires_in AS interval),
    CAST(:ip_address AS text), CAST(:user_agent AS text)
FROM users AS u
WHERE u.id = :user_id AND u.deleted_at IS NULL
RETURNING id, user_id, expires_at, ip_address, user_agent, created_at, updated_at;

-- name: get_live_session_by_token(token)^
-- Returns the live session with this token, or nothing (expired, revoked, user deleted).
SELECT s.id, s.user_id, s.expires_at, s.ip_address, s.user_agent, s.created_at, s.updated_at
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
WHERE s.token = :token AND s.expires_at > now() AND u.deleted_at IS NULL;

-- name: list_live_sessions_by_user(user_id)
-- Returns the user's live sessions, newest first.
SELECT s.id, s.user_id, s.expires_at, s.ip_address, s.user_agent, s.created_at, s.updated_at
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
WHERE s.user_id = :user_id AND s.expires_at > now() AND u.deleted_at IS NULL
ORDER BY s.created_at DESC, s.id;

-- name: delete_session_by_id(session_id, user_id)!
-- Deletes one session of this user; returns the count (0 or 1).
DELETE FROM sessions
WHERE id = :session_id AND user_id = :user_id;

-- name: delete_session_by_token(token)!
-- Deletes the session with this token (sign-out); returns the count (0 or 1).
DELETE FROM sessions
WHERE token = :token;

-- name: delete_sessions_by_user(user_id)!
-- Deletes every session of the user; returns the count.
DELETE FROM sessions
WHERE user_id = :user_id;

-- name: delete_expired_sessions(batch_size)!
-- Deletes up to batch_size expired sessions, skipping rows another purge holds; returns the count.
DELETE FROM sessions
WHERE id = any(ARRAY(
    SELECT id
    FROM sessions
    WHERE expires_at <= now()
    LIMIT :batch_size
    FOR UPDATE SKIP LOCKED
));
