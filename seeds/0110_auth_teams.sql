-- 0110_auth_teams: sign-in accounts and teams for the demo users of 0100_users.sql.
--
-- Every seeded user signs in with its email and the demo password
--
--     plainsql-demo-password
--
-- stored below only as argon2id hashes (argon2-cffi's default parameters: m=64 MiB, t=3,
-- p=4), precomputed with argon2.PasswordHasher().hash('plainsql-demo-password'). Two teams:
-- Acme (alice OWNER, bob MEMBER) and Globex (bob OWNER, carol MEMBER). Fixed ids, ON
-- CONFLICT DO NOTHING and joins on the rows they need: running it twice changes nothing.

INSERT INTO accounts (id, user_id, account_id, provider_id, password)
SELECT seed.id, users.id, users.id, 'credential', seed.password_hash
FROM (
    VALUES
        ('seed-account-alice', 'seed-user-alice',
         '$argon2id$v=19$m=65536,t=3,p=4$kr2mn1FFUjqJ+0NZB55V8Q$S2A+6wEmKH3YdHVcHOkB4kGYfBrMSBAcbrZslY1Hs20'),
        ('seed-account-bob', 'seed-user-bob',
         '$argon2id$v=19$m=65536,t=3,p=4$YtWmiXAOL6oDM5/kCKP3nw$7nsb1jQXZfRQFCsmlvM9w1FcgjcC1eWeRIHDJV5KMOQ'),
        ('seed-account-carol', 'seed-user-carol',
         '$argon2id$v=19$m=65536,t=3,p=4$5+rMMX4T8s0E7FP365jK9w$dPuCWecSbE7ftzase4Lv2YZW0chhpA9o7FlWbkHYumc')
) AS seed (id, user_id, password_hash)
JOIN users ON users.id = seed.user_id
ON CONFLICT DO NOTHING;

INSERT INTO teams (id, name, slug)
VALUES
    ('5eed0000-0000-4000-8000-000000000001', 'Acme', 'acme'),
    ('5eed0000-0000-4000-8000-000000000002', 'Globex', 'globex')
ON CONFLICT DO NOTHING;

INSERT INTO team_members (team_id, user_id, role)
SELECT teams.id, users.id, seed.role::user_role
FROM (
    VALUES
        ('5eed0000-0000-4000-8000-000000000001'::uuid, 'seed-user-alice', 'OWNER'),
        ('5eed0000-0000-4000-8000-000000000001'::uuid, 'seed-user-bob', 'MEMBER'),
        ('5eed0000-0000-4000-8000-000000000002'::uuid, 'seed-user-bob', 'OWNER'),
        ('5eed0000-0000-4000-8000-000000000002'::uuid, 'seed-user-carol', 'MEMBER')
) AS seed (team_id, user_id, role)
JOIN teams ON teams.id = seed.team_id
JOIN users ON users.id = seed.user_id
ON CONFLICT DO NOTHING;
