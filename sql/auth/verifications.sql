-- Verifications: one-time values (email verification, email change, others) for an
-- identifier, stored as their SHA-256 (value_hash) only. The application role reaches the
-- table only through the paths of migration 20261207022403_guarded_user_columns.

-- name: create_verification(identifier, value_hash, expires_in)^
-- Stores a value (by its SHA-256) for the identifier, tied to no user, expiring expires_in (an
-- interval, at most 30 days) from now; returns the verification.
SELECT v.id AS "id!", v.identifier AS "identifier!", v.expires_at AS "expires_at!",
    v.created_at AS "created_at!", v.updated_at AS "updated_at!"
FROM app_create_verification(:identifier::text, :value_hash::bytea, :expires_in::interval) AS v;

-- name: delete_live_verification(identifier, value_hash)^
-- Consumes a live value tied to no user: returns the verification, or nothing (unknown,
-- expired or already consumed). One statement: of concurrent consumers exactly one wins.
SELECT v.id AS "id!", v.identifier AS "identifier!", v.expires_at AS "expires_at!",
    v.created_at AS "created_at!", v.updated_at AS "updated_at!"
FROM app_consume_verification(:identifier::text, :value_hash::bytea) AS v;

-- name: create_email_verification(value_hash, expires_in)^
-- Stores a value to verify the acting user's own email; returns the verification, or nothing
-- without an active acting user.
SELECT v.id AS "id!", v.identifier AS "identifier!", v.expires_at AS "expires_at!",
    v.created_at AS "created_at!", v.updated_at AS "updated_at!"
FROM app_request_email_verification(:value_hash::bytea, :expires_in::interval) AS v;

-- name: update_user_email_verified(email, value_hash)$
-- Uses up the user's live value for this email and marks the email verified; returns the
-- user's id, or nothing (unknown, expired or used value; user gone).
SELECT app_verify_email(:email::text, :value_hash::bytea) AS id;

-- name: create_email_change(new_email, value_hash, expires_in)^
-- Stores a value, to send to new_email, that changes the acting user's email once used;
-- returns the verification, or nothing without an active acting user.
SELECT v.id AS "id!", v.identifier AS "identifier!", v.expires_at AS "expires_at!",
    v.created_at AS "created_at!", v.updated_at AS "updated_at!"
FROM app_request_email_change(:new_email::text, :value_hash::bytea, :expires_in::interval) AS v;

-- name: update_user_email_changed(new_email, value_hash)$
-- Uses up the value sent to new_email: the user's email becomes it, verified; returns the
-- user's id, or nothing. A taken email violates users_email_key.
SELECT app_confirm_email_change(:new_email::text, :value_hash::bytea) AS id;

-- name: delete_expired_verifications(batch_size)$
-- Deletes up to batch_size expired verifications, skipping rows another purge holds; returns
-- the count (the worker path app_delete_expired_verifications of 20261207043025).
SELECT app_delete_expired_verifications(:batch_size::integer) AS "purged!";

-- name: create_password_reset_request(email)!
-- Queues a password reset for the active user with this email (at most one pending per user);
-- for an unknown email the same statements run and find no user (the path
-- app_request_password_reset). The count is 1 either way.
SELECT app_request_password_reset(:email::text);

-- name: create_password_reset_from_request(value_hash, expires_in)^
-- The oldest pending reset request becomes a live value (by its SHA-256) expiring expires_in
-- (an interval, at most a day) from now, replacing the user's earlier one; returns the user,
-- its email and the expiry to deliver to, or nothing when none is pending (the worker path
-- app_issue_password_reset; requests of users soft-deleted since are dropped on the way).
SELECT r.user_id AS "user_id!", r.email AS "email!", r.expires_at AS "expires_at!"
FROM app_issue_password_reset(:value_hash::bytea, :expires_in::interval) AS r;

-- name: update_password_by_reset(value_hash, password_hash)^
-- Uses up a live password reset value: the user's password becomes password_hash and every
-- session of the user ends; returns (user_id, NULL), or (NULL, the expiry) for an expired
-- value, or nothing (unknown, used or replaced). Of concurrent uses exactly one gets user_id.
SELECT r.user_id, r.expired_at
FROM app_reset_password(:value_hash::bytea, :password_hash::text) AS r;
