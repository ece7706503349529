-- Sessions: a bearer token with an expiry. A session is live while expires_at > now() and
-- its user is not soft-deleted. Only the token's SHA-256 (token_hash) is stored: the service
-- hashes the token and hands it to its creator once.

-- name: create_session(user_id, token_hash, expires_in, ip_address, user_agent)<!
-- Inserts a session (by its token's SHA-256) expiring expires_in (an interval) from now for
-- an active user; returns the session, or nothing when the user is not active.
INSERT INTO sessions (user_id, token_hash, expires_at, ip_address, user_agent)
SELECT u.id, CAST(:token_hash AS bytea), now() + CAST(:expires_in AS interval),
    CAST(:ip_address AS text), CAST(:user_agent AS text)
FROM users AS u
WHERE u.id = :user_id AND u.deleted_at IS NULL
RETURNING id, user_id, expires_at, ip_address, user_agent, created_at, updated_at;

-- name: get_session_user_by_token_hash(token_hash)$
-- Returns the id of the user whose live session's token has this SHA-256, or nothing (the
-- session lookup path app_session_user of migration 0051: it tells who is acting).
SELECT app_session_user(:token_hash) AS user_id;

-- name: get_live_session_by_token_hash(token_hash)^
-- Returns the live session whose token has this SHA-256, or nothing (expired, revoked, user
-- deleted).
SELECT s.id, s.user_id, s.expires_at, s.ip_address, s.user_agent, s.created_at, s.updated_at
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
WHERE s.token_hash = :token_hash AND s.expires_at > now() AND u.deleted_at IS NULL;

-- name: list_live_sessions_by_user(user_id)
-- Returns the user's live sessions, newest first; at most 100 (the newest).
-- Capped, not paged: one session per sign-in, each expiring (the purge deletes it); a user's
-- live sessions are the devices it signed in from, few.
SELECT s.id, s.user_id, s.expires_at, s.ip_address, s.user_agent, s.created_at, s.updated_at
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
WHERE s.user_id = :user_id AND s.expires_at > now() AND u.deleted_at IS NULL
ORDER BY s.created_at DESC, s.id
LIMIT 100;

-- name: delete_session_by_id(session_id, user_id)!
-- Deletes one session of this user; returns the count (0 or 1).
DELETE FROM sessions
WHERE id = :session_id AND user_id = :user_id;

-- name: delete_session_by_token_hash(token_hash)!
-- Deletes the session whose token has this SHA-256 (sign-out); returns the count (0 or 1).
DELETE FROM sessions
WHERE token_hash = :token_hash;

-- name: delete_sessions_by_user(user_id)!
-- Deletes every session of the user; returns the count.
DELETE FROM sessions
WHERE user_id = :user_id;

-- name: delete_expired_sessions(batch_size)$
-- Deletes up to batch_size expired sessions of any user, skipping rows another purge holds;
-- returns the count (the maintenance path app_delete_expired_sessions of migration 0051).
SELECT app_delete_expired_sessions(:batch_size) AS "count!";
