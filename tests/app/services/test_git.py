"""GitService on a real PostgreSQL: one repository per workspace, its sync status and log."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from plainsql.queries import Queries
from plainsql.runtime_async import AsyncDatabase
from reference_apps.db.records import SyncStatus
from reference_apps.services.git import (
    GitService,
    RepositoryAlreadyConnected,
    RepositoryNotFound,
)
from reference_apps.services.workspaces import Workspace, WorkspaceNotFound

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]
SECRET_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-material\n"


@pytest.fixture
def git(async_db: AsyncDatabase, async_queries: Queries) -> GitService:
    return GitService(async_db, async_queries)


async def test_connect_then_get(git: GitService, workspace: Workspace) -> None:
    repo = await git.connect_repository(
        workspace.id, repo_url="git@git.example:ada/notes.git", deploy_key=SECRET_KEY
    )
    assert (repo.branch, repo.sync_status, repo.last_sync, repo.error_log) == (
        "main",
        "idle",
        None,
        None,
    )
    assert repo.deploy_key == SECRET_KEY
    assert await git.get_repository(workspace.id) == repo
    assert await git.get_repository(workspace.id + 1000) is None


async def test_one_repository_per_workspace_even_when_racing(
    git: GitService, workspace: Workspace
) -> None:
    results = await asyncio.gather(
        *(
            git.connect_repository(workspace.id, repo_url=f"https://git.example/r{i}.git")
            for i in range(5)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(
        isinstance(r, RepositoryAlreadyConnected) for r in results if isinstance(r, BaseException)
    )


async def test_connecting_to_a_missing_workspace(git: GitService) -> None:
    with pytest.raises(WorkspaceNotFound):
        await git.connect_repository(424242, repo_url="https://git.example/x.git")


async def test_sync_status_error_log_and_last_sync(git: GitService, workspace: Workspace) -> None:
    await git.connect_repository(workspace.id, repo_url="https://git.example/ada.git", branch="pub")
    syncing = await git.update_sync_status(workspace.id, SyncStatus.SYNCING)
    assert syncing.sync_status == "syncing"
    failed = await git.update_sync_status(
        workspace.id, SyncStatus.ERROR, error_log="fatal: couldn't find remote ref pub"
    )
    assert (failed.sync_status, failed.error_log) == (
        "error",
        "fatal: couldn't find remote ref pub",
    )
    assert failed.last_sync is None
    assert failed.updated_at >= syncing.updated_at

    synced = await git.record_sync(workspace.id)
    assert (synced.sync_status, synced.error_log) == ("success", None)
    assert synced.last_sync is not None
    assert synced.last_sync >= failed.updated_at
    assert await git.get_repository(workspace.id) == synced


async def test_updates_of_a_missing_repository(git: GitService, workspace: Workspace) -> None:
    with pytest.raises(RepositoryNotFound):
        await git.update_sync_status(workspace.id, SyncStatus.SYNCING)
    with pytest.raises(RepositoryNotFound):
        await git.record_sync(workspace.id)
    with pytest.raises(RepositoryNotFound):
        await git.disconnect_repository(workspace.id)


async def test_disconnect_then_connect_another(git: GitService, workspace: Workspace) -> None:
    await git.connect_repository(workspace.id, repo_url="https://git.example/old.git")
    await git.disconnect_repository(workspace.id)
    assert await git.get_repository(workspace.id) is None
    repo = await git.connect_repository(workspace.id, repo_url="https://git.example/new.git")
    assert repo.repo_url == "https://git.example/new.git"


async def test_the_deploy_key_stays_out_of_the_repr(git: GitService, workspace: Workspace) -> None:
    repo = await git.connect_repository(
        workspace.id, repo_url="https://git.example/ada.git", deploy_key=SECRET_KEY
    )
    assert "secret-material" not in repr(repo)
    assert "secret-material" not in str(repo)
