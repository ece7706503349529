-- 20261207023235_team_invitations: a user joins a team by accepting an owner's invitation.
--
-- Until now an OWNER added anyone to its team, without consent, and the co-member directory
-- then showed that user's name and email to the team; to do it, app_user_is_active(user, team)
-- told owners whether any id was an active user. Now:
--
-- - team_invitations: an OWNER invites a user id (with the role it will have); the invitee
--   sees its invitations (app_team_invitations_of_acting_user(), with the team's name: it is
--   not a member yet, so it cannot read the team) and declines one by deleting it, or accepts
--   it through app_accept_team_invitation(team), which makes it a member. Only then is it in
--   the directory. An owner sees and withdraws the invitations of its teams.
-- - user_id has no foreign key on purpose: an invitation to an id that is no user is stored
--   like any other (nobody can accept it), so inviting tells an owner nothing about which ids
--   are users. invited_by is the inviting owner (kept NULL once that user is deleted).
-- - reference_app may no longer INSERT into team_members: app_create_team (the creator) and
--   app_accept_team_invitation (the invitee) are the ways in.
-- - app_user_is_active(text, uuid) is dropped; a role change checks that the member is active
--   through the co-member directory, which answers members of the team only.

CREATE TABLE team_invitations (
    team_id    uuid        NOT NULL,
    user_id    text        NOT NULL,
    role       user_role   NOT NULL DEFAULT 'MEMBER',
    invited_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_invitations_pkey PRIMARY KEY (team_id, user_id),
    CONSTRAINT team_invitations_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id)
        ON DELETE CASCADE,
    CONSTRAINT team_invitations_invited_by_fkey FOREIGN KEY (invited_by) REFERENCES users (id)
        ON DELETE SET NULL
);

CREATE INDEX team_invitations_user_id_idx ON team_invitations (user_id);

CREATE INDEX team_invitations_invited_by_idx ON team_invitations (invited_by);

COMMENT ON TABLE team_invitations IS
    'Pending invitations to join a team: made by an OWNER, accepted (app_accept_team_invitation) or declined by the invitee.';

COMMENT ON COLUMN team_invitations.user_id IS
    'The invited user''s id; no foreign key, so that inviting does not tell which ids are users.';

ALTER TABLE team_invitations ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE POLICY team_invitations_owners_or_invitee_read ON team_invitations FOR SELECT
    TO reference_app
    USING (app_is_team_owner(team_id) OR user_id = app_acting_user());

CREATE POLICY team_invitations_owners_invite ON team_invitations FOR INSERT TO reference_app
    WITH CHECK (app_is_team_owner(team_id) AND invited_by = app_acting_user());

CREATE POLICY team_invitations_owners_withdraw_or_invitee_declines ON team_invitations
    FOR DELETE TO reference_app
    USING (app_is_team_owner(team_id) OR user_id = app_acting_user());

GRANT SELECT, INSERT, DELETE ON team_invitations TO reference_app;

REVOKE INSERT ON team_members FROM reference_app;

CREATE FUNCTION app_accept_team_invitation(invited_team_id uuid) RETURNS user_role
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH accepted AS (
        DELETE FROM team_invitations AS i
        USING users AS u, teams AS t
        WHERE i.team_id = invited_team_id AND i.user_id = app_acting_user()
            AND u.id = i.user_id AND u.deleted_at IS NULL
            AND t.id = i.team_id AND t.deleted_at IS NULL
        RETURNING i.team_id, i.user_id, i.role
    )
    INSERT INTO team_members (team_id, user_id, role)
    SELECT team_id, user_id, role FROM accepted
    RETURNING role
$$;

COMMENT ON FUNCTION app_accept_team_invitation(uuid) IS
    'The acting user accepts its invitation to a live team: it becomes a member with the invited role (returned), else NULL.';

CREATE FUNCTION app_team_invitations_of_acting_user()
RETURNS TABLE (
    team_id uuid, team_name text, team_slug text, role user_role, invited_by text,
    created_at timestamptz
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT i.team_id, t.name, t.slug, i.role, i.invited_by, i.created_at
    FROM team_invitations AS i
    JOIN teams AS t ON t.id = i.team_id
    WHERE i.user_id = app_acting_user() AND t.deleted_at IS NULL
$$;

COMMENT ON FUNCTION app_team_invitations_of_acting_user() IS
    'The acting user''s pending invitations to live teams, with each team''s name and slug.';

REVOKE ALL ON FUNCTION
    app_accept_team_invitation(uuid),
    app_team_invitations_of_acting_user()
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION app_accept_team_invitation(uuid) TO reference_app;

GRANT EXECUTE ON FUNCTION app_team_invitations_of_acting_user() TO reference_app;

-- squawk-ignore ban-drop-function
DROP FUNCTION app_user_is_active(text, uuid);
