"""Git publishing: the repository a workspace publishes from (one per workspace), its sync state.

Connecting a second repository to a workspace is refused by the database
(``git_repositories_workspace_id_key``) and becomes :class:`RepositoryAlreadyConnected`.
The deploy key is a secret: it is kept out of the record's repr and out of every message.
Statuses are the generated ``SyncStatus`` literal type (the ``sync_status`` enum's labels).
"""

from __future__ import annotations

from collections.abc import Mapping

from plainsql.errors import DomainError, ForeignKeyViolation, UniqueViolation, translate_constraint
from plainsql.queries import Queries
from plainsql.runtime_async import AsyncDatabase
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import GitRepositoryRow, SyncStatus
from reference_apps.services.errors import AlreadyExists, NotFound
from reference_apps.services.workspaces import WorkspaceNotFound


class RepositoryNotFound(NotFound):
    """The workspace has no repository connected."""


class RepositoryAlreadyConnected(AlreadyExists):
    """The workspace already has a repository (one per workspace)."""


_CONSTRAINT_ERRORS: Mapping[str, type[DomainError]] = {
    "git_repositories_workspace_id_key": RepositoryAlreadyConnected,
    "git_repositories_workspace_id_fkey": WorkspaceNotFound,
}


GitRepository = GitRepositoryRow
"""A workspace's repository: the generated record of ``git_repositories`` (deploy_key kept out
of its repr)."""


class GitService:
    """Connect a workspace's repository and keep its sync state; each method one transaction."""

    def __init__(self, db: AsyncDatabase, queries: Queries) -> None:
        self.db = db
        self.q = AsyncTypedQueries(queries)

    async def connect_repository(
        self,
        workspace_id: int,
        *,
        repo_url: str,
        branch: str = "main",
        deploy_key: str | None = None,
    ) -> GitRepository:
        """The newly connected repository. Raises RepositoryAlreadyConnected, WorkspaceNotFound."""
        try:
            async with self.db.transaction() as conn:
                row = await self.q.git.create_git_repository(
                    conn,
                    workspace_id=workspace_id,
                    repo_url=repo_url,
                    branch=branch,
                    deploy_key=deploy_key,
                )
        except (UniqueViolation, ForeignKeyViolation) as exc:
            raise translate_constraint(exc, _CONSTRAINT_ERRORS) from exc
        return row

    async def get_repository(self, workspace_id: int) -> GitRepository | None:
        async with self.db.transaction() as conn:
            return await self.q.git.get_git_repository_by_workspace(conn, workspace_id=workspace_id)

    async def update_sync_status(
        self, workspace_id: int, status: SyncStatus, *, error_log: str | None = None
    ) -> GitRepository:
        """Set the sync status and the error log (None clears it). Raises RepositoryNotFound."""
        async with self.db.transaction() as conn:
            row = await self.q.git.update_git_repository_sync_status(
                conn, workspace_id=workspace_id, sync_status=status, error_log=error_log
            )
        if row is None:
            raise RepositoryNotFound(f"workspace {workspace_id} has no repository")
        return row

    async def record_sync(self, workspace_id: int) -> GitRepository:
        """Mark a sync as done now: last_sync set, status success, error log cleared."""
        async with self.db.transaction() as conn:
            row = await self.q.git.update_git_repository_synced(conn, workspace_id=workspace_id)
        if row is None:
            raise RepositoryNotFound(f"workspace {workspace_id} has no repository")
        return row

    async def disconnect_repository(self, workspace_id: int) -> None:
        """Remove the workspace's repository. Raises RepositoryNotFound."""
        async with self.db.transaction() as conn:
            deleted = await self.q.git.delete_git_repository_by_workspace(
                conn, workspace_id=workspace_id
            )
        if deleted == 0:
            raise RepositoryNotFound(f"workspace {workspace_id} has no repository")


__all__ = [
    "GitRepository",
    "GitService",
    "RepositoryAlreadyConnected",
    "RepositoryNotFound",
    "SyncStatus",
]
