"""Issue 16's everyday operations beside paging and the video queue: meetings edited and
searched, the administrators' users list and role change, team rename and soft delete with
restore and purge, sign-in by username, workspace settings, a page by slug, a repository's
remote, projects by status with file counts, and the agent state's partial upsert."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import InvalidInput, PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRole
from reference_apps.services.agent_states import AgentStatesService
from reference_apps.services.agents import AgentNotFound, AgentsService
from reference_apps.services.auth import AuthService, InvalidCredentials
from reference_apps.services.content import ContentService, PageInput
from reference_apps.services.git import GitService
from reference_apps.services.meetings import MeetingNotFound, MeetingsService
from reference_apps.services.projects import ProjectsService
from reference_apps.services.teams import SlugTaken, TeamNotFound, TeamService
from reference_apps.services.users_admin import NotAnAdministrator, UsersAdminService
from reference_apps.services.workspaces import Workspace, WorkspaceService

from ..fixtures import ALICE, BOB, TEST_KEYS

Conn = psycopg.Connection[tuple[Any, ...]]


# -- meetings -----------------------------------------------------------------------------


async def test_a_meeting_is_renamed_moved_to_another_agent_filtered_and_searched(
    users: None, async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    agents = AgentsService(async_db, typed_queries)
    meetings = MeetingsService(async_db, typed_queries)
    tutor = await agents.create_agent("Tutor", "teach", acting_user_id=ALICE)
    coach = await agents.create_agent("Coach", "push", acting_user_id=ALICE)
    bobs = await agents.create_agent("Bob's", "x", acting_user_id=BOB)
    weekly = await meetings.create_meeting(tutor.id, "Weekly 100% sync", acting_user_id=ALICE)
    await meetings.create_meeting(tutor.id, "Daily standup", acting_user_id=ALICE)

    moved = await meetings.update_meeting(
        weekly.id, name="Weekly_sync", agent_id=coach.id, acting_user_id=ALICE
    )
    assert (moved.name, moved.agent_id) == ("Weekly_sync", coach.id)
    with pytest.raises(AgentNotFound):
        await meetings.update_meeting(weekly.id, agent_id=bobs.id, acting_user_id=ALICE)
    with pytest.raises(MeetingNotFound):
        await meetings.update_meeting(weekly.id, name="mine now", acting_user_id=BOB)

    by_coach = await meetings.list_meetings_by_agent(coach.id, acting_user_id=ALICE)
    assert [(m.name, m.agent_name) for m in by_coach.items] == [("Weekly_sync", "Coach")]
    assert (await meetings.list_meetings_by_agent(coach.id, acting_user_id=BOB)).items == ()
    found = await meetings.search_meetings("WEEKLY_", acting_user_id=ALICE)
    assert [m.id for m in found.items] == [weekly.id]
    assert (
        await meetings.search_meetings("%", acting_user_id=ALICE)
    ).items == ()  # taken literally
    assert (await meetings.search_meetings("weekly", acting_user_id=BOB)).items == ()


# -- users: the administrators' list and role change --------------------------------------


async def test_an_administrator_lists_every_user_and_changes_a_role(
    users: None, conn: Conn, async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    conn.execute("UPDATE users SET role = 'OWNER' WHERE id = %s", (ALICE,))
    conn.commit()
    admin = UsersAdminService(async_db, typed_queries)
    first = await admin.list_users(acting_user_id=ALICE, page_size=1)
    rest = await admin.list_users(acting_user_id=ALICE, after=first.next_cursor, page_size=5)
    assert {u.id for u in first.items + rest.items} == {ALICE, BOB}
    assert [u.id for u in (await admin.list_users(acting_user_id=BOB)).items] == [BOB]

    await admin.set_role(BOB, UserRole.OWNER, acting_user_id=ALICE)
    await admin.set_role(ALICE, UserRole.MEMBER, acting_user_id=BOB)
    with pytest.raises(NotAnAdministrator):
        await admin.set_role(ALICE, UserRole.OWNER, acting_user_id=ALICE)
    roles: dict[str, str] = dict(conn.execute("SELECT id, role::text FROM users").fetchall())
    assert roles == {ALICE: "MEMBER", BOB: "OWNER"}


@pytest.mark.parametrize(
    "function", ["app_acting_user_is_admin()", "app_set_user_role(text, user_role)"]
)
async def test_without_its_grant_the_admin_path_is_refused(
    users: None,
    conn: Conn,
    async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    function: str,
) -> None:
    conn.execute("UPDATE users SET role = 'OWNER' WHERE id = %s", (ALICE,))
    conn.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM reference_app")
    conn.commit()
    admin = UsersAdminService(async_db, typed_queries)
    if function.startswith("app_acting"):  # the read policy of the administrators' list
        with pytest.raises(PermissionDenied):
            await admin.list_users(acting_user_id=ALICE)
    else:
        with pytest.raises(NotAnAdministrator):  # the role change path
            await admin.set_role(BOB, UserRole.OWNER, acting_user_id=ALICE)
    role = conn.execute("SELECT role::text FROM users WHERE id = %s", (BOB,)).fetchone()
    assert role == ("MEMBER",)


# -- teams ----------------------------------------------------------------------------------


async def test_teams_are_renamed_soft_deleted_restored_and_purged_after_retention(
    auth: AuthService, teams: TeamService, conn: Conn, database_url: str
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
    conn.execute(
        "UPDATE teams SET deleted_at = now() - interval '31 days' WHERE id = %s", (team.id,)
    )
    conn.commit()
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reference_apps.maintenance", "purge-teams", "--retention-days", "30",
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await command.communicate()
    assert command.returncode == 0, output
    assert b"purged 1 team(s)" in output
    again = await teams.create_team(name="New", slug="navy", acting_user_id=owner.id)
    assert again.slug == "navy"


async def test_without_its_grant_the_team_purge_is_refused(
    users: None, conn: Conn, teams: TeamService
) -> None:
    conn.execute("REVOKE EXECUTE ON FUNCTION app_purge_deleted_teams(integer) FROM reference_app")
    conn.commit()
    with pytest.raises(PermissionDenied):
        await teams.purge_deleted_teams(retention=timedelta(0))


# -- notes: sign-in by username, workspace settings, page by slug, repository remote ---------


async def test_sign_in_by_username_or_email(auth: AuthService) -> None:
    user = await auth.sign_up(
        email="Ann@X.io", password="a long passphrase", name="Ann", username="annie"
    )
    for login in ("annie", "ANNIE", "ann@x.io"):
        signed = await auth.sign_in(login=login, password="a long passphrase")
        assert signed.user.id == user.id
    with pytest.raises(InvalidCredentials):
        await auth.sign_in(login="annie", password="wrong passphrase")
    with pytest.raises(InvalidCredentials):
        await auth.sign_in(login="nobody", password="a long passphrase")
    with pytest.raises(InvalidInput):
        await auth.sign_in(email="ann@x.io", login="annie", password="a long passphrase")


async def test_workspace_domain_embed_depth_page_by_slug_and_repository_remote(
    workspace: Workspace, conn: Conn, async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    spaces = WorkspaceService(async_db, typed_queries)
    user = workspace.user_id
    changed = await spaces.update_settings(
        acting_user_id=user, domain="notes.example", embed_depth=2
    )
    assert (changed.domain, changed.embed_depth) == ("notes.example", 2)
    kept = await spaces.update_settings(acting_user_id=user, embed_depth=3)
    assert (kept.domain, kept.embed_depth) == ("notes.example", 3)
    cleared = await spaces.update_settings(acting_user_id=user, domain=None)
    assert (cleared.domain, cleared.embed_depth) == (None, 3)
    with pytest.raises(InvalidInput, match="embed_depth"):
        await spaces.update_settings(acting_user_id=user, embed_depth=101)

    content = ContentService(async_db, typed_queries)
    await content.import_content(
        workspace.id,
        [PageInput("Getting Started", "Start", slug="getting-started"), PageInput("B", "B")],
        acting_user_id=user,
    )
    page = await content.get_page_by_slug(workspace.id, "getting-started", acting_user_id=user)
    assert page is not None
    assert page.page_name == "Getting Started"
    assert await content.get_page_by_slug(workspace.id, "nope", acting_user_id=user) is None

    git = GitService(async_db, typed_queries, keys=TEST_KEYS)
    await git.connect_repository(
        workspace.id, acting_user_id=user, repo_url="https://a/x.git", deploy_key="old key"
    )
    await git.record_sync(workspace.id, acting_user_id=user)
    repo = await git.change_remote(
        workspace.id, acting_user_id=user, repo_url="https://b/y.git", branch="pages"
    )
    assert (repo.repo_url, repo.branch, repo.sync_status, repo.last_sync) == (
        "https://b/y.git", "pages", "idle", None,
    )  # fmt: skip
    assert await git.get_deploy_key(workspace.id, acting_user_id=user) == "old key"  # kept
    await git.change_remote(workspace.id, acting_user_id=user, deploy_key="new key")
    assert await git.get_deploy_key(workspace.id, acting_user_id=user) == "new key"
    stored = conn.execute(
        "SELECT deploy_key FROM git_repositories WHERE workspace_id = %s", (workspace.id,)
    ).fetchone()
    assert stored is not None
    assert b"new key" not in bytes(stored[0])  # encrypted
    await git.change_remote(workspace.id, acting_user_id=user, deploy_key=None)
    assert await git.get_deploy_key(workspace.id, acting_user_id=user) is None


# -- app builder ------------------------------------------------------------------------------


async def test_projects_by_status_with_file_counts_and_the_agent_state_semantics(
    users: None, async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    projects = ProjectsService(async_db, typed_queries)
    states = AgentStatesService(async_db, typed_queries)
    made = [await projects.create_project(f"p{i}", "d", acting_user_id=ALICE) for i in range(3)]
    await projects.upsert_files(made[0].id, {"a.ts": "1", "b.ts": "2"}, acting_user_id=ALICE)
    await projects.set_status(made[1].id, "deployed", acting_user_id=ALICE)
    await projects.create_project("bob's", "d", acting_user_id=BOB)

    first = await projects.list_projects_page(page_size=2, acting_user_id=ALICE)
    rest = await projects.list_projects_page(
        after=first.next_cursor, page_size=2, acting_user_id=ALICE
    )
    counts = {p.name: p.file_count for p in first.items + rest.items}
    assert counts == {"p0": 2, "p1": 0, "p2": 0}
    deployed = await projects.list_projects_page(status="deployed", acting_user_id=ALICE)
    assert [p.name for p in deployed.items] == ["p1"]

    project = made[2].id
    await states.upsert(project, current_state="coding", sandbox_id="sbx", acting_user_id=ALICE)
    partial = await states.upsert(project, preview_url="https://p", acting_user_id=ALICE)
    assert (partial.current_state, partial.sandbox_id, partial.preview_url) == (
        "coding", "sbx", "https://p",
    )  # fmt: skip
    assert await states.append_phase(project, {"name": "plan"}, acting_user_id=ALICE) == 1
    assert await states.append_phase(project, {"name": "build"}, acting_user_id=ALICE) == 2
    state = await states.get(project, acting_user_id=ALICE)
    assert state is not None
    assert state.current_phase == 1  # the phase just appended

    await states.delete(project, acting_user_id=ALICE)
    assert await states.get(project, acting_user_id=ALICE) is None
    assert (
        await projects.get_project(project, acting_user_id=ALICE) is not None
    )  # the project stays
    fresh = await states.upsert(project, current_state="planning", acting_user_id=ALICE)
    assert (fresh.current_state, fresh.phases, fresh.sandbox_id) == ("planning", [], None)
