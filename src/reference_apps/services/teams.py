"""Teams service: teams with their members and roles; a team always keeps at least one OWNER.

The owner rule lives in the database (trigger ``team_members_keep_an_owner`` and
``users_keep_team_owners``, migration 0008): it locks the team row and writes the team's
guard row (migration 20261207023128) before counting the owners left, so two owners demoting
themselves or leaving at the same time cannot both succeed, at any isolation level (a stricter
one turns the second into a serialization failure, retried here). Its refusal arrives as the
pseudo-constraint ``team_members_last_owner`` and becomes :class:`LastOwner` here.

Users join by invitation: an OWNER invites (:meth:`TeamService.invite`), the invitee accepts
or declines; only then is it a member, listed in the co-member directory.

Every call takes its acting user (``acting_user_id``; for ``create_team`` the creator, for
``list_user_teams`` the user whose teams they are): the unit of work acts as that user, for the
row-level security policies and the audit log. Team management checks the acting member's role (see
:class:`TeamService`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict, TypeVar
from uuid import UUID

from psycopg import IsolationLevel

from plainsql import AsyncConn, AsyncDatabase, KeysetList, Page, at_least_one, exactly_one
from plainsql.errors import InvalidInput
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import (
    ListInvitationsByActingUserRow,
    ListTeamMembersRow,
    ListTeamsByUserRow,
    TeamInvitationRow,
    TeamMemberRow,
    TeamRow,
    UserRole,
)
from reference_apps.services.base import Service
from reference_apps.services.errors import (
    AlreadyExists,
    Forbidden,
    LastOwner,
    NotFound,
    SlugTaken,
    UserNotFound,
)


class TeamNotFound(NotFound):
    """No team with this id or slug."""


class AlreadyMember(AlreadyExists):
    """The user is already a member of the team."""


class MemberNotFound(NotFound):
    """The user is not an (active) member of the team."""


class AlreadyInvited(AlreadyExists):
    """The user id already has a pending invitation to the team."""


class InvitationNotFound(NotFound):
    """No pending invitation of this user to this team."""


class NotTeamOwner(Forbidden):
    """The acting user is a MEMBER of the team: only an OWNER manages members or deletes it."""


Team = TeamRow
"""A team."""

Membership = TeamMemberRow
"""A user's membership of a team."""

TeamMember = ListTeamMembersRow
"""An active member of a team, with the user's names (``joined_at``: when the user joined)."""

Invitation = TeamInvitationRow
"""A pending invitation of a user id to a team, as the team's owners see it."""

PendingInvitation = ListInvitationsByActingUserRow
"""A pending invitation as its invitee sees it: with the team's name and slug."""

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100


class _AfterJoined(TypedDict):
    """The cursor arguments of a team's members, in the order they joined."""

    after_joined_at: datetime | None
    after_user_id: str | None
    page_size: int


class _AfterInvited(TypedDict):
    """The cursor arguments of a team's pending invitations, oldest first."""

    after_created_at: datetime | None
    after_user_id: str | None
    page_size: int


# A team's lists, in the order of (team_id, created_at, user_id) indexes (20261207082948).
MEMBERS = KeysetList[TeamMember, datetime, str, _AfterJoined](
    "team-members", lambda m: (m.joined_at, m.user_id), _AfterJoined
)
INVITATIONS = KeysetList[Invitation, datetime, str, _AfterInvited](
    "team-invitations", lambda i: (i.created_at, i.user_id), _AfterInvited
)


