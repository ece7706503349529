"""TeamService on a real PostgreSQL: teams, members, roles, and the owner rule under concurrency."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import psycopg
import psycopg.sql
import pytest

from plainsql import AsyncDatabase, Settings, open_async_pool
from plainsql.errors import PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRole
from reference_apps.services.auth import (
    AuthService,
    LastOwner,
    User,
    UserNotFound,
)
from reference_apps.services.errors import AlreadyExists, Conflict, Forbidden, NotFound
from reference_apps.services.teams import (
    AlreadyInvited,
    AlreadyMember,
    InvitationNotFound,
    MemberNotFound,
    NotTeamOwner,
    SlugTaken,
    Team,
    TeamNotFound,
    TeamService,
)

SyncConn = psycopg.Connection[tuple[Any, ...]]
WaitUntilBlocked = Callable[[str], Awaitable[None]]  # the fixture in conftest.py


async def new_user(auth: AuthService, name: str) -> User:
    return await auth.sign_up(
        email=f"{name}@x.io", password="a long enough password", name=name.title()
    )


async def join(
    teams: TeamService,
    team_id: uuid.UUID,
    user_id: str,
    role: UserRole = UserRole.MEMBER,
    *,
    acting_user_id: str,
) -> None:
    """The owner ``acting_user_id`` invites ``user_id``, who accepts."""
    await teams.invite(team_id, user_id, role, acting_user_id=acting_user_id)
    await teams.accept_invitation(team_id, acting_user_id=user_id)


async def team_with_two_owners(auth: AuthService, teams: TeamService) -> tuple[Team, User, User]:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await join(teams, team.id, bob.id, UserRole.OWNER, acting_user_id=alice.id)
    return team, alice, bob


def owners(conn: SyncConn, team: Team) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT user_id FROM team_members WHERE team_id = %s AND role = 'OWNER'"
            " ORDER BY user_id",
            (team.id,),
        )
    ]


# --- teams --------------------------------------------------------------------------------


async def test_create_team_makes_its_creator_the_owner(
    auth: AuthService, teams: TeamService
) -> None:
    alice = await new_user(auth, "alice")

    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)

    assert (team.name, team.slug) == ("Acme", "acme")
    assert await teams.get_team_by_id(team.id, acting_user_id=alice.id) == team
    assert await teams.get_team_by_slug("acme", acting_user_id=alice.id) == team
    members = (await teams.list_members(team.id, acting_user_id=alice.id)).items
    assert [(m.user_id, m.name, m.email, m.role) for m in members] == [
        (alice.id, "Alice", "alice@x.io", UserRole.OWNER)
    ]


async def test_a_taken_slug_raises_slug_taken(auth: AuthService, teams: TeamService) -> None:
    alice = await new_user(auth, "alice")
    await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)

    with pytest.raises(SlugTaken) as caught:
        await teams.create_team(name="Other Acme", slug="acme", acting_user_id=alice.id)

    assert isinstance(caught.value, AlreadyExists)
    assert len(await teams.list_user_teams(acting_user_id=alice.id)) == 1


async def test_create_team_for_an_unknown_creator_leaves_no_team(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn
) -> None:
    alice = await new_user(auth, "alice")
    await auth.soft_delete_user(alice.id)

    for creator in ("no-such-user", alice.id):
        with pytest.raises(UserNotFound):
            await teams.create_team(name="Acme", slug="acme", acting_user_id=creator)

    assert plainsql_conn.execute("SELECT count(*) FROM teams").fetchone() == (0,)


async def test_get_an_unknown_team_raises_team_not_found(teams: TeamService) -> None:
    with pytest.raises(TeamNotFound) as caught:
        await teams.get_team_by_id(uuid.uuid4(), acting_user_id="no-such-user")
    assert isinstance(caught.value, NotFound)
    with pytest.raises(TeamNotFound):
        await teams.get_team_by_slug("nope", acting_user_id="no-such-user")


async def test_delete_team_removes_its_memberships(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn
) -> None:
    team, alice, _ = await team_with_two_owners(auth, teams)

    await teams.delete_team(team.id, acting_user_id=alice.id)

    assert await teams.list_user_teams(acting_user_id=alice.id) == []
    assert plainsql_conn.execute("SELECT count(*) FROM team_members").fetchone() == (0,)
    with pytest.raises(TeamNotFound):
        await teams.delete_team(team.id, acting_user_id=alice.id)


# --- members ------------------------------------------------------------------------------


async def test_invited_members_are_listed_once_they_accept_in_the_order_they_joined(
    auth: AuthService, teams: TeamService
) -> None:
    zoe = await new_user(auth, "zoe")
    carol = await new_user(auth, "carol")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=zoe.id)

    invitation = await teams.invite(team.id, carol.id, acting_user_id=zoe.id)
    await teams.invite(team.id, bob.id, UserRole.OWNER, acting_user_id=zoe.id)

    assert (invitation.team_id, invitation.user_id, invitation.role, invitation.invited_by) == (
        team.id,
        carol.id,
        UserRole.MEMBER,
        zoe.id,
    )
    assert [
        i.user_id for i in (await teams.list_invitations(team.id, acting_user_id=zoe.id)).items
    ] == [
        carol.id,
        bob.id,
    ]
    # Invited, not yet members: the directory shows neither, nor lets them read it.
    assert [m.name for m in (await teams.list_members(team.id, acting_user_id=zoe.id)).items] == [
        "Zoe"
    ]
    assert (await teams.list_members(team.id, acting_user_id=carol.id)).items == ()
    (pending,) = await teams.list_my_invitations(acting_user_id=carol.id)
    assert (pending.team_id, pending.team_name, pending.role) == (team.id, "Acme", UserRole.MEMBER)

    joined = await teams.accept_invitation(team.id, acting_user_id=carol.id)
    await teams.decline_invitation(team.id, acting_user_id=bob.id)

    assert (joined.team, joined.role) == (team, UserRole.MEMBER)
    members = (await teams.list_members(team.id, acting_user_id=carol.id)).items
    assert [(m.name, m.role) for m in members] == [
        ("Zoe", UserRole.OWNER),
        ("Carol", UserRole.MEMBER),
    ]
    assert (await teams.list_invitations(team.id, acting_user_id=zoe.id)).items == ()
    assert await teams.list_my_invitations(acting_user_id=bob.id) == []
    with pytest.raises(InvitationNotFound):
        await teams.accept_invitation(team.id, acting_user_id=bob.id)


async def test_invitation_errors(auth: AuthService, teams: TeamService) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await teams.invite(team.id, bob.id, acting_user_id=alice.id)

    with pytest.raises(AlreadyMember):
        await teams.invite(team.id, alice.id, acting_user_id=alice.id)
    with pytest.raises(AlreadyInvited):
        await teams.invite(team.id, bob.id, acting_user_id=alice.id)
    with pytest.raises(TeamNotFound):
        await teams.invite(uuid.uuid4(), bob.id, acting_user_id=alice.id)
    with pytest.raises(InvitationNotFound):
        await teams.decline_invitation(team.id, acting_user_id=alice.id)
    with pytest.raises(InvitationNotFound):
        await teams.withdraw_invitation(team.id, "nobody", acting_user_id=alice.id)
    await teams.withdraw_invitation(team.id, bob.id, acting_user_id=alice.id)
    with pytest.raises(InvitationNotFound):
        await teams.accept_invitation(team.id, acting_user_id=bob.id)


async def test_inviting_tells_nothing_about_which_ids_are_users(
    auth: AuthService, teams: TeamService
) -> None:
    alice = await new_user(auth, "alice")
    gone = await new_user(auth, "gone")
    await auth.soft_delete_user(gone.id)
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)

    for user_id in ("no-such-user", gone.id):
        invitation = await teams.invite(team.id, user_id, acting_user_id=alice.id)
        assert invitation.user_id == user_id
    # Nobody can accept them: a soft-deleted user cannot join.
    with pytest.raises(InvitationNotFound):
        await teams.accept_invitation(team.id, acting_user_id=gone.id)
    assert [
        m.user_id for m in (await teams.list_members(team.id, acting_user_id=alice.id)).items
    ] == [alice.id]


async def test_remove_a_member(auth: AuthService, teams: TeamService) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await join(teams, team.id, bob.id, acting_user_id=alice.id)

    await teams.remove_member(team.id, bob.id, acting_user_id=alice.id)

    assert [
        m.user_id for m in (await teams.list_members(team.id, acting_user_id=alice.id)).items
    ] == [alice.id]
    with pytest.raises(MemberNotFound):
        await teams.remove_member(team.id, bob.id, acting_user_id=alice.id)


async def test_change_role_promotes_and_demotes(auth: AuthService, teams: TeamService) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await join(teams, team.id, bob.id, acting_user_id=alice.id)

    promoted = await teams.change_role(team.id, bob.id, UserRole.OWNER, acting_user_id=alice.id)
    demoted = await teams.change_role(team.id, alice.id, UserRole.MEMBER, acting_user_id=alice.id)

    assert (promoted.role, demoted.role) == (UserRole.OWNER, UserRole.MEMBER)
    assert {t.team.slug: t.role for t in await teams.list_user_teams(acting_user_id=alice.id)} == {
        "acme": UserRole.MEMBER
    }
    with pytest.raises(MemberNotFound):
        await teams.change_role(team.id, "no-such-user", UserRole.OWNER, acting_user_id=bob.id)


async def test_list_user_teams_with_roles_by_team_name(
    auth: AuthService, teams: TeamService
) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    zeta = await teams.create_team(name="Zeta", slug="zeta", acting_user_id=alice.id)
    await teams.create_team(name="Beta", slug="beta", acting_user_id=bob.id)
    alpha = await teams.create_team(name="Alpha", slug="alpha", acting_user_id=bob.id)
    await join(teams, alpha.id, alice.id, acting_user_id=bob.id)

    listed = await teams.list_user_teams(acting_user_id=alice.id)

    assert [(t.team.name, t.role) for t in listed] == [
        ("Alpha", UserRole.MEMBER),
        ("Zeta", UserRole.OWNER),
    ]
    assert listed[1].team == zeta


async def test_soft_deleted_members_are_hidden_from_every_list(
    auth: AuthService, teams: TeamService
) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await join(teams, team.id, bob.id, acting_user_id=alice.id)

    await auth.soft_delete_user(bob.id)

    assert [
        m.user_id for m in (await teams.list_members(team.id, acting_user_id=alice.id)).items
    ] == [alice.id]
    assert await teams.list_user_teams(acting_user_id=bob.id) == []
    with pytest.raises(MemberNotFound):
        await teams.change_role(team.id, bob.id, UserRole.OWNER, acting_user_id=alice.id)
    # Removing the hidden membership is still allowed (clean-up).
    await teams.remove_member(team.id, bob.id, acting_user_id=alice.id)


# --- authorization ------------------------------------------------------------------------


async def test_a_member_cannot_add_demote_remove_others_or_delete_the_team(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn
) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    carol = await new_user(auth, "carol")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await join(teams, team.id, bob.id, acting_user_id=alice.id)

    refused = [
        teams.invite(team.id, carol.id, acting_user_id=bob.id),
        teams.change_role(team.id, alice.id, UserRole.MEMBER, acting_user_id=bob.id),
        teams.change_role(team.id, bob.id, UserRole.OWNER, acting_user_id=bob.id),
        teams.remove_member(team.id, alice.id, acting_user_id=bob.id),
        teams.delete_team(team.id, acting_user_id=bob.id),
    ]
    for call in refused:
        with pytest.raises(NotTeamOwner) as caught:
            await call
        assert isinstance(caught.value, Forbidden)

    rows = plainsql_conn.execute(
        "SELECT user_id, role::text FROM team_members WHERE team_id = %s ORDER BY user_id",
        (team.id,),
    ).fetchall()
    assert rows == sorted([(alice.id, "OWNER"), (bob.id, "MEMBER")])
    # A member reads the team and its members, and may leave it.
    assert await teams.get_team_by_id(team.id, acting_user_id=bob.id) == team
    assert len((await teams.list_members(team.id, acting_user_id=bob.id)).items) == 2
    await teams.remove_member(team.id, bob.id, acting_user_id=bob.id)
    assert await teams.list_user_teams(acting_user_id=bob.id) == []


async def test_another_user_s_team_cannot_be_touched_at_all(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn
) -> None:
    alice = await new_user(auth, "alice")
    mallory = await new_user(auth, "mallory")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)

    for call in (
        teams.get_team_by_id(team.id, acting_user_id=mallory.id),
        teams.get_team_by_slug("acme", acting_user_id=mallory.id),
        teams.invite(team.id, mallory.id, UserRole.OWNER, acting_user_id=mallory.id),
        teams.change_role(team.id, alice.id, UserRole.MEMBER, acting_user_id=mallory.id),
        teams.remove_member(team.id, alice.id, acting_user_id=mallory.id),
        teams.delete_team(team.id, acting_user_id=mallory.id),
    ):
        with pytest.raises(TeamNotFound):
            await call
    assert (await teams.list_members(team.id, acting_user_id=mallory.id)).items == ()
    assert plainsql_conn.execute(
        "SELECT user_id, role::text FROM team_members WHERE team_id = %s", (team.id,)
    ).fetchall() == [(alice.id, "OWNER")]
    assert plainsql_conn.execute("SELECT name FROM teams WHERE id = %s", (team.id,)).fetchone() == (
        "Acme",
    )


# --- the last owner -----------------------------------------------------------------------


async def test_the_last_owner_can_be_neither_demoted_nor_removed(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn
) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await join(teams, team.id, bob.id, acting_user_id=alice.id)

    with pytest.raises(LastOwner) as caught:
        await teams.change_role(team.id, alice.id, UserRole.MEMBER, acting_user_id=alice.id)
    assert isinstance(caught.value, Conflict)
    with pytest.raises(LastOwner):
        await teams.remove_member(team.id, alice.id, acting_user_id=alice.id)

    assert owners(plainsql_conn, team) == [alice.id]


async def test_the_last_owner_can_hand_over_by_promoting_first(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn
) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await join(teams, team.id, bob.id, acting_user_id=alice.id)

    await teams.change_role(team.id, bob.id, UserRole.OWNER, acting_user_id=alice.id)
    await teams.remove_member(team.id, alice.id, acting_user_id=alice.id)

    assert owners(plainsql_conn, team) == [bob.id]


async def test_deleting_the_last_owner_is_refused_soft_or_hard(
    auth: AuthService, teams: TeamService
) -> None:
    alice = await new_user(auth, "alice")
    await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)

    with pytest.raises(LastOwner):
        await auth.soft_delete_user(alice.id)
    with pytest.raises(LastOwner):
        await auth.hard_delete_user(alice.id)

    assert (await auth.get_user_by_id(alice.id)).id == alice.id


async def test_deleting_one_of_two_owners_is_allowed(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn
) -> None:
    team, alice, bob = await team_with_two_owners(auth, teams)

    await auth.hard_delete_user(bob.id)

    assert owners(plainsql_conn, team) == [alice.id]


async def test_a_soft_deleted_owner_no_longer_counts(auth: AuthService, teams: TeamService) -> None:
    team, alice, bob = await team_with_two_owners(auth, teams)
    await auth.soft_delete_user(bob.id)

    with pytest.raises(LastOwner):
        await teams.change_role(team.id, alice.id, UserRole.MEMBER, acting_user_id=alice.id)


async def test_two_owners_demoting_themselves_at_once_one_stays_owner(
    auth: AuthService, teams: TeamService, plainsql_database_url: str
) -> None:
    """Both demotions race on separate pooled connections; exactly one may succeed."""
    await _demotion_race(auth, teams, plainsql_database_url, "rc", rounds=5)


async def test_the_database_serializes_demotions_on_separate_connections(
    auth: AuthService,
    teams: TeamService,
    plainsql_database_url: str,
    wait_until_blocked: WaitUntilBlocked,
) -> None:
    """Deterministic race in plain SQL, no service code: the rule lives in the database.

    Connection 1 demotes alice and keeps its transaction open; connection 2 demotes bob
    and has to wait for it; once 1 commits, 2 fails with team_members_last_owner.
    """
    team, alice, bob = await team_with_two_owners(auth, teams)
    demote = "UPDATE team_members SET role = 'MEMBER' WHERE team_id = %s AND user_id = %s"
    async with (
        await psycopg.AsyncConnection.connect(plainsql_database_url) as first,
        await psycopg.AsyncConnection.connect(plainsql_database_url) as second,
    ):
        await first.execute(demote, (team.id, alice.id))
        racing = asyncio.create_task(second.execute(demote, (team.id, bob.id)))
        await wait_until_blocked("UPDATE team_members")
        assert not racing.done()
        await first.commit()

        with pytest.raises(psycopg.errors.CheckViolation) as caught:
            await racing
        assert caught.value.diag.constraint_name == "team_members_last_owner"
        await second.rollback()

    members = (await teams.list_members(team.id, acting_user_id=bob.id)).items
    assert [m.user_id for m in members if m.role == UserRole.OWNER] == [bob.id]


async def test_a_waiting_service_demotion_fails_with_last_owner(
    auth: AuthService,
    teams: TeamService,
    plainsql_database_url: str,
    wait_until_blocked: WaitUntilBlocked,
) -> None:
    """The same race with the service on the waiting side: it maps the refusal to LastOwner."""
    team, alice, bob = await team_with_two_owners(auth, teams)
    async with await psycopg.AsyncConnection.connect(plainsql_database_url) as first:
        await first.execute(
            "UPDATE team_members SET role = 'MEMBER' WHERE team_id = %s AND user_id = %s",
            (team.id, alice.id),
        )
        racing = asyncio.create_task(
            teams.change_role(team.id, bob.id, UserRole.MEMBER, acting_user_id=bob.id)
        )
        await wait_until_blocked("UPDATE team_members")
        assert not racing.done()
        await first.commit()

        with pytest.raises(LastOwner):
            await racing


async def _demotion_race(
    auth: AuthService, teams: TeamService, database_url: str, tag: str, rounds: int
) -> None:
    """Two OWNERs demote themselves at once, ``rounds`` times: one must stay OWNER."""
    for attempt in range(rounds):
        alice = await new_user(auth, f"alice-{tag}{attempt}")
        bob = await new_user(auth, f"bob-{tag}{attempt}")
        team = await teams.create_team(
            name="Acme", slug=f"acme-{tag}{attempt}", acting_user_id=alice.id
        )
        await join(teams, team.id, bob.id, UserRole.OWNER, acting_user_id=alice.id)
        results = await asyncio.gather(
            teams.change_role(team.id, alice.id, UserRole.MEMBER, acting_user_id=alice.id),
            teams.change_role(team.id, bob.id, UserRole.MEMBER, acting_user_id=bob.id),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1, results
        assert isinstance(failures[0], LastOwner)
        with psycopg.connect(database_url, autocommit=True) as fresh:  # a snapshot of now
            assert len(owners(fresh, team)) == 1


@pytest.fixture(params=["repeatable read", "serializable"])
def default_isolation(
    request: pytest.FixtureRequest, plainsql_database_url: str, plainsql_database: str
) -> str:
    """The database's default isolation level, set before any pool connects to it."""
    level = str(request.param)
    with psycopg.connect(plainsql_database_url, autocommit=True) as admin:
        admin.execute(
            psycopg.sql.SQL("ALTER DATABASE {} SET default_transaction_isolation = {}").format(
                psycopg.sql.Identifier(plainsql_database), psycopg.sql.Literal(level)
            )
        )
    return level


