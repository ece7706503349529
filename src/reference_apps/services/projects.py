"""The AI app builder's projects and their files, each scoped by the user who owns them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict
from uuid import UUID

from plainsql import AsyncConn, KeysetList, Page, exactly_one
from reference_apps.db.records import (
    ListProjectsByStatusRow,
    ListProjectWithFilesByIdRow,
    ProjectFileRow,
    ProjectRow,
)
from reference_apps.services.base import UNSET, Service, Unset, whole
from reference_apps.services.errors import NotFound, TooManyRows

Project = ProjectRow
ProjectFile = ProjectFileRow
# A project as listed: its columns and file_count.
ProjectListItem = ListProjectsByStatusRow
ProjectPage = Page[ProjectListItem]

MAX_FILES_AT_ONCE = 10_000
"""The most files :meth:`ProjectsService.get_project_with_files` returns (one snapshot of the
whole project); a larger project is :class:`TooManyRows`: read its files with ``list_files``,
a page at a time. The query asks for one more (``LIMIT 10001``)."""
DEFAULT_FILES_PAGE_SIZE = 100


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


def _missing(project_id: UUID) -> ProjectNotFound:
    return ProjectNotFound(f"no project {project_id} for this user")


def _project_key(row: ProjectListItem) -> tuple[datetime, UUID]:
    return (row.updated_at, row.id)


# Keyset paging on (updated_at, id): a project updated while a walk is under way moves to the
# front, so that walk may miss it or see it again.
class BeforeUpdated(TypedDict):
    """The cursor arguments of the project lists, most recently updated first."""

    before_updated_at: datetime | None
    before_id: UUID | None
    page_size: int


class _AfterPath(TypedDict):
    """The cursor arguments of a project's files: the path is unique in its project, so it is
    the whole key."""

    after_path: str | None
    page_size: int


PROJECTS = KeysetList("projects", _project_key, BeforeUpdated)
PROJECTS_BY_STATUS = KeysetList("projects-by-status", _project_key, BeforeUpdated)
FILES = KeysetList[ProjectFile, None, str, _AfterPath](
    "project-files", lambda f: (None, f.path), _AfterPath
)


class ProjectsService(Service):
    """Projects and their files. Reads return None (or nothing) for another user's project;
    writes to it raise :class:`ProjectNotFound`."""

    # -- projects -------------------------------------------------------------------------

    async def list_projects_page(
        self,
        *,
        acting_user_id: str,
        status: str | None = None,
        after: str | None = None,
        page_size: int = 20,
    ) -> ProjectPage:
        """One page of the user's projects, most recently updated first, each with its
        ``file_count``; optionally only those whose status is ``status``."""
        reading, q = self.reading(acting_user_id), self.q.projects
        if status is None:
            page = PROJECTS.request(after, page_size)
            rows = await reading.run(q.list_projects_page, user_id=acting_user_id, **page.arguments)
        else:
            page = PROJECTS_BY_STATUS.request(after, page_size)
            rows = await reading.run(
                q.list_projects_by_status, user_id=acting_user_id, status=status, **page.arguments
            )
        return page.of(rows)

    async def get_project(self, project_id: UUID, *, acting_user_id: str) -> Project | None:
        get = self.q.projects.get_project_by_id
        return await self.reading(acting_user_id).run(
            get, project_id=project_id, user_id=acting_user_id
        )

    async def get_project_with_files(
        self, project_id: UUID, *, acting_user_id: str
    ) -> ProjectWithFiles | None:
        """The project and all its files, read by one statement (one consistent snapshot).

        A project of more than :data:`MAX_FILES_AT_ONCE` files is :class:`TooManyRows`, never
        returned cut short: read its files a page at a time with :meth:`list_files`."""
        rows = await self.reading(acting_user_id).run(
            self.q.projects.list_project_with_files_by_id,
            project_id=project_id,
            user_id=acting_user_id,
        )
        too_many = TooManyRows(
            f"project {project_id} has more than {MAX_FILES_AT_ONCE:,} files: "
            "read them a page at a time (list_files)"
        )
        return _with_files(whole(rows, MAX_FILES_AT_ONCE, too_many)) if rows else None

    async def create_project(self, name: str, description: str, *, acting_user_id: str) -> Project:
        """A new project with its (idle, empty) agent state, both or neither."""
        q = self.q.projects
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            project = await q.create_project(
                conn, user_id=acting_user_id, name=name, description=description
            )
            await q.create_agent_state(conn, project_id=project.id)
        return project

    async def update_project(
        self,
        project_id: UUID,
        *,
        acting_user_id: str,
        name: str | None = None,
        description: str | None = None,
    ) -> Project:
        """Replace the name and/or the description (None keeps the current value)."""
        return await self.writing(acting_user_id).one(
            _missing(project_id),
            self.q.projects.update_project,
            project_id=project_id,
            user_id=acting_user_id,
            name=name,
            description=description,
        )

    async def set_status(self, project_id: UUID, status: str, *, acting_user_id: str) -> Project:
        update = self.q.projects.update_project_status
        return await self.writing(acting_user_id).one(
            _missing(project_id),
            update,
            project_id=project_id,
            user_id=acting_user_id,
            status=status,
        )

    async def set_preview(
        self,
        project_id: UUID,
        *,
        sandbox_id: str | Unset | None = UNSET,
        preview_url: str | None,
        acting_user_id: str,
    ) -> Project:
        """Set (or clear, with None) the preview url; the sandbox id too only when
        ``sandbox_id`` is given (None clears it), else it stays as it is."""
        return await self.writing(acting_user_id).one(
            _missing(project_id),
            self.q.projects.update_project_preview,
            project_id=project_id,
            user_id=acting_user_id,
            set_sandbox=sandbox_id is not UNSET,
            sandbox_id=None if sandbox_id is UNSET else sandbox_id,
            preview_url=preview_url,
        )

    async def delete_project(self, project_id: UUID, *, acting_user_id: str) -> None:
        """Delete the project with its files and agent state."""
        delete = self.q.projects.delete_project
        await self.writing(acting_user_id).affected(
            _missing(project_id), delete, project_id=project_id, user_id=acting_user_id
        )

    # -- files ----------------------------------------------------------------------------

    async def get_file(
        self, project_id: UUID, path: str, *, acting_user_id: str
    ) -> ProjectFile | None:
        get = self.q.projects.get_project_file_by_path
        return await self.reading(acting_user_id).run(
            get, project_id=project_id, user_id=acting_user_id, path=path
        )

    async def list_files(
        self,
        project_id: UUID,
        *,
        acting_user_id: str,
        after: str | None = None,
        page_size: int = DEFAULT_FILES_PAGE_SIZE,
    ) -> Page[ProjectFile]:
        """One page of the project's files, in path order (none if it is not the user's);
        ``after`` is the previous page's ``next_cursor``."""
        page = FILES.request(after, page_size)
        list_files = self.q.projects.list_project_files
        rows = await self.reading(acting_user_id).run(
            list_files, project_id=project_id, user_id=acting_user_id, **page.arguments
        )
        return page.of(rows)

    async def upsert_file(
        self, project_id: UUID, path: str, content: str, *, acting_user_id: str
    ) -> ProjectFile:
        """Create the file at ``path`` or replace its content."""
        return await self.writing(acting_user_id).one(
            _missing(project_id),
            self.q.projects.upsert_project_file,
            project_id=project_id,
            user_id=acting_user_id,
            path=path,
            content=content,
        )

    async def upsert_files(
        self, project_id: UUID, files: Mapping[str, str], *, acting_user_id: str
    ) -> int:
        """Write many files (path -> content) in ONE statement; returns how many were created
        or changed (a file that already has that content is left untouched)."""
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            written = await self.q.projects.upsert_project_files(
                conn,
                project_id=project_id,
                user_id=acting_user_id,
                paths=list(files.keys()),
                contents=list(files.values()),
            )
            # Nothing written is either "nothing to change" or "not the user's project";
            # only then does a second statement tell which.
            if written == 0 and files:
                await self._require_project(conn, project_id, acting_user_id)
        return written

    async def delete_file(self, project_id: UUID, path: str, *, acting_user_id: str) -> None:
        async def why(conn: AsyncConn) -> NotFound:
            await self._require_project(conn, project_id, acting_user_id)
            return ProjectFileNotFound(f"project {project_id} has no file {path!r}")

        delete = self.q.projects.delete_project_file
        await self.writing(acting_user_id).affected(
            why, delete, project_id=project_id, user_id=acting_user_id, path=path
        )

    async def delete_files(self, project_id: UUID, *, acting_user_id: str) -> int:
        """Delete every file of the project; returns how many there were."""
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            deleted = await self.q.projects.delete_project_files(
                conn, project_id=project_id, user_id=acting_user_id
            )
            if deleted == 0:
                await self._require_project(conn, project_id, acting_user_id)
        return deleted

    # -- helpers --------------------------------------------------------------------------

    async def _require_project(self, conn: AsyncConn, project_id: UUID, user_id: str) -> None:
        get = self.q.projects.get_project_by_id
        exactly_one(await get(conn, project_id=project_id, user_id=user_id), _missing(project_id))
