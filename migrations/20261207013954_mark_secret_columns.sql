-- 20261207013954_mark_secret_columns: the columns holding credentials say so in their comment,
-- which `plainsql studio` reads ('plainsql:secret ...'): it masks them in its rows, row views,
-- query results and error details. Password and token hashes, the OAuth tokens' and deploy
-- keys' ciphertexts, and the video workers' claim tokens (a bearer capability while it lives).
-- Comments only: no table is rewritten or locked beyond a moment.

COMMENT ON COLUMN accounts.password IS
    'plainsql:secret argon2id hash (PHC string) for the credential provider; never a password.';
COMMENT ON COLUMN accounts.access_token IS
    'plainsql:secret AES-256-GCM envelope (0x00, version, key id, nonce, ciphertext) made by the application; never the token in clear.';
COMMENT ON COLUMN accounts.refresh_token IS
    'plainsql:secret AES-256-GCM envelope (0x00, version, key id, nonce, ciphertext) made by the application; never the token in clear.';
COMMENT ON COLUMN accounts.id_token IS
    'plainsql:secret AES-256-GCM envelope (0x00, version, key id, nonce, ciphertext) made by the application; never the token in clear.';
COMMENT ON COLUMN sessions.token_hash IS
    'plainsql:secret SHA-256 of the session''s bearer token (the token itself is never stored).';
COMMENT ON COLUMN verifications.value_hash IS
    'plainsql:secret SHA-256 of the one-time value sent to the identifier.';
COMMENT ON COLUMN git_repositories.deploy_key IS
    'plainsql:secret AES-256-GCM envelope (0x00, version, key id, nonce, ciphertext) of the key that pulls the repository; never the key in clear.';
COMMENT ON COLUMN video_summaries.claim_token IS
    'plainsql:secret While processing: the token of the newest claim; only its holder may complete or fail it.';