async def test_the_last_owner_rule_holds_whatever_the_database_default_isolation(
    default_isolation: str, auth: AuthService, teams: TeamService, plainsql_database_url: str
) -> None:
    """plainsql pins READ COMMITTED in every BEGIN, where the trigger's row lock decides."""
    with psycopg.connect(plainsql_database_url) as fresh:
        assert fresh.execute("SHOW default_transaction_isolation").fetchone() == (
            default_isolation,
        )
    await _demotion_race(auth, teams, plainsql_database_url, default_isolation[:3], rounds=5)


async def test_role_changes_at_serializable_are_retried_and_keep_one_owner(
    auth: AuthService,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_database_url: str,
) -> None:
    strict = TeamService(
        plainsql_async_db,
        typed_queries,
        isolation=psycopg.IsolationLevel.SERIALIZABLE,
        attempts=5,
    )
    await _demotion_race(auth, strict, plainsql_database_url, "ser", rounds=10)
    assert strict.retries >= 1, "no demotion ever met a serialization failure to retry"


async def test_teams_are_renamed_soft_deleted_restored_and_purged_after_retention(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn, plainsql_database_url: str
) -> None:
    owner = await auth.sign_up(email="o@x.io", password="a long passphrase", name="O")
    team = await teams.create_team(name="Blue", slug="blue", acting_user_id=owner.id)
    renamed = await teams.rename_team(team.id, name="Navy", slug="navy", acting_user_id=owner.id)
    assert (renamed.name, renamed.slug) == ("Navy", "navy")

    await teams.soft_delete_team(team.id, acting_user_id=owner.id)
    with pytest.raises(TeamNotFound):
        await teams.get_team_by_id(team.id, acting_user_id=owner.id)
    with pytest.raises(TeamNotFound):
        await teams.get_team_by_slug("navy", acting_user_id=owner.id)
    assert await teams.list_user_teams(acting_user_id=owner.id) == []
    with pytest.raises(SlugTaken):  # kept until the purge
        await teams.create_team(name="Other", slug="navy", acting_user_id=owner.id)

    restored = await teams.restore_team(team.id, acting_user_id=owner.id)
    assert restored.slug == "navy"
    assert [t.team.id for t in await teams.list_user_teams(acting_user_id=owner.id)] == [team.id]

    await teams.soft_delete_team(team.id, acting_user_id=owner.id)
    assert await teams.purge_deleted_teams(retention=timedelta(days=30)) == 0  # too recent
    plainsql_conn.execute(
        "UPDATE teams SET deleted_at = now() - interval '31 days' WHERE id = %s", (team.id,)
    )
    plainsql_conn.commit()
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reference_apps.maintenance", "purge-teams", "--retention-days", "30",
        env={**os.environ, "DATABASE_URL": plainsql_database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await command.communicate()
    assert command.returncode == 0, output
    assert b"purged 1 team(s)" in output
    again = await teams.create_team(name="New", slug="navy", acting_user_id=owner.id)
    assert again.slug == "navy"


async def test_without_its_grant_the_team_purge_is_refused(
    users: None, plainsql_conn: SyncConn, teams: TeamService
) -> None:
    plainsql_conn.execute(
        "REVOKE EXECUTE ON FUNCTION app_purge_deleted_teams(integer) FROM reference_worker"
    )
    plainsql_conn.commit()
    with pytest.raises(PermissionDenied):
        await teams.purge_deleted_teams(retention=timedelta(0))


# --- the last-owner rule under load, at every isolation level ------------------------------

WORKERS = 16
TEAMS = 50


@pytest.mark.parametrize(
    "isolation",
    [
        psycopg.IsolationLevel.READ_COMMITTED,
        psycopg.IsolationLevel.REPEATABLE_READ,
        psycopg.IsolationLevel.SERIALIZABLE,
    ],
    ids=["read-committed", "repeatable-read", "serializable"],
)
async def test_sixteen_owners_demoting_and_leaving_at_once_leave_each_team_one_owner(
    isolation: psycopg.IsolationLevel,
    plainsql_conn: SyncConn,
    plainsql_settings: Settings,
    typed_queries: AsyncTypedQueries,
) -> None:
    """50 teams, each with the same 16 OWNERs; 16 workers (one per owner, each on its own
    pooled connection) go through every team, demoting themselves in half of them and leaving
    the others. Serialization failures are retried by the service; whatever the level, every
    team ends with exactly one OWNER, and every refusal is LastOwner."""
    users = [f"load-owner-{i:02}" for i in range(WORKERS)]
    plainsql_conn.execute(
        "INSERT INTO users (id, name, email) SELECT u, u, u || '@x.io' FROM unnest(%s::text[]) u",
        (users,),
    )
    team_ids = [
        row[0]
        for row in plainsql_conn.execute(
            "INSERT INTO teams (name, slug) SELECT 'Load', 'load-' || i"
            " FROM generate_series(1, %s) AS i RETURNING id",
            (TEAMS,),
        ).fetchall()
    ]
    plainsql_conn.execute(
        "INSERT INTO team_members (team_id, user_id, role)"
        " SELECT t, u, 'OWNER' FROM unnest(%s::uuid[]) t, unnest(%s::text[]) u",
        (team_ids, users),
    )
    plainsql_conn.commit()
    settings = replace(plainsql_settings, pool_min_size=WORKERS, pool_max_size=WORKERS)
    refusals: list[BaseException] = []

    async with open_async_pool(settings) as pool:
        teams = TeamService(
            AsyncDatabase(pool, settings), typed_queries, isolation=isolation, attempts=100
        )

        async def worker(index: int) -> None:
            me = users[index]
            for step in range(TEAMS):
                team_id = team_ids[(index * 3 + step) % TEAMS]  # workers meet on every team
                try:
                    if (index + step) % 2 == 0:
                        await teams.change_role(team_id, me, UserRole.MEMBER, acting_user_id=me)
                    else:
                        await teams.remove_member(team_id, me, acting_user_id=me)
                except LastOwner as exc:
                    refusals.append(exc)

        await asyncio.gather(*(worker(i) for i in range(WORKERS)))

    counts = plainsql_conn.execute(
        "SELECT t.id, count(m.user_id) FILTER (WHERE m.role = 'OWNER')"
        " FROM unnest(%s::uuid[]) AS t(id) LEFT JOIN team_members AS m ON m.team_id = t.id"
        " GROUP BY t.id",
        (team_ids,),
    ).fetchall()
    plainsql_conn.commit()
    assert sorted(count for _, count in counts) == [1] * TEAMS
    assert len(refusals) == TEAMS  # one refused owner per team, nothing else failed
