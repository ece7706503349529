"""GitService on a real PostgreSQL: one repository per workspace, its sync state, its deploy key."""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from plainsql import AsyncDatabase, Settings, load_async_queries, open_async_pool
from plainsql.errors import CheckViolation
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import SyncStatus
from reference_apps.services.crypto import CorruptCiphertext, key_id_of
from reference_apps.services.git import (
    GitService,
    RepositoryAlreadyConnected,
    RepositoryNotFound,
)
from reference_apps.services.workspaces import Workspace, WorkspaceNotFound

from ..fixtures import TEST_KEY, TEST_KEYS, add_workspace

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]
SyncConn = psycopg.Connection[tuple[Any, ...]]
SECRET_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-material\n"


@pytest.fixture
def git(plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries) -> GitService:
    return GitService(plainsql_async_db, typed_queries, keys=TEST_KEYS)


async def test_connect_then_get(git: GitService, workspace: Workspace) -> None:
    repo = await git.connect_repository(
        workspace.id,
        repo_url="git@git.example:ada/notes.git",
        deploy_key=SECRET_KEY,
        acting_user_id=workspace.user_id,
    )
    assert (repo.branch, repo.sync_status, repo.last_sync, repo.error_log) == (
        "main",
        "idle",
        None,
        None,
    )
    assert await git.get_deploy_key(workspace.id, acting_user_id=workspace.user_id) == SECRET_KEY
    assert await git.get_repository(workspace.id, acting_user_id=workspace.user_id) == repo
    assert await git.get_repository(workspace.id + 1000, acting_user_id=workspace.user_id) is None


async def test_the_deploy_key_is_stored_encrypted_under_the_newest_key(
    git: GitService, workspace: Workspace, plainsql_conn: SyncConn
) -> None:
    await git.connect_repository(
        workspace.id,
        repo_url="https://git.example/ada.git",
        deploy_key=SECRET_KEY,
        acting_user_id=workspace.user_id,
    )

    row = plainsql_conn.execute(
        "SELECT deploy_key FROM git_repositories WHERE workspace_id = %s", (workspace.id,)
    ).fetchone()
    assert row is not None
    stored = bytes(row[0])
    assert b"secret-material" not in stored
    assert key_id_of(stored) == TEST_KEY.key_id


async def test_a_repository_without_a_deploy_key(git: GitService, workspace: Workspace) -> None:
    await git.connect_repository(
        workspace.id, repo_url="https://git.example/ada.git", acting_user_id=workspace.user_id
    )
    assert await git.get_deploy_key(workspace.id, acting_user_id=workspace.user_id) is None
    with pytest.raises(RepositoryNotFound):
        await git.get_deploy_key(workspace.id + 1000, acting_user_id=workspace.user_id)


async def test_a_deploy_key_copied_to_another_workspace_does_not_decrypt(
    git: GitService,
    workspace: Workspace,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_conn: SyncConn,
) -> None:
    other = await add_workspace(plainsql_async_db, typed_queries, "bob")
    await git.connect_repository(
        workspace.id,
        repo_url="https://a.example/a.git",
        deploy_key="A",
        acting_user_id=workspace.user_id,
    )
    await git.connect_repository(
        other.id, repo_url="https://b.example/b.git", deploy_key="B", acting_user_id=other.user_id
    )
    plainsql_conn.execute(
        "UPDATE git_repositories SET deploy_key ="
        " (SELECT deploy_key FROM git_repositories WHERE workspace_id = %s)"
        " WHERE workspace_id = %s",
        (workspace.id, other.id),
    )
    plainsql_conn.commit()

    with pytest.raises(CorruptCiphertext, match="fails authentication"):
        await git.get_deploy_key(other.id, acting_user_id=other.user_id)
    assert await git.get_deploy_key(workspace.id, acting_user_id=workspace.user_id) == "A"


