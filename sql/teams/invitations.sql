-- Team invitations (migration 20261207023235_team_invitations): an OWNER invites a user id,
-- the invitee accepts (becoming a member) or declines. Inviting tells nothing about whether
-- the id is a user.

-- name: create_team_invitation(team_id, user_id, role, invited_by)<!
-- Invites a user id to the team with a role (invited_by: the acting OWNER, the policy checks
-- it); returns the invitation, or nothing when the id is already a member. A second invitation
-- of the same id violates team_invitations_pkey.
INSERT INTO team_invitations (team_id, user_id, role, invited_by)
SELECT CAST(:team_id AS uuid), CAST(:user_id AS text), CAST(:role AS user_role),
    CAST(:invited_by AS text)
WHERE NOT EXISTS (
    SELECT 1 FROM team_members AS m WHERE m.team_id = :team_id AND m.user_id = :user_id
)
RETURNING team_id, user_id, role, invited_by, created_at;

-- name: list_team_invitations(team_id, after_created_at, after_user_id, page_size)
-- One page of the team's pending invitations, oldest first (an OWNER's view: the policy),
-- strictly after the cursor (after_created_at, after_user_id; NULL = the first page), read in
-- order from team_invitations_team_id_created_at_user_id_idx.
SELECT team_id, user_id, role, invited_by, created_at
FROM team_invitations
WHERE team_id = :team_id
  AND (created_at, user_id) > (coalesce(:after_created_at::timestamptz, '-infinity'),
                               coalesce(:after_user_id::text, ''))
ORDER BY created_at, user_id
LIMIT :page_size::integer;

-- name: list_invitations_by_acting_user()
-- Returns the acting user's pending invitations to live teams, with each team's name, oldest
-- first, at most 100 (app_team_invitations_of_acting_user: the invitee cannot read the team yet).
-- Capped, not paged: a pending invitation waits for its invitee, who accepts or declines it;
-- each answered one brings the next (oldest first) into view, so none is lost, only deferred.
SELECT
    i.team_id AS "team_id!", i.team_name AS "team_name!", i.team_slug AS "team_slug!",
    i.role AS "role!", i.invited_by, i.created_at AS "created_at!"
FROM app_team_invitations_of_acting_user() AS i
ORDER BY i.created_at, i.team_id
LIMIT 100;

-- name: delete_team_invitation(team_id, user_id)!
-- Withdraws (an OWNER) or declines (the invitee) an invitation; returns the count (0 or 1).
DELETE FROM team_invitations
WHERE team_id = :team_id AND user_id = :user_id;

-- name: update_team_invitation_accepted(team_id)$
-- The acting user accepts its invitation to the team: it becomes a member; returns its role,
-- or nothing (no such invitation, the team deleted).
SELECT app_accept_team_invitation(:team_id::uuid) AS role;
