"""Deployments: the history of a workspace's site builds, their status and build logs.

A deployment moves forward only: pending -> building -> success | failed, and a finished
one (success, failed) never changes status again; the guard is part of the UPDATE itself,
so two racing updates cannot both finish it. Build-log lines are appended by one atomic
UPDATE each (``build_log || jsonb_build_array(line)``): concurrent appends all land.
The queries return the log as its lines (``text[]``), so a record's ``build_log`` is a
``list[str]``. Statuses are the generated ``DeploymentStatus`` literal type (the enum's labels).
"""

from __future__ import annotations

from plainsql import AsyncConn
from reference_apps.db.records import CreateDeploymentRow, DeploymentStatus
from reference_apps.services.base import Service
from reference_apps.services.bounds import page_size
from reference_apps.services.errors import Conflict, NotFound
from reference_apps.services.workspaces import WorkspaceNotFound, of_acting_users_workspace

DEFAULT_LATEST = 10


class DeploymentNotFound(NotFound):
    """No such deployment in the workspace."""


class DeploymentStatusConflict(Conflict):
    """The deployment is finished, or the new status would move it backwards."""


Deployment = CreateDeploymentRow
"""A deployment of a workspace's site: the generated record that the queries of
sql/git/deployments.sql share (``build_log`` is the log's lines, None when the column is NULL)."""


def _missing(workspace_id: int, deployment_id: int) -> DeploymentNotFound:
    return DeploymentNotFound(f"no deployment {deployment_id} in workspace {workspace_id}")


class DeploymentService(
    Service,
    constraint_errors={"deployment_history_workspace_id_fkey": WorkspaceNotFound},
):
    """Record deployments, move their status, append build logs, list the latest."""

    async def record(
        self,
        workspace_id: int,
        *,
        acting_user_id: str,
        commit_sha: str,
        status: DeploymentStatus = DeploymentStatus.PENDING,
    ) -> Deployment:
        """The recorded deployment, deployed_at now. Raises WorkspaceNotFound."""
        create = self.q.git.create_deployment
        with of_acting_users_workspace(workspace_id):
            return await self.writing(acting_user_id).run(
                create, workspace_id=workspace_id, commit_sha=commit_sha, status=status
            )

    async def get(
        self, workspace_id: int, deployment_id: int, *, acting_user_id: str
    ) -> Deployment | None:
        get = self.q.git.get_deployment_by_id
        return await self.reading(acting_user_id).run(
            get, deployment_id=deployment_id, workspace_id=workspace_id
        )

    async def update_status(
        self,
        workspace_id: int,
        deployment_id: int,
        status: DeploymentStatus,
        *,
        acting_user_id: str,
        error_log: str | None = None,
    ) -> Deployment:
        """Move the deployment forward to ``status``; ``error_log`` None keeps the old one.

        Raises DeploymentNotFound, or DeploymentStatusConflict when it is finished or the
        move would go backwards.
        """

        async def why(conn: AsyncConn) -> DeploymentNotFound | DeploymentStatusConflict:
            # Only to name the error: the guarded UPDATE already decided.
            get = self.q.git.get_deployment_by_id
            current = await get(conn, deployment_id=deployment_id, workspace_id=workspace_id)
            if current is None:
                return _missing(workspace_id, deployment_id)
            return DeploymentStatusConflict(
                f"deployment {deployment_id} is {current.status}: it cannot become {status}"
            )

        return await self.writing(acting_user_id).one(
            why,
            self.q.git.update_deployment_status,
            deployment_id=deployment_id,
            workspace_id=workspace_id,
            status=status,
            error_log=error_log,
        )

    async def append_build_log(
        self, workspace_id: int, deployment_id: int, line: str, *, acting_user_id: str
    ) -> int:
        """Append one line to the build log; the number of lines now. Raises DeploymentNotFound."""
        row = await self.writing(acting_user_id).one(
            _missing(workspace_id, deployment_id),
            self.q.git.update_deployment_build_log,
            deployment_id=deployment_id,
            workspace_id=workspace_id,
            line=line,
        )
        return row.line_count

    async def list_latest(
        self, workspace_id: int, *, acting_user_id: str, limit: int = DEFAULT_LATEST
    ) -> list[Deployment]:
        """The workspace's ``limit`` latest deployments, newest first."""
        page_size(limit, "limit")
        latest = self.q.git.list_latest_deployments
        return await self.reading(acting_user_id).run(
            latest, workspace_id=workspace_id, limit=limit
        )


__all__ = [
    "DEFAULT_LATEST",
    "Deployment",
    "DeploymentNotFound",
    "DeploymentService",
    "DeploymentStatus",
    "DeploymentStatusConflict",
]
