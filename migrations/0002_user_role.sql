-- 0002_user_role: the role a user holds globally and within a team.

CREATE TYPE user_role AS ENUM ('OWNER', 'MEMBER');

COMMENT ON TYPE user_role IS 'Role of a user, globally (users.role) and in a team (team_members.role).';
