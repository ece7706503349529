-- Users and their credential (email + password) accounts. Every read skips soft-deleted
-- users (deleted_at set): to the application they no longer exist.

-- name: create_user(name, email, username, image)<!
-- Inserts a user; returns the new user.
INSERT INTO users (name, email, username, image)
VALUES (:name, :email, :username, :image)
RETURNING id, name, email, email_verified, image, username, role, created_at, updated_at;

-- name: create_user_with_credential(name, email, username, image, password_hash)$
-- Signs up: inserts a user (role MEMBER) and its credential account holding the password
-- hash; returns the user's id (the path app_sign_up of migration 0051: nobody acts yet).
-- (coalesce(..., NULL) changes nothing: it tells typegen that username and image may be None.)
SELECT app_sign_up(
    :name, :email, coalesce(CAST(:username AS text), NULL), coalesce(CAST(:image AS text), NULL),
    :password_hash
) AS "id!";

-- name: get_user_by_id(user_id)^
-- Returns the active user with this id, or nothing.
SELECT id, name, email, email_verified, image, username, role, created_at, updated_at
FROM users
WHERE id = :user_id AND deleted_at IS NULL;

-- name: get_user_by_email(email)^
-- Returns the active user with this email, compared case-insensitively, or nothing.
SELECT id, name, email, email_verified, image, username, role, created_at, updated_at
FROM users
WHERE lower(email) = lower(:email) AND deleted_at IS NULL;

-- name: get_user_by_username(username)^
-- Returns the active user with this username, compared case-insensitively, or nothing.
-- "username?": typegen proves it NOT NULL here (the WHERE), but the row stays the User of
-- every other lookup (one record type, comparable with them).
SELECT id, name, email, email_verified, image, username AS "username?", role, created_at,
       updated_at
FROM users
WHERE lower(username) = lower(:username) AND deleted_at IS NULL;

-- name: get_credential_by_email(email)^
-- Returns the id of the active user with this email and its credential hash, or nothing
-- (the sign-in path app_credential_by_email of migration 0051: nobody acts yet).
SELECT
    c.user_id AS "user_id!",
    c.password_hash AS "password_hash!"  -- never NULL: the path requires a password
FROM app_credential_by_email(:email) AS c;

-- name: update_credential_password(user_id, old_password_hash, new_password_hash)!
-- Replaces the credential hash if it is still the old one; returns the count (0 or 1).
UPDATE accounts
SET password = :new_password_hash
WHERE provider_id = 'credential'
    AND account_id = :user_id
    AND user_id = :user_id
    AND password = :old_password_hash;

-- name: update_user_profile(user_id, name, set_image, image, set_username, username)<!
-- Updates name (when given), image and username (when their set_ flag is true) of an active
-- user; returns the updated user, or nothing.
UPDATE users
SET
    name = coalesce(:name, name),
    image = CASE WHEN :set_image THEN CAST(:image AS text) ELSE image END,
    username = CASE WHEN :set_username THEN CAST(:username AS text) ELSE username END
WHERE id = :user_id AND deleted_at IS NULL
RETURNING id, name, email, email_verified, image, username, role, created_at, updated_at;

-- name: update_user_soft_deleted(user_id)$
-- Soft-deletes the acting user's own active row (the path app_soft_delete_user: the role may
-- not UPDATE deleted_at); returns its id, or nothing (another user, or already deleted).
SELECT app_soft_delete_user(:user_id::text) AS id;

-- name: delete_user(user_id)<!
-- Deletes a user, soft-deleted or not, and (by cascade) its sessions, accounts and
-- memberships; returns its id, or nothing.
DELETE FROM users
WHERE id = :user_id
RETURNING id;

-- name: get_credential_by_login(login)^
-- The id and credential hash of the active user whose email or username is login (any case), or nothing (the sign-in path app_credential_by_login, 0054). Should a username equal another user's email, the email wins.
SELECT c.user_id AS "user_id!", c.password_hash AS "password_hash!"
FROM app_credential_by_login(:login) AS c;

-- name: list_users_page(before_created_at, before_id, page_size)
-- One page of the active users, newest first, strictly after the cursor (NULL = the first page): the administrators' list. Only an administrator (global role OWNER) sees anyone but themself (the policy users_admins_read, 0054).
SELECT id, name, email, email_verified, image, username, role, created_at, updated_at
FROM users
WHERE deleted_at IS NULL
  AND (created_at, id) < (coalesce(:before_created_at::timestamptz, 'infinity'),
                          coalesce(:before_id::text, ''))
ORDER BY created_at DESC, id DESC
LIMIT :page_size::integer;

-- name: update_user_role(user_id, role)$
-- Sets an active user's global role (the admin path app_set_user_role, 0054): true when found; an acting user who is not an administrator gets insufficient_privilege.
SELECT app_set_user_role(:user_id::text, :role::user_role) AS "found!";

-- name: get_credential_by_user_id(user_id)^
-- The id and credential hash of the active user (acting as itself), or nothing (no password,
-- another user, soft-deleted): what a password change checks the current password against.
SELECT a.user_id, a.password AS password_hash
FROM accounts AS a
JOIN users AS u ON u.id = a.user_id
WHERE a.user_id = :user_id
    AND a.provider_id = 'credential'
    AND a.account_id = :user_id
    AND a.password IS NOT NULL
    AND u.deleted_at IS NULL;

-- name: update_credential_password_ending_sessions(user_id, old_password_hash, new_password_hash, keep_session_id)$
-- Replaces the credential hash if it is still the old one and, in the same statement, ends
-- every other session of the user (all of them when keep_session_id is NULL); returns how
-- many sessions ended, or nothing when the hash was not replaced.
WITH changed AS (
    UPDATE accounts
    SET password = :new_password_hash
    WHERE provider_id = 'credential'
        AND account_id = :user_id
        AND user_id = :user_id
        AND password = :old_password_hash
    RETURNING user_id
), ended AS (
    DELETE FROM sessions AS s
    USING changed
    WHERE s.user_id = changed.user_id
        AND s.id IS DISTINCT FROM coalesce(CAST(:keep_session_id AS text), NULL)
    RETURNING s.id
)
SELECT (SELECT count(*) FROM ended)::integer AS ended
FROM changed;
