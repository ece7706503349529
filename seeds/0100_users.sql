-- 0100_users: the demo users every other seed file builds on. Fixed ids: idempotent.

INSERT INTO users (id, name, email, email_verified, username, role)
VALUES
    ('seed-user-alice', 'Alice Example', 'alice@example.com', true, 'alice', 'OWNER'),
    ('seed-user-bob', 'Bob Example', 'bob@example.com', true, 'bob', 'MEMBER'),
    ('seed-user-carol', 'Carol Example', 'carol@example.com', false, 'carol', 'MEMBER')
ON CONFLICT (id) DO NOTHING;
