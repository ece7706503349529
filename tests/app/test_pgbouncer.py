"""The applications behind PgBouncer in transaction mode: their services and typed queries.

The distribution's PgBouncer (1.18: no prepared statements in transaction mode) runs in
front of an embedded cluster of the session's own (the root conftest's ``pgbouncer``), with
4 server connections for 8 clients. The application's database is migrated over the direct
URL (``DIRECT_URL``); then each application's main path runs through the pooler, declared
with ``?pgbouncer=true``, as the reference application's role (``transaction-role``: the
row-level security policies apply), concurrently where the application is.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest

from plainsql import (
    AsyncDatabase,
    Settings,
    load_async_queries,
    load_settings,
    open_async_pool,
)
from plainsql.migrate.runner import Migrator
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UpsertProjectFileBatchParams, UserRole
from reference_apps.services.agents import AgentsService
from reference_apps.services.git import GitService
from reference_apps.services.projects import ProjectsService
from reference_apps.services.teams import TeamService
from reference_apps.services.videos import KeyframeInput, VideosService

from .fixtures import TEST_KEYS, add_workspace

pytestmark = pytest.mark.standalone

WORKERS = 8
ROLE = "reference_app"  # the application's role (its migrations create it)


@pytest.fixture
def settings(pgbouncer: tuple[str, str]) -> Settings:
    pooled, direct = pgbouncer
    loaded = load_settings(
        {
            "DATABASE_URL": f"{pooled}?pgbouncer=true",
            "DIRECT_URL": direct,
            "PLAINSQL_TRANSACTION_ROLE": ROLE,
            "PLAINSQL_POOL_MIN_SIZE": str(WORKERS),
            "PLAINSQL_POOL_MAX_SIZE": str(WORKERS),
        }
    )
    with Migrator(loaded) as migrator:  # over the direct URL
        migrator.migrate()
    return loaded


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    async with open_async_pool(settings) as pool:
        yield AsyncDatabase(pool, settings)


@pytest.fixture
def queries(settings: Settings) -> AsyncTypedQueries:
    return AsyncTypedQueries(load_async_queries(settings.sql_dir))


async def _users(db: AsyncDatabase, *names: str) -> None:
    """Plain users, written as the login role (who may create users)."""
    login = AsyncDatabase(db.pool, replace(db.settings, transaction_role=None))
    async with login.transaction() as conn:
        for name in names:
            await conn.execute(
                "INSERT INTO users (id, name, email) VALUES (%s, %s, %s)",
                (name, name.title(), f"{name}@example.com"),
            )


async def _concurrently(work: Callable[[int], Awaitable[None]]) -> None:
    await asyncio.wait_for(asyncio.gather(*(work(w) for w in range(WORKERS))), 120)


async def test_meeting_agents_of_many_users_at_once(
    db: AsyncDatabase, queries: AsyncTypedQueries
) -> None:
    await _users(db, *(f"agent-owner-{w}" for w in range(WORKERS)))
    agents = AgentsService(db, queries)

    async def worker(w: int) -> None:
        user = f"agent-owner-{w}"
        for i in range(10):
            await agents.create_agent(f"agent {i}", "be brief", acting_user_id=user)
            listed = await agents.list_agents(page_size=500, acting_user_id=user)
            assert [a.name for a in listed.items].count(f"agent {i}") == 1
            assert len(listed.items) == i + 1

    await _concurrently(worker)


async def test_video_summaries_with_tags_and_keyframes(
    db: AsyncDatabase, queries: AsyncTypedQueries
) -> None:
    await _users(db, *(f"viewer-{w}" for w in range(WORKERS)))
    videos = VideosService(db, queries)

    async def worker(w: int) -> None:
        user = f"viewer-{w}"
        video = await videos.create_video(
            acting_user_id=user,
            youtube_url=f"https://youtu.be/v{w}",
            youtube_id=f"v{w}",
            title=f"Talk {w}",
        )
        await videos.attach_tag(video.id, "postgres", acting_user_id=user)
        frames = [KeyframeInput(s, f"https://img/{w}/{s}.png") for s in (30, 10, 20)]
        added = await videos.add_keyframes(video.id, frames, acting_user_id=user)
        assert [k.timestamp_seconds for k in added] == [10, 20, 30]
        assert [t.name for t in await videos.list_tags(video.id, acting_user_id=user)] == [
            "postgres"
        ]
        assert await videos.get_video(video.id, acting_user_id=user) == video
        assert (
            await videos.get_video(video.id, acting_user_id=f"viewer-{(w + 1) % WORKERS}") is None
        )

    await _concurrently(worker)


async def test_teams_and_role_changes(db: AsyncDatabase, queries: AsyncTypedQueries) -> None:
    await _users(
        db, *(f"owner-{w}" for w in range(WORKERS)), *(f"mate-{w}" for w in range(WORKERS))
    )
    teams = TeamService(db, queries)

    async def worker(w: int) -> None:
        owner, mate = f"owner-{w}", f"mate-{w}"
        team = await teams.create_team(name=f"Team {w}", slug=f"team-{w}", acting_user_id=owner)
        await teams.invite(team.id, mate, acting_user_id=owner)
        await teams.accept_invitation(team.id, acting_user_id=mate)
        await teams.change_role(team.id, mate, UserRole.OWNER, acting_user_id=owner)
        await teams.change_role(team.id, owner, UserRole.MEMBER, acting_user_id=mate)
        members = (await teams.list_members(team.id, acting_user_id=owner)).items
        assert {(m.user_id, m.role) for m in members} == {
            (mate, UserRole.OWNER),
            (owner, UserRole.MEMBER),
        }

    await _concurrently(worker)


async def test_git_published_notes_keep_their_deploy_keys(
    db: AsyncDatabase, queries: AsyncTypedQueries
) -> None:
    login = AsyncDatabase(db.pool, replace(db.settings, transaction_role=None))
    git = GitService(db, queries, keys=TEST_KEYS)
    for w in range(WORKERS):
        workspace = await add_workspace(login, queries, f"writer-{w}")
        repo = await git.connect_repository(
            workspace.id,
            repo_url=f"git@git.example:writer-{w}/notes.git",
            deploy_key=f"key of writer {w}",
            acting_user_id=workspace.user_id,
        )
        assert repo.branch == "main"
        key = await git.get_deploy_key(workspace.id, acting_user_id=workspace.user_id)
        assert key == f"key of writer {w}"


async def test_app_builder_projects_with_a_pipelined_batch_of_files(
    db: AsyncDatabase, queries: AsyncTypedQueries
) -> None:
    await _users(db, *(f"builder-{w}" for w in range(WORKERS)))
    projects = ProjectsService(db, queries)
    typed = queries

    async def worker(w: int) -> None:
        user = f"builder-{w}"
        project = await projects.create_project(f"App {w}", "a todo list", acting_user_id=user)
        assert isinstance(project.id, uuid.UUID)
        rows: list[UpsertProjectFileBatchParams] = [
            {"project_id": project.id, "user_id": user, "path": f"src/{i}.ts", "content": "x"}
            for i in range(50)
        ]
        async with db.transaction(acting_user=user) as conn:
            assert await typed.projects.upsert_project_file_batch(conn, rows) == 50
        assert (
            await projects.upsert_files(project.id, {"README.md": "# App"}, acting_user_id=user)
            == 1
        )
        loaded = await projects.get_project_with_files(project.id, acting_user_id=user)
        assert loaded is not None
        assert len(loaded.files) == 51

    await _concurrently(worker)
