"""Workspaces: one notes-publishing site per user, created, read, renamed and deleted.

Uniqueness (one workspace per user, one slug per site) is decided by the database: the
insert runs, and a ``UniqueViolation`` on ``workspaces_user_id_key`` or
``workspaces_slug_key`` becomes :class:`WorkspaceAlreadyExists` or :class:`SlugTaken`.
There is no check-then-insert, so two racing creates cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from plainsql.errors import InvalidInput, PermissionDenied
from reference_apps.db.records import WorkspaceRow
from reference_apps.services.base import Service
from reference_apps.services.errors import AlreadyExists, NotFound, SlugTaken

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


class DomainTaken(AlreadyExists):
    """Another workspace has this custom domain (compared case-insensitively)."""


Workspace = WorkspaceRow
"""A workspace: the generated record of the ``workspaces`` table."""


def _missing(user_id: str) -> WorkspaceNotFound:
    return WorkspaceNotFound(f"user {user_id!r} has no workspace")


@contextmanager
def of_acting_users_workspace(workspace_id: int) -> Iterator[None]:
    """Around a write of a row of workspace ``workspace_id`` (its repository, a deployment):
    the row-level security policy's refusal (the workspace is not the acting user's, or there
    is none) becomes WorkspaceNotFound, the refusal its cause."""
    try:
        yield
    except PermissionDenied as exc:
        raise WorkspaceNotFound(f"no workspace {workspace_id} of the acting user") from exc


class WorkspaceService(
    Service,
    constraint_errors={
        "workspaces_user_id_key": WorkspaceAlreadyExists,
        "workspaces_slug_key": SlugTaken,
        "workspaces_domain_key": DomainTaken,
    },
):
    """Create, read, rename and delete the acting user's workspace; each method is one
    transaction."""

    async def create(
        self,
        *,
        acting_user_id: str,
        slug: str,
        name: str,
        domain: str | None = None,
        embed_depth: int = DEFAULT_EMBED_DEPTH,
    ) -> Workspace:
        """The acting user's new workspace (its ``domain`` stored lowercase, as every domain).

        Raises OwnerNotFound, WorkspaceAlreadyExists (the user has one), SlugTaken or
        DomainTaken (another workspace has the domain, in any case).
        """
        return await self.writing(acting_user_id).one(
            OwnerNotFound(f"no user {acting_user_id!r} to own a workspace"),
            self.q.workspaces.create_workspace,
            user_id=acting_user_id,
            slug=slug,
            name=name,
            domain=domain,
            embed_depth=embed_depth,
        )

    async def get_by_slug(self, slug: str, *, acting_user_id: str) -> Workspace | None:
        """The acting user's workspace if it has this slug (another user's is not visible)."""
        get = self.q.workspaces.get_workspace_by_slug
        return await self.reading(acting_user_id).run(get, slug=slug)

    async def get_by_user(self, *, acting_user_id: str) -> Workspace | None:
        """The acting user's workspace, or None."""
        get = self.q.workspaces.get_workspace_by_user_id
        return await self.reading(acting_user_id).run(get, user_id=acting_user_id)

    async def rename(self, *, acting_user_id: str, name: str, slug: str | None = None) -> Workspace:
        """The user's workspace with its new name (and slug, when given).

        Raises WorkspaceNotFound or SlugTaken.
        """
        rename = self.q.workspaces.update_workspace_name
        return await self.writing(acting_user_id).one(
            _missing(acting_user_id), rename, user_id=acting_user_id, name=name, slug=slug
        )

    async def update_settings(
        self,
        *,
        acting_user_id: str,
        domain: str | Keep | None = KEEP,
        embed_depth: int | None = None,
    ) -> Workspace:
        """The user's workspace with its custom ``domain`` (a string sets it, stored lowercase;
        None removes it; leaving it out keeps it) and/or ``embed_depth`` (None keeps it; 0 to
        100, else InvalidInput) changed. Raises WorkspaceNotFound or DomainTaken (another
        workspace has the domain, in any case)."""
        if embed_depth is not None and not 0 <= embed_depth <= MAX_EMBED_DEPTH:
            raise InvalidInput(
                f"embed_depth must be between 0 and {MAX_EMBED_DEPTH}, got {embed_depth}",
                query_name="",
            )
        return await self.writing(acting_user_id).one(
            _missing(acting_user_id),
            self.q.workspaces.update_workspace_settings,
            user_id=acting_user_id,
            domain=None if isinstance(domain, Keep) else domain,
            set_domain=not isinstance(domain, Keep),
            embed_depth=embed_depth,
        )

    async def delete(self, *, acting_user_id: str) -> None:
        """Delete the user's workspace with its pages, repository and deployments.

        Raises WorkspaceNotFound.
        """
        delete = self.q.workspaces.delete_workspace_by_user_id
        await self.writing(acting_user_id).affected(
            _missing(acting_user_id), delete, user_id=acting_user_id
        )


__all__ = [
    "DEFAULT_EMBED_DEPTH",
    "DomainTaken",
    "OwnerNotFound",
    "SlugTaken",
    "Workspace",
    "WorkspaceAlreadyExists",
    "WorkspaceNotFound",
    "WorkspaceService",
]