# Hand-written: the query returns one flat row, the record nests the team in it, so that
# ``user_team.team`` is the very Team that get_team_by_id returns (equal, and usable alike).
@dataclass(frozen=True, slots=True)
class UserTeam:
    """A team as one of its members sees it: with that member's role."""

    team: Team
    role: UserRole

    @classmethod
    def from_row(cls, row: ListTeamsByUserRow) -> UserTeam:
        team = Team(
            id=row.id,
            name=row.name,
            slug=row.slug,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        return cls(team=team, role=row.role)


def _missing(team_id: UUID) -> TeamNotFound:
    return TeamNotFound(f"no team with id {team_id}")


def _not_member(team_id: UUID, user_id: str) -> MemberNotFound:
    return MemberNotFound(f"user {user_id!r} is not a member of team {team_id}")


class TeamService(
    Service,
    constraint_errors={
        "teams_slug_key": SlugTaken,
        "team_members_pkey": AlreadyMember,
        "team_members_team_id_fkey": TeamNotFound,
        "team_members_user_id_fkey": UserNotFound,
        "team_members_last_owner": LastOwner,
        "team_invitations_pkey": AlreadyInvited,
        "team_invitations_team_id_fkey": TeamNotFound,
    },
):
    """Teams, members and roles, as their acting user may see and change them.

    Every call names its acting user, and the unit of work acts as that user: the database's
    policies (migration 0051) show a team only to its members and let only its OWNERs change
    it. The service checks the acting member's role first, to say why: a team the acting user
    is not a member of is :class:`TeamNotFound` (another user's team cannot be touched, nor
    told apart from a missing one); a MEMBER managing members or deleting the team is
    :class:`NotTeamOwner`. A member may leave a team (remove itself).

    Role changes and removals run at READ COMMITTED by default, where the last-owner trigger's
    row lock serializes them. A deployment may run them at a stricter ``isolation``: then a
    serialization failure or deadlock is retried (at most ``attempts`` times in all), and
    ``retries`` counts the retries made. The rule holds at every level.
    """

    def __init__(
        self,
        db: AsyncDatabase,
        q: AsyncTypedQueries,
        *,
        isolation: IsolationLevel | None = None,
        attempts: int = 3,
    ) -> None:
        super().__init__(db, q)
        self.isolation = isolation
        self.attempts = attempts
        self.retries = 0

    async def create_team(self, *, name: str, slug: str, acting_user_id: str) -> Team:
        """Create a team with its creator (the acting user) as OWNER, in one transaction.

        Raises SlugTaken, or UserNotFound when the creator is not an active user (then no
        team is left behind).
        """
        q = self.q.teams
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            team_id = await q.create_team(conn, name=name, slug=slug)
            team = await q.get_team_by_id(conn, team_id=team_id)
        # The path made the creator its OWNER: it sees the team.
        return exactly_one(
            team, AssertionError(f"team {team_id} created but not visible to its creator")
        )

    async def get_team_by_id(self, team_id: UUID, *, acting_user_id: str) -> Team:
        """The team with this id, if the acting user is a member; raises TeamNotFound."""
        get = self.q.teams.get_team_by_id
        return await self.reading(acting_user_id).one(_missing(team_id), get, team_id=team_id)

    async def get_team_by_slug(self, slug: str, *, acting_user_id: str) -> Team:
        """The team with this slug, if the acting user is a member; raises TeamNotFound."""
        get = self.q.teams.get_team_by_slug
        missing = TeamNotFound(f"no team with slug {slug!r}")
        return await self.reading(acting_user_id).one(missing, get, slug=slug)

    async def delete_team(self, team_id: UUID, *, acting_user_id: str) -> None:
        """Delete the team and its memberships (an OWNER only).

        Raises TeamNotFound or NotTeamOwner.
        """
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            await self._require_owner(conn, team_id, acting_user_id, "delete the team")
            at_least_one(await self.q.teams.delete_team(conn, team_id=team_id), _missing(team_id))

    async def rename_team(
        self, team_id: UUID, *, name: str, slug: str | None = None, acting_user_id: str
    ) -> Team:
        """The live team with its new name (and slug, when given; an OWNER only).

        Raises TeamNotFound (also for a soft-deleted team), NotTeamOwner or SlugTaken (a
        soft-deleted team's slug stays taken until the purge).
        """
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            await self._require_owner(conn, team_id, acting_user_id, "rename the team")
            rename = self.q.teams.update_team_name
            row = await rename(conn, team_id=team_id, name=name, slug=slug)
            return exactly_one(row, _missing(team_id))

    async def soft_delete_team(self, team_id: UUID, *, acting_user_id: str) -> None:
        """Soft-delete the team (an OWNER only): from now on every get and list leaves it out,
        its members and slug stay, an OWNER may restore it, and :meth:`purge_deleted_teams`
        deletes it for good once the retention period is over. Raises TeamNotFound (also
        when already soft-deleted) or NotTeamOwner."""
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            await self._require_owner(conn, team_id, acting_user_id, "delete the team")
            soft_deleted = await self.q.teams.update_team_soft_deleted(conn, team_id=team_id)
            at_least_one(soft_deleted, _missing(team_id))

    async def restore_team(self, team_id: UUID, *, acting_user_id: str) -> Team:
        """Bring a soft-deleted team back (an OWNER of it only), with its members as they
        were. Raises TeamNotFound (unknown, live, or purged) or NotTeamOwner."""
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            await self._require_owner(conn, team_id, acting_user_id, "restore the team")
            row = await self.q.teams.update_team_restored(conn, team_id=team_id)
            return exactly_one(row, TeamNotFound(f"no soft-deleted team with id {team_id}"))

    async def purge_deleted_teams(self, *, retention: timedelta) -> int:
        """The maintenance purge (run it from a scheduled job, e.g. daily): delete every team
        soft-deleted longer than ``retention`` ago, with its memberships, freeing its slug.
        Runs as the worker role with no acting user, through the path app_purge_deleted_teams
        (0054; bounded to 0..10 years since the worker role's migration). Returns how many
        teams were purged."""
        seconds = int(retention.total_seconds())
        if seconds < 0:
            raise InvalidInput(f"retention must not be negative, got {retention}", query_name="")
        purge = self.q.teams.delete_teams_soft_deleted_before
        return await self.working().run(purge, retention_seconds=seconds)

    async def invite(
        self,
        team_id: UUID,
        user_id: str,
        role: UserRole = UserRole.MEMBER,
        *,
        acting_user_id: str,
    ) -> Invitation:
        """Invite a user id to the team with ``role`` (an OWNER only); the user becomes a member
        when it accepts (:meth:`accept_invitation`). An id that is no user is invited alike
        (nobody will accept): inviting tells nothing about which ids are users.

        Raises TeamNotFound, NotTeamOwner, AlreadyMember or AlreadyInvited.
        """
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            await self._require_owner(conn, team_id, acting_user_id, "invite members")
            invite = self.q.teams.create_team_invitation
            row = await invite(
                conn, team_id=team_id, user_id=user_id, role=role, invited_by=acting_user_id
            )
            return exactly_one(
                row, AlreadyMember(f"user {user_id!r} is already a member of team {team_id}")
            )

    async def list_invitations(
        self,
        team_id: UUID,
        *,
        acting_user_id: str,
        after: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page[Invitation]:
        """One page of the team's pending invitations, oldest first (an OWNER only);
        ``after`` is the previous page's ``next_cursor``.

        Raises TeamNotFound or NotTeamOwner.
        """
        page = INVITATIONS.request(after, page_size)
        async with self.db.transaction(acting_user=acting_user_id, read_only=True) as conn:
            await self._require_owner(conn, team_id, acting_user_id, "list invitations")
            invitations = self.q.teams.list_team_invitations
            return page.of(await invitations(conn, team_id=team_id, **page.arguments))

    async def withdraw_invitation(
        self, team_id: UUID, user_id: str, *, acting_user_id: str
    ) -> None:
        """Withdraw a pending invitation (an OWNER only).

        Raises TeamNotFound, NotTeamOwner or InvitationNotFound.
        """
        missing = InvitationNotFound(f"no invitation of {user_id!r} to team {team_id}")
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            await self._require_owner(conn, team_id, acting_user_id, "withdraw invitations")
            withdrawn = await self.q.teams.delete_team_invitation(
                conn, team_id=team_id, user_id=user_id
            )
            at_least_one(withdrawn, missing)

    async def list_my_invitations(self, *, acting_user_id: str) -> list[PendingInvitation]:
        """The acting user's pending invitations, with each team's name, oldest first."""
        mine = self.q.teams.list_invitations_by_acting_user
        return await self.reading(acting_user_id).run(mine)

    async def accept_invitation(self, team_id: UUID, *, acting_user_id: str) -> UserTeam:
        """Accept the acting user's invitation: it becomes a member of the team with the
        invited role. Raises InvitationNotFound (none, or the team is gone)."""
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            accept = self.q.teams.update_team_invitation_accepted
            role = await accept(conn, team_id=team_id)
            missing = InvitationNotFound(f"no invitation to team {team_id}")
            role = exactly_one(role, missing)
            team = await self.q.teams.get_team_by_id(conn, team_id=team_id)
            return UserTeam(team=exactly_one(team, missing), role=role)

    async def decline_invitation(self, team_id: UUID, *, acting_user_id: str) -> None:
        """Decline the acting user's invitation to the team. Raises InvitationNotFound."""
        decline = self.q.teams.delete_team_invitation
        missing = InvitationNotFound(f"no invitation to team {team_id}")
        await self.writing(acting_user_id).affected(
            missing, decline, team_id=team_id, user_id=acting_user_id
        )

    async def remove_member(self, team_id: UUID, user_id: str, *, acting_user_id: str) -> None:
        """Remove the user from the team: an OWNER removes anyone, a member itself (leaving).

        Raises TeamNotFound, NotTeamOwner, MemberNotFound, or LastOwner. Runs at the
        service's ``isolation``, retried as :meth:`change_role` is.
        """

        async def unit() -> None:
            async with self.db.transaction(
                acting_user=acting_user_id, isolation=self.isolation
            ) as conn:
                if user_id != acting_user_id:
                    await self._require_owner(conn, team_id, acting_user_id, "remove members")
                removed = await self.q.teams.delete_team_member(
                    conn, team_id=team_id, user_id=user_id
                )
                at_least_one(removed, _not_member(team_id, user_id))

        await self._retrying(unit)

    async def change_role(
        self, team_id: UUID, user_id: str, role: UserRole, *, acting_user_id: str
    ) -> Membership:
        """Set the member's role (an OWNER only).

        Raises TeamNotFound, NotTeamOwner, MemberNotFound, or LastOwner on the last OWNER.
        To hand a team over, promote the new owner first, then demote the old one.
        """

        async def unit() -> Membership:
            async with self.db.transaction(
                acting_user=acting_user_id, isolation=self.isolation
            ) as conn:
                await self._require_owner(conn, team_id, acting_user_id, "change roles")
                change = self.q.teams.update_team_member_role
                row = await change(conn, team_id=team_id, user_id=user_id, role=role)
                return exactly_one(row, _not_member(team_id, user_id))

        return await self._retrying(unit)

    async def _retrying(self, unit: Callable[[], Awaitable[T]]) -> T:
        """``unit`` run again after a serialization failure or deadlock (at most
        ``attempts`` times in all), counting the retries made in ``retries``."""
        calls = 0

        async def counted() -> T:
            nonlocal calls
            calls += 1
            return await unit()

        try:
            result, _ = await self.db.retry(counted, attempts=self.attempts)
        finally:
            self.retries += calls - 1  # counted whether the last attempt succeeded or not
        return result

    async def list_user_teams(self, *, acting_user_id: str) -> list[UserTeam]:
        """The teams of an active user (the acting user) with its role in each, by team name."""
        list_teams = self.q.teams.list_teams_by_user
        rows = await self.reading(acting_user_id).run(list_teams, user_id=acting_user_id)
        return [UserTeam.from_row(row) for row in rows]

    async def list_members(
        self,
        team_id: UUID,
        *,
        acting_user_id: str,
        after: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page[TeamMember]:
        """One page of the team's active members with their names and roles, in the order
        they joined; ``after`` is the previous page's ``next_cursor``.

        Empty unless the acting user is a member (the co-member directory).
        """
        page = MEMBERS.request(after, page_size)
        members = self.q.teams.list_team_members
        rows = await self.reading(acting_user_id).run(members, team_id=team_id, **page.arguments)
        return page.of(rows)

    async def _require_owner(
        self, conn: AsyncConn, team_id: UUID, acting_user_id: str, doing: str
    ) -> None:
        """Raise TeamNotFound (not a member) or NotTeamOwner (a MEMBER) unless an OWNER."""
        get_role = self.q.teams.get_team_member_role
        role = await get_role(conn, team_id=team_id, user_id=acting_user_id)
        if exactly_one(role, _missing(team_id)) != UserRole.OWNER:
            raise NotTeamOwner(f"only an OWNER of team {team_id} may {doing}")


__all__ = [
    "AlreadyInvited",
    "AlreadyMember",
    "Invitation",
    "InvitationNotFound",
    "LastOwner",
    "MemberNotFound",
    "Membership",
    "NotTeamOwner",
    "PendingInvitation",
    "SlugTaken",
    "Team",
    "TeamMember",
    "TeamNotFound",
    "TeamService",
    "UserTeam",
]
