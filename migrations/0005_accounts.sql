-- 0005_accounts: Better Auth accounts, the ways a user signs in. provider_id 'credential'
-- is an email + password sign-up and holds an argon2id hash in password (never a password);
-- any other provider is a linked OAuth account holding its tokens. One provider account
-- (provider_id, account_id) belongs to one user only.

CREATE TABLE accounts (
    id                       text        NOT NULL DEFAULT gen_random_uuid()::text,
    user_id                  text        NOT NULL,
    account_id               text        NOT NULL,
    provider_id              text        NOT NULL,
    access_token             text,
    refresh_token            text,
    id_token                 text,
    access_token_expires_at  timestamptz,
    refresh_token_expires_at timestamptz,
    scope                    text,
    password                 text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_pkey PRIMARY KEY (id),
    CONSTRAINT accounts_provider_id_account_id_key UNIQUE (provider_id, account_id),
    CONSTRAINT accounts_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT accounts_provider_id_not_blank CHECK (btrim(provider_id) <> ''),
    CONSTRAINT accounts_account_id_not_blank CHECK (btrim(account_id) <> ''),
    -- Only the credential provider carries a password hash; OAuth accounts never do.
    CONSTRAINT accounts_password_only_credential CHECK (password IS NULL OR provider_id = 'credential')
);

CREATE INDEX accounts_user_id_idx ON accounts (user_id);

CREATE TRIGGER accounts_set_updated_at
    BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE accounts IS
    'Sign-in methods of a user: provider_id = ''credential'' holds an argon2id password hash, other providers hold OAuth tokens.';
COMMENT ON COLUMN accounts.password IS 'argon2id hash (PHC string) for the credential provider; never a password.';
