"""WorkspaceService on a real PostgreSQL: one workspace per user, unique slugs, cascades."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from plainsql import AsyncDatabase
from plainsql.errors import InvalidInput
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.auth import AuthService, InvalidCredentials
from reference_apps.services.content import BlockInput, ContentService, PageInput
from reference_apps.services.deployments import DeploymentService
from reference_apps.services.git import GitService
from reference_apps.services.workspaces import (
    OwnerNotFound,
    SlugTaken,
    Workspace,
    WorkspaceAlreadyExists,
    WorkspaceNotFound,
    WorkspaceService,
)

from ..fixtures import TEST_KEYS

Conn = psycopg.Connection[tuple[Any, ...]]

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


async def add_user(pool: Pool, user_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO users (id, name, email) VALUES (%s, %s, %s)",
            (user_id, user_id.title(), f"{user_id}@example.com"),
        )


@pytest.fixture
def workspaces(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> WorkspaceService:
    return WorkspaceService(plainsql_async_db, typed_queries)


async def test_create_then_get_by_slug_and_by_user(
    plainsql_async_pool: Pool, workspaces: WorkspaceService
) -> None:
    await add_user(plainsql_async_pool, "ada")
    created = await workspaces.create(
        acting_user_id="ada", slug="ada-notes", name="Ada's notes", domain="notes.ada.example"
    )
    assert created.embed_depth == 5
    assert created.domain == "notes.ada.example"
    assert await workspaces.get_by_slug("ada-notes", acting_user_id="ada") == created
    assert await workspaces.get_by_slug("ada-notes", acting_user_id="bob") is None, "Ada's"
    assert await workspaces.get_by_user(acting_user_id="ada") == created
    assert await workspaces.get_by_slug("nobody", acting_user_id="ada") is None
    assert await workspaces.get_by_user(acting_user_id="nobody") is None


async def test_a_second_workspace_for_the_same_user_is_refused(
    plainsql_async_pool: Pool, workspaces: WorkspaceService
) -> None:
    await add_user(plainsql_async_pool, "ada")
    await workspaces.create(acting_user_id="ada", slug="ada-notes", name="Notes")
    with pytest.raises(WorkspaceAlreadyExists):
        await workspaces.create(acting_user_id="ada", slug="ada-other", name="Other")
    assert await workspaces.get_by_slug("ada-other", acting_user_id="ada") is None


async def test_a_taken_slug_is_refused(
    plainsql_async_pool: Pool, workspaces: WorkspaceService
) -> None:
    await add_user(plainsql_async_pool, "ada")
    await add_user(plainsql_async_pool, "bob")
    await workspaces.create(acting_user_id="ada", slug="notes", name="Ada")
    with pytest.raises(SlugTaken):
        await workspaces.create(acting_user_id="bob", slug="notes", name="Bob")
    assert await workspaces.get_by_user(acting_user_id="bob") is None


async def test_racing_creates_for_one_slug_leave_exactly_one(
    plainsql_async_pool: Pool, workspaces: WorkspaceService
) -> None:
    users = [f"user{i}" for i in range(6)]
    for user in users:
        await add_user(plainsql_async_pool, user)
    results = await asyncio.gather(
        *(workspaces.create(acting_user_id=user, slug="contested", name=user) for user in users),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, SlugTaken) for r in results if isinstance(r, BaseException))


async def test_racing_creates_for_one_user_leave_exactly_one(
    plainsql_async_pool: Pool, workspaces: WorkspaceService
) -> None:
    await add_user(plainsql_async_pool, "ada")
    results = await asyncio.gather(
        *(workspaces.create(acting_user_id="ada", slug=f"s{i}", name="x") for i in range(6)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(
        isinstance(r, WorkspaceAlreadyExists) for r in results if isinstance(r, BaseException)
    )


async def test_unknown_or_soft_deleted_owner(
    plainsql_async_pool: Pool, workspaces: WorkspaceService
) -> None:
    with pytest.raises(OwnerNotFound):
        await workspaces.create(acting_user_id="ghost", slug="ghost", name="Ghost")
    await add_user(plainsql_async_pool, "ada")
    await workspaces.create(acting_user_id="ada", slug="ada", name="Ada")
    async with plainsql_async_pool.connection() as conn:
        await conn.execute("UPDATE users SET deleted_at = now() WHERE id = 'ada'")
    assert await workspaces.get_by_slug("ada", acting_user_id="ada") is None
    assert await workspaces.get_by_user(acting_user_id="ada") is None
    # A soft delete frees nothing: the slug stays taken.
    await add_user(plainsql_async_pool, "bob")
    with pytest.raises(SlugTaken):
        await workspaces.create(acting_user_id="bob", slug="ada", name="Bob")


async def test_rename_changes_name_and_slug(
    plainsql_async_pool: Pool, workspaces: WorkspaceService
) -> None:
    await add_user(plainsql_async_pool, "ada")
    await add_user(plainsql_async_pool, "bob")
    created = await workspaces.create(acting_user_id="ada", slug="ada", name="Ada")
    await workspaces.create(acting_user_id="bob", slug="bob", name="Bob")

    renamed = await workspaces.rename(acting_user_id="ada", name="Ada's garden")
    assert (renamed.name, renamed.slug) == ("Ada's garden", "ada")
    assert renamed.updated_at > created.updated_at
    moved = await workspaces.rename(acting_user_id="ada", name="Garden", slug="garden")
    assert await workspaces.get_by_slug("garden", acting_user_id="ada") == moved
    assert await workspaces.get_by_slug("ada", acting_user_id="ada") is None

    with pytest.raises(SlugTaken):
        await workspaces.rename(acting_user_id="ada", name="Garden", slug="bob")
    with pytest.raises(WorkspaceNotFound):
        await workspaces.rename(acting_user_id="nobody", name="x")


async def test_delete(plainsql_async_pool: Pool, workspaces: WorkspaceService) -> None:
    await add_user(plainsql_async_pool, "ada")
    await workspaces.create(acting_user_id="ada", slug="ada", name="Ada")
    await workspaces.delete(acting_user_id="ada")
    assert await workspaces.get_by_user(acting_user_id="ada") is None
    with pytest.raises(WorkspaceNotFound):
        await workspaces.delete(acting_user_id="ada")
    # The user may start again.
    await workspaces.create(acting_user_id="ada", slug="ada", name="Ada again")


async def test_deleting_the_user_removes_everything_of_the_workspace(
    plainsql_async_pool: Pool,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    workspaces: WorkspaceService,
) -> None:
    await add_user(plainsql_async_pool, "ada")
    await add_user(plainsql_async_pool, "bob")
    ada = await workspaces.create(acting_user_id="ada", slug="ada", name="Ada")
    bob = await workspaces.create(acting_user_id="bob", slug="bob", name="Bob")
    content = ContentService(plainsql_async_db, typed_queries)
    git = GitService(plainsql_async_db, typed_queries)
    deployments = DeploymentService(plainsql_async_db, typed_queries)
    pages = [
        PageInput(
            "home",
            "Home",
            blocks=[BlockInput("<p>a</p>", children=[BlockInput("<p>b</p>")])],
        )
    ]
    for workspace in (ada, bob):
        await content.import_content(workspace.id, pages, acting_user_id=workspace.user_id)
        await git.connect_repository(
            workspace.id,
            repo_url=f"https://git.example/{workspace.slug}",
            acting_user_id=workspace.user_id,
        )
        await deployments.record(
            workspace.id, commit_sha="abc1234", acting_user_id=workspace.user_id
        )

    async with plainsql_async_pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE id = 'ada'")

    async with plainsql_async_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM workspaces WHERE id = %(w)s),"
            " (SELECT count(*) FROM nodes WHERE workspace_id = %(w)s),"
            " (SELECT count(*) FROM git_repositories WHERE workspace_id = %(w)s),"
            " (SELECT count(*) FROM deployment_history WHERE workspace_id = %(w)s)",
            {"w": ada.id},
        )
        assert await cur.fetchone() == (0, 0, 0, 0)
    # Bob's workspace is untouched.
    assert await content.count_nodes(bob.id, acting_user_id=bob.user_id) == 3
    assert await git.get_repository(bob.id, acting_user_id=bob.user_id) is not None
    assert len(await deployments.list_latest(bob.id, acting_user_id=bob.user_id)) == 1


async def test_workspace_keyed_calls_act_only_on_the_acting_user_s_workspace(
    plainsql_async_pool: Pool,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    workspaces: WorkspaceService,
) -> None:
    await add_user(plainsql_async_pool, "ada")
    await add_user(plainsql_async_pool, "bob")
    ada = await workspaces.create(acting_user_id="ada", slug="ada", name="Ada")
    content = ContentService(plainsql_async_db, typed_queries)
    git = GitService(plainsql_async_db, typed_queries)
    deployments = DeploymentService(plainsql_async_db, typed_queries)
    home = [PageInput("home", "Home", html="<p>ada's</p>")]
    await content.import_content(ada.id, home, acting_user_id="ada")
    await git.connect_repository(ada.id, repo_url="https://git.example/ada", acting_user_id="ada")
    deployed = await deployments.record(ada.id, commit_sha="abc1234", acting_user_id="ada")

    # Bob names Ada's workspace: reads find nothing, writes are refused, nothing changes.
    with pytest.raises(WorkspaceNotFound):
        await content.import_content(ada.id, [PageInput("x", "X")], acting_user_id="bob")
    with pytest.raises(WorkspaceNotFound):
        await git.connect_repository(ada.id, repo_url="https://evil.example", acting_user_id="bob")
    with pytest.raises(WorkspaceNotFound):
        await deployments.record(ada.id, commit_sha="bad", acting_user_id="bob")
    assert await content.get_page(ada.id, "home", acting_user_id="bob") is None
    assert await content.search(ada.id, "ada", acting_user_id="bob") == []
    assert await content.count_nodes(ada.id, acting_user_id="bob") == 0
    assert await git.get_repository(ada.id, acting_user_id="bob") is None
    assert await deployments.list_latest(ada.id, acting_user_id="bob") == []
    assert await deployments.get(ada.id, deployed.id, acting_user_id="bob") is None

    assert await content.count_nodes(ada.id, acting_user_id="ada") == 1
    repo = await git.get_repository(ada.id, acting_user_id="ada")
    assert repo is not None
    assert repo.repo_url == "https://git.example/ada"
    assert [d.commit_sha for d in await deployments.list_latest(ada.id, acting_user_id="ada")] == [
        "abc1234"
    ]


# Sign-in by username, workspace settings, a page by slug, a repository's remote.


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
    workspace: Workspace,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    spaces = WorkspaceService(plainsql_async_db, typed_queries)
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

    content = ContentService(plainsql_async_db, typed_queries)
    await content.import_content(
        workspace.id,
        [PageInput("Getting Started", "Start", slug="getting-started"), PageInput("B", "B")],
        acting_user_id=user,
    )
    page = await content.get_page_by_slug(workspace.id, "getting-started", acting_user_id=user)
    assert page is not None
    assert page.page_name == "Getting Started"
    assert await content.get_page_by_slug(workspace.id, "nope", acting_user_id=user) is None

    git = GitService(plainsql_async_db, typed_queries, keys=TEST_KEYS)
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
    stored = plainsql_conn.execute(
        "SELECT deploy_key FROM git_repositories WHERE workspace_id = %s", (workspace.id,)
    ).fetchone()
    assert stored is not None
    assert b"new key" not in bytes(stored[0])  # encrypted
    await git.change_remote(workspace.id, acting_user_id=user, deploy_key=None)
    assert await git.get_deploy_key(workspace.id, acting_user_id=user) is None
