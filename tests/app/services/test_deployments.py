"""DeploymentService on a real PostgreSQL: forward-only status, atomic build-log appends."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from plainsql import AsyncDatabase
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.deployments import (
    DeploymentNotFound,
    DeploymentService,
    DeploymentStatus,
    DeploymentStatusConflict,
)
from reference_apps.services.workspaces import Workspace, WorkspaceNotFound

from ..fixtures import add_workspace

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


@pytest.fixture
def deployments(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> DeploymentService:
    return DeploymentService(plainsql_async_db, typed_queries)


async def test_record_then_get(deployments: DeploymentService, workspace: Workspace) -> None:
    deployment = await deployments.record(
        workspace.id,
        commit_sha="9fceb02d0ae598e95dc970b74767f19372d61af8",
        acting_user_id=workspace.user_id,
    )
    assert deployment.status == "pending"
    assert (deployment.error_log, deployment.build_log) == (None, [])
    assert (
        await deployments.get(workspace.id, deployment.id, acting_user_id=workspace.user_id)
        == deployment
    )
    assert (
        await deployments.get(workspace.id + 1000, deployment.id, acting_user_id=workspace.user_id)
        is None
    )
    with pytest.raises(WorkspaceNotFound):
        await deployments.record(
            workspace.id + 1000, commit_sha="abc", acting_user_id=workspace.user_id
        )


async def test_status_moves_forward_only(
    deployments: DeploymentService, workspace: Workspace
) -> None:
    deployment = await deployments.record(
        workspace.id, commit_sha="abc1234", acting_user_id=workspace.user_id
    )
    building = await deployments.update_status(
        workspace.id, deployment.id, DeploymentStatus.BUILDING, acting_user_id=workspace.user_id
    )
    assert building.status == "building"
    with pytest.raises(DeploymentStatusConflict):
        await deployments.update_status(
            workspace.id, deployment.id, DeploymentStatus.PENDING, acting_user_id=workspace.user_id
        )
    failed = await deployments.update_status(
        workspace.id,
        deployment.id,
        DeploymentStatus.FAILED,
        error_log="exit status 1",
        acting_user_id=workspace.user_id,
    )
    assert (failed.status, failed.error_log) == ("failed", "exit status 1")
    with pytest.raises(DeploymentStatusConflict):
        await deployments.update_status(
            workspace.id, deployment.id, DeploymentStatus.SUCCESS, acting_user_id=workspace.user_id
        )
    assert (
        await deployments.get(workspace.id, deployment.id, acting_user_id=workspace.user_id)
        == failed
    )
    with pytest.raises(DeploymentNotFound):
        await deployments.update_status(
            workspace.id, 987654, DeploymentStatus.BUILDING, acting_user_id=workspace.user_id
        )


async def test_racing_finishes_leave_one_winner(
    deployments: DeploymentService, workspace: Workspace
) -> None:
    deployment = await deployments.record(
        workspace.id,
        commit_sha="abc1234",
        status=DeploymentStatus.BUILDING,
        acting_user_id=workspace.user_id,
    )
    statuses: list[DeploymentStatus] = [DeploymentStatus.SUCCESS, DeploymentStatus.FAILED] * 3
    results = await asyncio.gather(
        *(
            deployments.update_status(
                workspace.id, deployment.id, status, acting_user_id=workspace.user_id
            )
            for status in statuses
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(
        isinstance(r, DeploymentStatusConflict) for r in results if isinstance(r, BaseException)
    )
    final = await deployments.get(workspace.id, deployment.id, acting_user_id=workspace.user_id)
    assert final is not None
    assert final.status == winners[0].status


async def test_concurrent_build_log_appends_all_land(
    plainsql_async_pool: Pool, deployments: DeploymentService, workspace: Workspace
) -> None:
    deployment = await deployments.record(
        workspace.id, commit_sha="abc1234", acting_user_id=workspace.user_id
    )
    lines = [f"step {i}: ok" for i in range(40)]
    counts = await asyncio.gather(
        *(
            deployments.append_build_log(
                workspace.id, deployment.id, line, acting_user_id=workspace.user_id
            )
            for line in lines
        )
    )
    assert sorted(counts) == list(range(1, 41))
    stored = await deployments.get(workspace.id, deployment.id, acting_user_id=workspace.user_id)
    assert stored is not None
    assert stored.build_log is not None
    assert sorted(stored.build_log) == sorted(lines)
    with pytest.raises(DeploymentNotFound):
        await deployments.append_build_log(
            workspace.id + 1000, deployment.id, "x", acting_user_id=workspace.user_id
        )


async def test_appending_to_a_null_build_log(
    plainsql_async_pool: Pool, deployments: DeploymentService, workspace: Workspace
) -> None:
    deployment = await deployments.record(
        workspace.id, commit_sha="abc1234", acting_user_id=workspace.user_id
    )
    async with plainsql_async_pool.connection() as conn:
        await conn.execute(
            "UPDATE deployment_history SET build_log = NULL WHERE id = %s", (deployment.id,)
        )
    assert (
        await deployments.append_build_log(
            workspace.id, deployment.id, 'quote " and \\', acting_user_id=workspace.user_id
        )
        == 1
    )
    stored = await deployments.get(workspace.id, deployment.id, acting_user_id=workspace.user_id)
    assert stored is not None
    assert stored.build_log == ['quote " and \\']


async def test_latest_n_newest_first_of_one_workspace(
    plainsql_async_pool: Pool,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    deployments: DeploymentService,
    workspace: Workspace,
) -> None:
    other = await add_workspace(plainsql_async_db, typed_queries, "bob")
    for i in range(5):
        await deployments.record(
            workspace.id, commit_sha=f"sha{i}", acting_user_id=workspace.user_id
        )
        await deployments.record(other.id, commit_sha=f"other{i}", acting_user_id=other.user_id)
    async with plainsql_async_pool.connection() as conn:
        # Out-of-order deployed_at: the list follows deployed_at, not insertion order.
        await conn.execute(
            "UPDATE deployment_history SET deployed_at = now() + interval '1 hour'"
            " WHERE commit_sha = 'sha1'"
        )
    latest = await deployments.list_latest(workspace.id, limit=3, acting_user_id=workspace.user_id)
    assert [d.commit_sha for d in latest] == ["sha1", "sha4", "sha3"]
    assert len(await deployments.list_latest(workspace.id, acting_user_id=workspace.user_id)) == 5
    assert (
        await deployments.list_latest(workspace.id + 1000, acting_user_id=workspace.user_id) == []
    )
