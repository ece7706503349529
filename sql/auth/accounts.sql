-- Linked OAuth accounts. The tokens are stored as AES-256-GCM envelopes the application makes
-- (reference_apps.services.crypto): parameters and results are bytea, never a token in clear.
-- No query here returns a password hash; only the *_oauth_token_ciphertexts ones return tokens.

-- name: upsert_oauth_account(user_id, provider_id, account_id, access_token, refresh_token, id_token, access_token_expires_at, refresh_token_expires_at, scope)<!
-- Links a provider account to an active user, or refreshes its tokens when it is already
-- linked to that user; returns the account, or nothing when the user is not active or the
-- provider account belongs to another user.
INSERT INTO accounts (
    user_id, account_id, provider_id, access_token, refresh_token, id_token,
    access_token_expires_at, refresh_token_expires_at, scope
)
SELECT
    u.id, CAST(:account_id AS text), CAST(:provider_id AS text), CAST(:access_token AS bytea),
    CAST(:refresh_token AS bytea), CAST(:id_token AS bytea),
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
-- Returns the active user's accounts (credential included), oldest first; at most 100 (one per sign-in provider).
-- Capped, not paged: the user links each account itself, and sign-in providers are few.
SELECT
    a.id, a.user_id, a.account_id, a.provider_id, a.access_token_expires_at,
    a.refresh_token_expires_at, a.scope, a.created_at, a.updated_at
FROM accounts AS a
JOIN users AS u ON u.id = a.user_id
WHERE a.user_id = :user_id AND u.deleted_at IS NULL
ORDER BY a.created_at, a.id
LIMIT 100;

-- name: get_oauth_token_ciphertexts(user_id, provider_id, account_id)^
-- The encrypted tokens of the active user's linked provider account, or none.
SELECT a.id, a.provider_id, a.account_id, a.access_token, a.refresh_token, a.id_token
FROM accounts AS a
JOIN users AS u ON u.id = a.user_id
WHERE a.user_id = :user_id
    AND a.provider_id = :provider_id
    AND a.account_id = :account_id
    AND a.provider_id <> 'credential'
    AND u.deleted_at IS NULL;

-- name: list_oauth_token_ciphertexts(after_id, limit)
-- The next page (by id, after :after_id) of accounts holding a token, locked FOR UPDATE until
-- the transaction ends: the key rotation re-encrypts them without racing a relink.
SELECT id, provider_id, account_id, access_token, refresh_token, id_token
FROM accounts
WHERE id > :after_id
    AND (access_token IS NOT NULL OR refresh_token IS NOT NULL OR id_token IS NOT NULL)
ORDER BY id
LIMIT :limit
FOR UPDATE;

-- name: update_oauth_token_ciphertexts(row_id, access_token, refresh_token, id_token)!
-- Replaces the three encrypted tokens of one account (the key rotation); returns the count.
UPDATE accounts
SET access_token = CAST(:access_token AS bytea),
    refresh_token = CAST(:refresh_token AS bytea),
    id_token = CAST(:id_token AS bytea)
WHERE id = :row_id;
