-- Users and their credential (email + password) accounts. Every read skips soft-deleted
-- users (deleted_at set): to the application they no longer exist.

-- name: create_user(name, email, username, image)<!
-- Inserts a user; returns the new user.
INSERT INTO users (name, email, username, image)
VALUES (:name, :email, :username, :image)
RETURNING id, name, email, email_verified, image, username, role, created_at, updated_at;

-- name: create_credential_account(user_id, password_hash)<!
-- Inserts the user's credential account (account_id = user id: one per user); returns its id.
INSERT INTO accounts (user_id, account_id, provider_id, password)
VALUES (:user_id, :user_id, 'credential', :password_hash)
RETURNING id;

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
-- Returns the id of the active user with this email and its credential hash, or nothing.
SELECT
    u.id AS user_id,
    a.password AS password_hash  -- NOT NULL: the WHERE requires a.password IS NOT NULL
FROM users AS u
JOIN accounts AS a ON a.user_id = u.id AND a.provider_id = 'credential' AND a.account_id = u.id
WHERE lower(u.email) = lower(:email) AND u.deleted_at IS NULL AND a.password IS NOT NULL;

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

-- name: update_user_email_verified(email)<!
-- Marks the active user with this email (case-insensitive) as verified; returns the user.
UPDATE users
SET email_verified = true
WHERE lower(email) = lower(:email) AND deleted_at IS NULL
RETURNING id, name, email, email_verified, image, username, role, created_at, updated_at;

-- name: update_user_soft_deleted(user_id)<!
-- Soft-deletes an active user (sets deleted_at); returns its id, or nothing.
UPDATE users
SET deleted_at = now()
WHERE id = :user_id AND deleted_at IS NULL
RETURNING id;

-- name: delete_user(user_id)<!
-- Deletes a user, soft-deleted or not, and (by cascade) its sessions, accounts and
-- memberships; returns its id, or nothing.
DELETE FROM users
WHERE id = :user_id
RETURNING id;
