-- Verifications: one-time values (email verification, password reset) for an identifier.

-- name: create_verification(identifier, value, expires_in)<!
-- Inserts a value for the identifier expiring expires_in (an interval) from now; returns
-- the verification without its value.
INSERT INTO verifications (identifier, value, expires_at)
VALUES (:identifier, :value, now() + CAST(:expires_in AS interval))
RETURNING id, identifier, expires_at, created_at, updated_at;

-- name: delete_live_verification(identifier, value)<!
-- Consumes a live value: deletes it and returns the verification, or nothing (unknown,
-- expired or already consumed). One statement: of concurrent consumers exactly one wins.
DELETE FROM verifications
WHERE identifier = :identifier AND value = :value AND expires_at > now()
RETURNING id, identifier, expires_at, created_at, updated_at;

-- name: delete_expired_verifications()!
-- Deletes every expired verification; returns the count.
DELETE FROM verifications
WHERE expires_at <= now();
