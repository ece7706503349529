"""The AI app builder's projects and their files, each scoped by the user who owns them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from plainsql import AsyncConn, AsyncDatabase, Queries
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import (
    ListProjectsByStatusRow,
    ListProjectWithFilesByIdRow,
    ProjectFileRow,
    ProjectRow,
)
from reference_apps.services.bounds import page_size as bounded_page_size
from reference_apps.services.errors import NotFound
from reference_apps.services.paging import InvalidCursor, Page, decode_cursor, page_of

Project = ProjectRow
ProjectFile = ProjectFileRow
# A project as listed: its columns and file_count.
ProjectListItem = ListProjectsByStatusRow
ProjectPage = Page[ProjectListItem]


class ProjectNotFound(NotFound):
    """No such project, or it belongs to another user."""


class ProjectFileNotFound(NotFound):
    """The project has no file at that path."""


# Hand-written: a tree built in Python from the rows of one LEFT JOIN (a project row repeated
# per file), not the shape of any query.
@dataclass(frozen=True, slots=True)
class ProjectWithFiles:
    project: Project
    files: tuple[ProjectFile, ...]  # in path order


def _with_files(rows: Sequence[ListProjectWithFilesByIdRow]) -> ProjectWithFiles:
    """The project of ``rows`` (the same in each) and the file each row carries."""
    first = rows[0]
    project = Project(
        id=first.id,
        user_id=first.user_id,
        name=first.name,
        description=first.description,
        status=first.status,
        preview_url=first.preview_url,
        sandbox_id=first.sandbox_id,
        created_at=first.created_at,
        updated_at=first.updated_at,
    )
    files: list[ProjectFile] = []
    for row in rows:
        if row.file_id is None:  # a project without files: one row, every file_* NULL
            continue
        # file_id (the primary key) is set, so the join matched a file and its other
        # columns, all NOT NULL in project_files, are set too.
        assert row.file_path is not None
        assert row.file_content is not None
        assert row.file_created_at is not None
        assert row.file_updated_at is not None
        files.append(
            ProjectFile(
                id=row.file_id,
                project_id=row.id,
                path=row.file_path,
                content=row.file_content,
                created_at=row.file_created_at,
                updated_at=row.file_updated_at,
            )
        )
    return ProjectWithFiles(project, tuple(files))


class ProjectsService:
    """Projects and their files. Reads return None (or nothing) for another user's project;
    writes to it raise :class:`ProjectNotFound`."""

    def __init__(self, db: AsyncDatabase, queries: Queries) -> None:
        self.db = db
        self.q = AsyncTypedQueries(queries)

    # -- projects -------------------------------------------------------------------------

    async def list_projects(self, user_id: str) -> list[Project]:
        """The user's projects, most recently updated first."""
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.projects.list_projects_by_user(conn, user_id=user_id)

    async def list_projects_page(
        self,
        user_id: str,
        *,
        status: str | None = None,
        after: str | None = None,
        page_size: int = 20,
    ) -> ProjectPage:
        """One page of the user's projects, most recently updated first, each with its
        ``file_count``; optionally only those whose status is ``status``. Keyset paging on
        (updated_at, id) (paging.py): a project updated while a walk is under way moves to
        the front, so that walk may miss it or see it again."""
        bounded_page_size(page_size, "page_size")
        kind = "projects" if status is None else "projects-by-status"
        start = decode_cursor(kind, after)
        try:
            before_id = None if start.id is None else UUID(start.id)
        except ValueError as exc:
            raise InvalidCursor(
                f"after is not a cursor of this list ({kind})", query_name=""
            ) from exc
        async with self.db.transaction(acting_user=user_id) as conn:
            if status is None:
                rows = await self.q.projects.list_projects_page(
                    conn,
                    user_id=user_id,
                    before_updated_at=start.created_at,
                    before_id=before_id,
                    page_size=page_size + 1,
                )
            else:
                rows = await self.q.projects.list_projects_by_status(
                    conn,
                    user_id=user_id,
                    status=status,
                    before_updated_at=start.created_at,
                    before_id=before_id,
                    page_size=page_size + 1,
                )
        return page_of(kind, rows, page_size, lambda r: (r.updated_at, str(r.id)))

    async def get_project(self, project_id: UUID, user_id: str) -> Project | None:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.projects.get_project_by_id(
                conn, project_id=project_id, user_id=user_id
            )

    async def get_project_with_files(
        self, project_id: UUID, user_id: str
    ) -> ProjectWithFiles | None:
        """The project and all its files, read by one statement (one consistent snapshot)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            rows = await self.q.projects.list_project_with_files_by_id(
                conn, project_id=project_id, user_id=user_id
            )
        return _with_files(rows) if rows else None

    async def create_project(self, user_id: str, name: str, description: str) -> Project:
        """A new project with its (idle, empty) agent state, both or neither."""
        async with self.db.transaction(acting_user=user_id) as conn:
            project = await self.q.projects.create_project(
                conn, user_id=user_id, name=name, description=description
            )
            await self.q.projects.create_agent_state(conn, project_id=project.id)
        return project

    async def update_project(
        self,
        project_id: UUID,
        user_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Project:
        """Replace the name and/or the description (None keeps the current value)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_project(
                conn, project_id=project_id, user_id=user_id, name=name, description=description
            )
        return self._found(row, project_id)

    async def set_status(self, project_id: UUID, user_id: str, status: str) -> Project:
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_project_status(
                conn, project_id=project_id, user_id=user_id, status=status
            )
        return self._found(row, project_id)

    async def set_preview(
        self, project_id: UUID, user_id: str, preview_url: str | None, sandbox_id: str | None
    ) -> Project:
        """Set (or clear, with None) the preview url and the sandbox id."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_project_preview(
                conn,
                project_id=project_id,
                user_id=user_id,
                preview_url=preview_url,
                sandbox_id=sandbox_id,
            )
        return self._found(row, project_id)

    async def delete_project(self, project_id: UUID, user_id: str) -> None:
        """Delete the project with its files and agent state."""
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.projects.delete_project(
                conn, project_id=project_id, user_id=user_id
            )
        if deleted == 0:
            raise ProjectNotFound(f"no project {project_id} for this user")

    # -- files ----------------------------------------------------------------------------

    async def get_file(self, project_id: UUID, user_id: str, path: str) -> ProjectFile | None:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.projects.get_project_file_by_path(
                conn, project_id=project_id, user_id=user_id, path=path
            )

    async def list_files(self, project_id: UUID, user_id: str) -> list[ProjectFile]:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.projects.list_project_files(
                conn, project_id=project_id, user_id=user_id
            )

    async def upsert_file(
        self, project_id: UUID, user_id: str, path: str, content: str
    ) -> ProjectFile:
        """Create the file at ``path`` or replace its content."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.upsert_project_file(
                conn, project_id=project_id, user_id=user_id, path=path, content=content
            )
        if row is None:
            raise ProjectNotFound(f"no project {project_id} for this user")
        return row

    async def upsert_files(self, project_id: UUID, user_id: str, files: Mapping[str, str]) -> int:
        """Write many files (path -> content) in ONE statement; returns how many were created
        or changed (a file that already has that content is left untouched)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            written = await self.q.projects.upsert_project_files(
                conn,
                project_id=project_id,
                user_id=user_id,
                paths=list(files.keys()),
                contents=list(files.values()),
            )
            # Nothing written is either "nothing to change" or "not the user's project";
            # only then does a second statement tell which.
            if written == 0 and files:
                await self._require_project(conn, project_id, user_id)
        return written

    async def delete_file(self, project_id: UUID, user_id: str, path: str) -> None:
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.projects.delete_project_file(
                conn, project_id=project_id, user_id=user_id, path=path
            )
            if deleted == 0:
                await self._require_project(conn, project_id, user_id)
                raise ProjectFileNotFound(f"project {project_id} has no file {path!r}")

    async def delete_files(self, project_id: UUID, user_id: str) -> int:
        """Delete every file of the project; returns how many there were."""
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.projects.delete_project_files(
                conn, project_id=project_id, user_id=user_id
            )
            if deleted == 0:
                await self._require_project(conn, project_id, user_id)
        return deleted

    # -- helpers --------------------------------------------------------------------------

    async def _require_project(self, conn: AsyncConn, project_id: UUID, user_id: str) -> None:
        row = await self.q.projects.get_project_by_id(conn, project_id=project_id, user_id=user_id)
        if row is None:
            raise ProjectNotFound(f"no project {project_id} for this user")

    @staticmethod
    def _found(row: Project | None, project_id: UUID) -> Project:
        if row is None:
            raise ProjectNotFound(f"no project {project_id} for this user")
        return row
