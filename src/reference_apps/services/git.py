"""Git publishing: the repository a workspace publishes from (one per workspace), its sync state.

Connecting a second repository to a workspace is refused by the database
(``git_repositories_workspace_id_key``) and becomes :class:`RepositoryAlreadyConnected`.
The deploy key is a secret: it is stored encrypted (AES-256-GCM,
:mod:`reference_apps.services.crypto`, bound to its workspace), the :class:`GitRepository`
records never carry it, and it comes out in clear only through
:meth:`GitService.get_deploy_key`, for the code that pulls the repository. A failed write
never quotes it (:func:`reference_apps.services.errors.run_secret` drops the server's DETAIL).
Statuses are the generated ``SyncStatus`` literal type (the ``sync_status`` enum's labels).
"""

from __future__ import annotations

from plainsql import exactly_one
from reference_apps.db.records import GitRepositoryRow, SyncStatus
from reference_apps.services.base import EncryptingService
from reference_apps.services.crypto import Secret
from reference_apps.services.errors import AlreadyExists, NotFound, run_secret, secret_query
from reference_apps.services.workspaces import (
    KEEP,
    Keep,
    WorkspaceNotFound,
    of_acting_users_workspace,
)


class RepositoryNotFound(NotFound):
    """The workspace has no repository connected."""


class RepositoryAlreadyConnected(AlreadyExists):
    """The workspace already has a repository (one per workspace)."""


GitRepository = GitRepositoryRow
"""A workspace's repository: the generated record of ``git_repositories``, without the deploy
key (:meth:`GitService.get_deploy_key` gives it)."""


def deploy_key_context(workspace_id: int) -> bytes:
    """The associated data of an encrypted deploy key: its column and workspace (one repository
    per workspace), so a key copied to another workspace's row does not decrypt."""
    return f"git_repositories.deploy_key\x00{workspace_id}".encode()


def _missing(workspace_id: int) -> RepositoryNotFound:
    return RepositoryNotFound(f"workspace {workspace_id} has no repository")


class GitService(
    EncryptingService,
    constraint_errors={
        "git_repositories_workspace_id_key": RepositoryAlreadyConnected,
        "git_repositories_workspace_id_fkey": WorkspaceNotFound,
    },
):
    """Connect a workspace's repository and keep its sync state; each method one transaction.

    ``keys`` encrypt the deploy keys (:class:`~reference_apps.services.base.EncryptingService`).
    """

    def _sealed(self, deploy_key: str | Keep | None, workspace_id: int) -> bytes | None:
        if deploy_key is None or isinstance(deploy_key, Keep):
            return None
        return self.keys.encrypt(deploy_key, context=deploy_key_context(workspace_id))

    async def connect_repository(
        self,
        workspace_id: int,
        *,
        acting_user_id: str,
        repo_url: str,
        branch: str = "main",
        deploy_key: str | None = None,
    ) -> GitRepository:
        """The newly connected repository. Raises RepositoryAlreadyConnected, WorkspaceNotFound.

        The deploy key is stored encrypted under the newest configured key.
        """
        sealed = self._sealed(deploy_key, workspace_id)
        with of_acting_users_workspace(workspace_id):
            return await self.writing(acting_user_id).run(
                secret_query(self.q.git.create_git_repository),
                workspace_id=workspace_id,
                repo_url=repo_url,
                branch=branch,
                deploy_key=sealed,
            )

    async def get_repository(
        self, workspace_id: int, *, acting_user_id: str
    ) -> GitRepository | None:
        """The workspace's repository (without its deploy key), or None."""
        get = self.q.git.get_git_repository_by_workspace
        return await self.reading(acting_user_id).run(get, workspace_id=workspace_id)

    async def get_deploy_key(self, workspace_id: int, *, acting_user_id: str) -> Secret | None:
        """The workspace's deploy key in clear, hidden from repr (None when the repository has
        none).

        Raises RepositoryNotFound; a key stored under a key id no longer configured raises
        :class:`~reference_apps.services.crypto.UnknownKeyId` naming it.
        """
        get = self.q.git.get_git_deploy_key_ciphertext
        row = await self.reading(acting_user_id).one(
            _missing(workspace_id), get, workspace_id=workspace_id
        )
        if row.deploy_key is None:
            return None
        return self.keys.decrypt(row.deploy_key, context=deploy_key_context(workspace_id))

    async def update_sync_status(
        self,
        workspace_id: int,
        status: SyncStatus,
        *,
        acting_user_id: str,
        error_log: str | None = None,
    ) -> GitRepository:
        """Set the sync status and the error log (None clears it). Raises RepositoryNotFound."""
        return await self.writing(acting_user_id).one(
            _missing(workspace_id),
            self.q.git.update_git_repository_sync_status,
            workspace_id=workspace_id,
            sync_status=status,
            error_log=error_log,
        )

    async def record_sync(self, workspace_id: int, *, acting_user_id: str) -> GitRepository:
        """Mark a sync as done now: last_sync set, status success, error log cleared."""
        synced = self.q.git.update_git_repository_synced
        return await self.writing(acting_user_id).one(
            _missing(workspace_id), synced, workspace_id=workspace_id
        )

    async def change_remote(
        self,
        workspace_id: int,
        *,
        acting_user_id: str,
        repo_url: str | None = None,
        branch: str | None = None,
        deploy_key: str | Keep | None = KEEP,
    ) -> GitRepository:
        """Point the repository at another url and/or branch (None keeps a value) and change
        its deploy key (a string replaces it, stored encrypted under the newest key like
        :meth:`connect_repository`; None removes it; left out, it stays). The new remote was
        never synced: the sync status goes back to idle, last_sync and the error log are
        cleared. Raises RepositoryNotFound."""
        sealed = self._sealed(deploy_key, workspace_id)
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            row = await run_secret(
                self.q.git.update_git_repository_remote,
                conn,
                workspace_id=workspace_id,
                repo_url=repo_url,
                branch=branch,
                set_deploy_key=not isinstance(deploy_key, Keep),
                deploy_key=sealed,
            )
            return exactly_one(row, _missing(workspace_id))

    async def disconnect_repository(self, workspace_id: int, *, acting_user_id: str) -> None:
        """Remove the workspace's repository. Raises RepositoryNotFound."""
        delete = self.q.git.delete_git_repository_by_workspace
        await self.writing(acting_user_id).affected(
            _missing(workspace_id), delete, workspace_id=workspace_id
        )


__all__ = [
    "GitRepository",
    "GitService",
    "RepositoryAlreadyConnected",
    "RepositoryNotFound",
    "SyncStatus",
    "deploy_key_context",
]
