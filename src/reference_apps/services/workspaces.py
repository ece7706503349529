"""Workspaces: one notes-publishing site per user, created, read, renamed and deleted.

Uniqueness (one workspace per user, one slug per site) is decided by the database: the
insert runs, and a ``UniqueViolation`` on ``workspaces_user_id_key`` or
``workspaces_slug_key`` becomes :class:`WorkspaceAlreadyExists` or :class:`SlugTaken`.
There is no check-then-insert, so two racing creates cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Mapping

from plainsql import AsyncDatabase, Queries
from plainsql.errors import InvalidInput, UniqueViolation, translate_constraint
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import WorkspaceRow
from reference_apps.services.errors import AlreadyExists, NotFound

DEFAULT_EMBED_DEPTH = 5
MAX_EMBED_DEPTH = 100  # CHECK workspaces_embed_depth_range


class Keep:
    """The type of :data:`KEEP`: "leave this value as it is" where None means "remove it"."""


KEEP = Keep()


class WorkspaceNotFound(NotFound):
    """No such workspace (or its owner is soft-deleted)."""


class OwnerNotFound(NotFound):
    """The user who would own the workspace does not exist or is soft-deleted."""


class WorkspaceAlreadyExists(AlreadyExists):
    """The user already has a workspace (one per user)."""


class SlugTaken(AlreadyExists):
    """Another workspace already uses this slug."""


_UNIQUE_ERRORS: Mapping[str, type[AlreadyExists]] = {
    "workspaces_user_id_key": WorkspaceAlreadyExists,
    "workspaces_slug_key": SlugTaken,
}


Workspace = WorkspaceRow
"""A workspace: the generated record of the ``workspaces`` table."""


class WorkspaceService:
    """Create, read, rename and delete workspaces; each method is one transaction."""

    def __init__(self, db: AsyncDatabase, queries: Queries) -> None:
        self.db = db
        self.q = AsyncTypedQueries(queries)

    async def create(
        self,
        *,
        user_id: str,
        slug: str,
        name: str,
        domain: str | None = None,
        embed_depth: int = DEFAULT_EMBED_DEPTH,
    ) -> Workspace:
        """The user's new workspace.

        Raises OwnerNotFound, WorkspaceAlreadyExists (the user has one) or SlugTaken.
        """
        try:
            async with self.db.transaction(acting_user=user_id) as conn:
                row = await self.q.workspaces.create_workspace(
                    conn,
                    user_id=user_id,
                    slug=slug,
                    name=name,
                    domain=domain,
                    embed_depth=embed_depth,
                )
        except UniqueViolation as exc:
            raise translate_constraint(exc, _UNIQUE_ERRORS) from exc
        if row is None:
            raise OwnerNotFound(f"no user {user_id!r} to own a workspace")
        return row

    async def get_by_slug(self, slug: str, *, acting_user_id: str) -> Workspace | None:
        """The acting user's workspace if it has this slug (another user's is not visible)."""
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            return await self.q.workspaces.get_workspace_by_slug(conn, slug=slug)

    async def get_by_user(self, user_id: str) -> Workspace | None:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.workspaces.get_workspace_by_user_id(conn, user_id=user_id)

    async def rename(self, *, user_id: str, name: str, slug: str | None = None) -> Workspace:
        """The user's workspace with its new name (and slug, when given).

        Raises WorkspaceNotFound or SlugTaken.
        """
        try:
            async with self.db.transaction(acting_user=user_id) as conn:
                row = await self.q.workspaces.update_workspace_name(
                    conn, user_id=user_id, name=name, slug=slug
                )
        except UniqueViolation as exc:
            raise translate_constraint(exc, _UNIQUE_ERRORS) from exc
        if row is None:
            raise WorkspaceNotFound(f"user {user_id!r} has no workspace")
        return row

    async def update_settings(
        self,
        *,
        user_id: str,
        domain: str | Keep | None = KEEP,
        embed_depth: int | None = None,
    ) -> Workspace:
        """The user's workspace with its custom ``domain`` (a string sets it, None removes it,
        leaving it out keeps it) and/or ``embed_depth`` (None keeps it; 0 to 100, else
        InvalidInput) changed. Raises WorkspaceNotFound."""
        if embed_depth is not None and not 0 <= embed_depth <= MAX_EMBED_DEPTH:
            raise InvalidInput(
                f"embed_depth must be between 0 and {MAX_EMBED_DEPTH}, got {embed_depth}",
                query_name="",
            )
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.workspaces.update_workspace_settings(
                conn,
                user_id=user_id,
                domain=None if isinstance(domain, Keep) else domain,
                set_domain=not isinstance(domain, Keep),
                embed_depth=embed_depth,
            )
        if row is None:
            raise WorkspaceNotFound(f"user {user_id!r} has no workspace")
        return row

    async def delete(self, *, user_id: str) -> None:
        """Delete the user's workspace with its pages, repository and deployments.

        Raises WorkspaceNotFound.
        """
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.workspaces.delete_workspace_by_user_id(conn, user_id=user_id)
        if deleted == 0:
            raise WorkspaceNotFound(f"user {user_id!r} has no workspace")


__all__ = [
    "DEFAULT_EMBED_DEPTH",
    "OwnerNotFound",
    "SlugTaken",
    "Workspace",
    "WorkspaceAlreadyExists",
    "WorkspaceNotFound",
    "WorkspaceService",
]