async def test_one_repository_per_workspace_even_when_racing(
    git: GitService, workspace: Workspace
) -> None:
    results = await asyncio.gather(
        *(
            git.connect_repository(
                workspace.id,
                repo_url=f"https://git.example/r{i}.git",
                acting_user_id=workspace.user_id,
            )
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
        await git.connect_repository(
            424242, repo_url="https://git.example/x.git", acting_user_id="ada"
        )


async def test_sync_status_error_log_and_last_sync(git: GitService, workspace: Workspace) -> None:
    await git.connect_repository(
        workspace.id,
        repo_url="https://git.example/ada.git",
        branch="pub",
        acting_user_id=workspace.user_id,
    )
    syncing = await git.update_sync_status(
        workspace.id, SyncStatus.SYNCING, acting_user_id=workspace.user_id
    )
    assert syncing.sync_status == "syncing"
    failed = await git.update_sync_status(
        workspace.id,
        SyncStatus.ERROR,
        error_log="fatal: couldn't find remote ref pub",
        acting_user_id=workspace.user_id,
    )
    assert (failed.sync_status, failed.error_log) == (
        "error",
        "fatal: couldn't find remote ref pub",
    )
    assert failed.last_sync is None
    assert failed.updated_at >= syncing.updated_at

    synced = await git.record_sync(workspace.id, acting_user_id=workspace.user_id)
    assert (synced.sync_status, synced.error_log) == ("success", None)
    assert synced.last_sync is not None
    assert synced.last_sync >= failed.updated_at
    assert await git.get_repository(workspace.id, acting_user_id=workspace.user_id) == synced


async def test_updates_of_a_missing_repository(git: GitService, workspace: Workspace) -> None:
    with pytest.raises(RepositoryNotFound):
        await git.update_sync_status(
            workspace.id, SyncStatus.SYNCING, acting_user_id=workspace.user_id
        )
    with pytest.raises(RepositoryNotFound):
        await git.record_sync(workspace.id, acting_user_id=workspace.user_id)
    with pytest.raises(RepositoryNotFound):
        await git.disconnect_repository(workspace.id, acting_user_id=workspace.user_id)


async def test_disconnect_then_connect_another(git: GitService, workspace: Workspace) -> None:
    await git.connect_repository(
        workspace.id, repo_url="https://git.example/old.git", acting_user_id=workspace.user_id
    )
    await git.disconnect_repository(workspace.id, acting_user_id=workspace.user_id)
    assert await git.get_repository(workspace.id, acting_user_id=workspace.user_id) is None
    repo = await git.connect_repository(
        workspace.id, repo_url="https://git.example/new.git", acting_user_id=workspace.user_id
    )
    assert repo.repo_url == "https://git.example/new.git"


async def test_the_deploy_key_stays_out_of_the_repr(git: GitService, workspace: Workspace) -> None:
    repo = await git.connect_repository(
        workspace.id,
        repo_url="https://git.example/ada.git",
        deploy_key=SECRET_KEY,
        acting_user_id=workspace.user_id,
    )
    assert "secret-material" not in repr(repo)
    assert "secret-material" not in str(repo)


# --- no deploy key in logs or errors ------------------------------------------------------


def _messages_of(error: BaseException | None) -> list[str]:
    """str, repr and args of an exception and of every exception chained to it."""
    found: list[str] = []
    while error is not None:
        found.append(f"{type(error).__name__}: {error!s} {error!r} {error.args!r}")
        error = error.__cause__ or error.__context__
    return found


async def test_a_failed_connect_logs_and_raises_no_deploy_key(
    plainsql_settings: Settings, workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    """The server's DETAIL quotes the row ("Failing row contains (...)"): it stays out."""
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates here
    for name in ("psycopg", "psycopg.pool", "aiosql", "plainsql", "reference_apps"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[BaseException] = []
    # Pool and queries made under the capture, so that their own logging is seen too.
    async with open_async_pool(plainsql_settings) as pool:
        git = GitService(
            AsyncDatabase(pool, plainsql_settings),
            AsyncTypedQueries(load_async_queries(plainsql_settings.sql_dir)),
            keys=TEST_KEYS,
        )
        await git.connect_repository(
            workspace.id,
            repo_url="https://git.example/a.git",
            deploy_key=SECRET_KEY,
            acting_user_id=workspace.user_id,
        )
        stored = await _stored_deploy_key(pool, workspace.id)
        try:  # a second repository: git_repositories_workspace_id_key
            await git.connect_repository(
                workspace.id,
                repo_url="https://git.example/b.git",
                deploy_key=SECRET_KEY,
                acting_user_id=workspace.user_id,
            )
        except RepositoryAlreadyConnected as exc:
            errors.append(exc)
        try:  # a blank branch: a CHECK (checked before the unique key), DETAIL the whole row
            await git.connect_repository(
                workspace.id,
                repo_url="https://git.example/c.git",
                branch=" ",
                deploy_key=SECRET_KEY,
                acting_user_id=workspace.user_id,
            )
        except CheckViolation as exc:
            errors.append(exc)

    assert len(errors) == 2
    assert isinstance(errors[1], CheckViolation)
    assert errors[1].constraint == "git_repositories_branch_not_blank"
    assert caplog.records, "nothing was logged: the capture is not working"
    texts = [
        " ".join(
            [
                record.getMessage(),
                repr(record.args),
                record.exc_text or "",
                *_messages_of(record.exc_info[1] if record.exc_info else None),
            ]
        )
        for record in caplog.records
    ]
    texts += [message for error in errors for message in _messages_of(error)]
    texts.append(caplog.text)
    forms = ["secret-material", SECRET_KEY]
    for value in (SECRET_KEY.encode(), stored):  # the key, and what the database holds of it
        forms += [value.hex(), base64.b64encode(value).decode()]
    # A DETAIL would show any envelope under the test key as \x<hex> starting so:
    forms.append(stored[: 3 + len(TEST_KEY.key_id)].hex())
    for form in forms:
        assert not [text for text in texts if form in text], form
    assert all("DETAIL" not in text and "Failing row" not in text for text in texts)


async def _stored_deploy_key(pool: Pool, workspace_id: int) -> bytes:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT deploy_key FROM git_repositories WHERE workspace_id = %s", (workspace_id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return bytes(row[0])
