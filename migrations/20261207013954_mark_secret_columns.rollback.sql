-- 20261207013954_mark_secret_columns rollback: the comments as they were before (the session
-- token and verification hashes had none).

COMMENT ON COLUMN accounts.password IS
    'argon2id hash (PHC string) for the credential provider; never a password.';
COMMENT ON COLUMN accounts.access_token IS
    'AES-256-GCM envelope (0x00, version, key id, nonce, ciphertext) made by the application; never the token in clear.';
COMMENT ON COLUMN accounts.refresh_token IS
    'AES-256-GCM envelope (0x00, version, key id, nonce, ciphertext) made by the application; never the token in clear.';
COMMENT ON COLUMN accounts.id_token IS
    'AES-256-GCM envelope (0x00, version, key id, nonce, ciphertext) made by the application; never the token in clear.';
COMMENT ON COLUMN sessions.token_hash IS NULL;
COMMENT ON COLUMN verifications.value_hash IS NULL;
COMMENT ON COLUMN git_repositories.deploy_key IS
    'AES-256-GCM envelope (0x00, version, key id, nonce, ciphertext) of the key that pulls the repository; never the key in clear.';
COMMENT ON COLUMN video_summaries.claim_token IS
    'While processing: the token of the newest claim; only its holder may complete or fail it.';
