-- Verifications: one-time values (email verification, password reset) for an identifier,
-- stored as their SHA-256 (value_hash) only.

-- name: create_verification(identifier, value_hash, expires_in)<!
-- Inserts a value (by its SHA-256) for the identifier expiring expires_in (an interval) from
-- now; returns the verification.
INSERT INTO verifications (identifier, value_hash, expires_at)
VALUES (:identifier, :value_hash, now() + CAST(:expires_in AS interval))
RETURNING id, identifier, expires_at, created_at, updated_at;

-- name: delete_live_verification(identifier, value_hash)<!
-- Consumes a live value: deletes it and returns the verification, or nothing (unknown,
-- expired or already consumed). One statement: of concurrent consumers exactly one wins.
DELETE FROM verifications
WHERE identifier = :identifier AND value_hash = :value_hash AND expires_at > now()
RETURNING id, identifier, expires_at, created_at, updated_at;

-- name: delete_expired_verifications()!
-- Deletes every expired verification; returns the count.
DELETE FROM verifications
WHERE expires_at <= now();
