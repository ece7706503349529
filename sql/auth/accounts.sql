-- Linked OAuth accounts. No query here returns a token or a password hash.

-- name: upsert_oauth_account(user_id, provider_id, account_id, access_token, refresh_token, id_token, access_token_expires_at, refresh_token_expires_at, scope)<!
-- Links a provider account to an active user, or refreshes its tokens when it is already
-- linked to that user; returns the account, or nothing when the user is not active or the
-- provider account belongs to another user.
INSERT INTO accounts (
    user_id, account_id, provider_id, access_token, refresh_token, id_token,
    access_token_expires_at, refresh_token_expires_at, scope
)
SELECT
    u.id, CAST(:account_id AS text), CAST(:provider_id AS text), CAST(:access_token AS text),
    CAST(:refresh_token AS text), CAST(:id_token AS text),
    CAST(:access_token_expires_at AS timestamptz), CAST(:refresh_token_expires_at AS timestamptz),
    CAST(:scope AS text)
FROM users AS u
WHERE u.id = :user_id AND u.deleted_at IS NULL
ON CONFLICT ON CONSTRAINT accounts_provider_id_account_id_key DO UPDATE
SET
    access_token = EXCLUDED.access_token,
    refresh_token = EXCLUDED.refresh_token,
    id_token = EXCLUDED.id_token,
    access_token_expires_at = EXCLUDED.access_token_expires_at,
    refresh_token_expires_at = EXCLUDED.refresh_token_expires_at,
    scope = EXCLUDED.scope
WHERE accounts.user_id = EXCLUDED.user_id
RETURNING
    id, user_id, account_id, provider_id, access_token_expires_at, refresh_token_expires_at,
    scope, created_at, updated_at;

-- name: delete_oauth_account(user_id, provider_id, account_id)!
-- Unlinks a provider account from the user (never the credential one); returns the count.
DELETE FROM accounts
WHERE user_id = :user_id
    AND provider_id = :provider_id
    AND account_id = :account_id
    AND provider_id <> 'credential';

-- name: list_accounts_by_user(user_id)
-- Returns the active user's accounts (credential included), oldest first.
SELECT
    a.id, a.user_id, a.account_id, a.provider_id, a.access_token_expires_at,
    a.refresh_token_expires_at, a.scope, a.created_at, a.updated_at
FROM accounts AS a
JOIN users AS u ON u.id = a.user_id
WHERE a.user_id = :user_id AND u.deleted_at IS NULL
ORDER BY a.created_at, a.id;
