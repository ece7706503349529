"""The AI app builder's agent state: one JSONB-heavy row per project, changed atomically.

Each write below is ONE SQL statement that derives the new value from the stored one
(``phases || ...``, ``jsonb_set``, an array merge), so N concurrent writers leave N changes.
The source application read the row, edited it in memory and wrote it back, which lost
concurrent updates. Reads and writes are scoped by the project's owner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from uuid import UUID

from plainsql import AsyncConn, KeysetList, Page
from reference_apps.db.records import JSON, AgentStateRow, JSONParam
from reference_apps.services.base import Service
from reference_apps.services.bounds import json_object, json_objects, texts
from reference_apps.services.errors import NotFound
from reference_apps.services.projects import BeforeUpdated, Project, ProjectNotFound

JSONObject = dict[str, JSON]


# Most recently updated first, as the other project lists (services.projects).
COMPLETED_PROJECTS = KeysetList[Project, datetime, UUID, BeforeUpdated](
    "projects-with-last-phase-completed", lambda p: (p.updated_at, p.id), BeforeUpdated
)


class AgentStateNotFound(NotFound):
    """The user's project exists but has no agent state row."""


class PhaseNotFound(NotFound):
    """The agent state has no phase at that index."""


AgentState = AgentStateRow
"""An agent state: the generated record. ``phases`` and ``conversation_history`` are JSON
arrays of objects (the table's CHECKs keep them arrays, this service writes only objects, and
every read checks it: see :func:`_checked`); narrow an element with ``isinstance(x, dict)``."""


def _objects(value: JSON, column: str) -> None:
    """Refuse a value that is not a JSON array of objects (written past this service)."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TypeError(f"agent_states.{column} is not a JSON array of objects")


def _checked(row: AgentStateRow) -> AgentState:
    _objects(row.phases, "phases")
    _objects(row.conversation_history, "conversation_history")
    return row


def _json_objects(values: object | None, name: str) -> list[dict[str, JSONParam]] | None:
    return None if values is None else json_objects(values, name)


class AgentStatesService(Service):
    """The agent state of a project. Reads return None for another user's project; writes to
    it raise :class:`ProjectNotFound` (or :class:`AgentStateNotFound` if it has no state)."""

    async def get(self, project_id: UUID, *, acting_user_id: str) -> AgentState | None:
        row = await self.reading(acting_user_id).run(
            self.q.projects.get_agent_state_by_project_id,
            project_id=project_id,
            user_id=acting_user_id,
        )
        return None if row is None else _checked(row)

    async def upsert(
        self,
        project_id: UUID,
        *,
        acting_user_id: str,
        current_state: str | None = None,
        current_phase: int | None = None,
        phases: Sequence[Mapping[str, JSONParam]] | None = None,
        sandbox_id: str | None = None,
        preview_url: str | None = None,
        generated_files: Sequence[str] | None = None,
        conversation_history: Sequence[Mapping[str, JSONParam]] | None = None,
    ) -> AgentState:
        """A partial update, creating the state when missing, in one statement.

        Semantics: a field given (not None) replaces the stored value; a field left out (None)
        keeps it, and a state created here takes the column's default for it (idle, no phase,
        empty lists, no sandbox). None therefore never clears a value: clear the sandbox with
        :meth:`set_sandbox`, the phase with :meth:`set_current`, the run with
        :meth:`reset`; :meth:`replace` writes every field. ProjectNotFound for another user's
        project."""
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id),
            self.q.projects.upsert_agent_state_partial,
            project_id=project_id,
            user_id=acting_user_id,
            current_state=current_state,
            current_phase=current_phase,
            phases=_json_objects(phases, "phases"),
            sandbox_id=sandbox_id,
            preview_url=preview_url,
            generated_files=None
            if generated_files is None
            else texts(generated_files, "generated_files"),
            conversation_history=_json_objects(conversation_history, "conversation_history"),
        )
        return _checked(row)

    async def replace(
        self,
        project_id: UUID,
        *,
        acting_user_id: str,
        current_state: str = "idle",
        current_phase: int | None = None,
        phases: Sequence[Mapping[str, JSONParam]] = (),
        sandbox_id: str | None = None,
        preview_url: str | None = None,
        generated_files: Sequence[str] = (),
        conversation_history: Sequence[Mapping[str, JSONParam]] = (),
    ) -> AgentState:
        """Replace the whole state (or create it): every field not given takes its default.
        For restoring a saved state; :meth:`upsert` is the partial update."""
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id),
            self.q.projects.upsert_agent_state,
            project_id=project_id,
            user_id=acting_user_id,
            current_state=current_state,
            current_phase=current_phase,
            phases=json_objects(phases, "phases"),
            sandbox_id=sandbox_id,
            preview_url=preview_url,
            generated_files=texts(generated_files, "generated_files"),
            conversation_history=json_objects(conversation_history, "conversation_history"),
        )
        return _checked(row)

    async def set_current(
        self,
        project_id: UUID,
        current_state: str,
        current_phase: int | None,
        *,
        acting_user_id: str,
    ) -> AgentState:
        """Set what the agent is doing and which phase it is on."""
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id),
            self.q.projects.update_agent_state_current,
            project_id=project_id,
            user_id=acting_user_id,
            current_state=current_state,
            current_phase=current_phase,
        )
        return _checked(row)

    async def append_phase(
        self, project_id: UUID, phase: Mapping[str, JSONParam], *, acting_user_id: str
    ) -> int:
        """Append a phase (a JSON object) and make it the current one: ``current_phase``
        becomes its 0-based index (the number of phases before it), in the same statement.
        Returns the number of phases after it."""
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id),
            self.q.projects.update_agent_state_append_phase,
            project_id=project_id,
            user_id=acting_user_id,
            phase=json_object(phase, "phase"),
        )
        return row.phase_count

    async def complete_phase(
        self, project_id: UUID, index: int, *, acting_user_id: str
    ) -> AgentState:
        """Set ``"completed": true`` on phase ``index`` (0-based)."""
        missing = PhaseNotFound(f"project {project_id} has no phase {index}")
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id, missing),
            self.q.projects.update_agent_state_complete_phase,
            project_id=project_id,
            user_id=acting_user_id,
            phase_index=index,
        )
        return _checked(row)

    async def add_generated_files(
        self, project_id: UUID, paths: Sequence[str], *, acting_user_id: str
    ) -> tuple[str, ...]:
        """Add the paths not yet listed, each once; returns the full list after the change."""
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id),
            self.q.projects.update_agent_state_add_generated_files,
            project_id=project_id,
            user_id=acting_user_id,
            paths=texts(paths, "paths"),
        )
        return tuple(row.generated_files)

    async def add_generated_file(
        self, project_id: UUID, path: str, *, acting_user_id: str
    ) -> tuple[str, ...]:
        """Add one generated file unless it is listed already; returns the full list."""
        return await self.add_generated_files(project_id, [path], acting_user_id=acting_user_id)

    async def append_message(
        self, project_id: UUID, message: Mapping[str, JSONParam], *, acting_user_id: str
    ) -> int:
        """Append a message (a JSON object) to the conversation; returns the message count."""
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id),
            self.q.projects.update_agent_state_append_message,
            project_id=project_id,
            user_id=acting_user_id,
            message=json_object(message, "message"),
        )
        return row.message_count

    async def set_sandbox(
        self,
        project_id: UUID,
        *,
        sandbox_id: str | None,
        preview_url: str | None,
        acting_user_id: str,
    ) -> AgentState:
        """Set (or clear, with None) the sandbox id and the preview url."""
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id),
            self.q.projects.update_agent_state_sandbox,
            project_id=project_id,
            user_id=acting_user_id,
            sandbox_id=sandbox_id,
            preview_url=preview_url,
        )
        return _checked(row)

    async def reset(self, project_id: UUID, *, acting_user_id: str) -> AgentState:
        """Reset the run: idle, no current phase, no phases, no generated files. The
        conversation history, the sandbox and the preview stay (the app builder's reset)."""
        row = await self.writing(acting_user_id).one(
            self._why(project_id, acting_user_id),
            self.q.projects.update_agent_state_reset,
            project_id=project_id,
            user_id=acting_user_id,
        )
        return _checked(row)

    async def delete(self, project_id: UUID, *, acting_user_id: str) -> None:
        """Delete the project's agent state alone (the project and its files stay; a later
        :meth:`upsert` creates a fresh one). ProjectNotFound or AgentStateNotFound."""
        await self.writing(acting_user_id).affected(
            self._why(project_id, acting_user_id),
            self.q.projects.delete_agent_state,
            project_id=project_id,
            user_id=acting_user_id,
        )

    async def list_projects_with_last_phase_completed(
        self, *, acting_user_id: str, after: str | None = None, page_size: int = 20
    ) -> Page[Project]:
        """One page of the user's projects whose last phase is marked completed, most
        recently updated first; ``after`` is the previous page's ``next_cursor``."""
        page = COMPLETED_PROJECTS.request(after, page_size)
        list_projects = self.q.projects.list_projects_with_last_phase_completed
        rows = await self.reading(acting_user_id).run(
            list_projects, user_id=acting_user_id, **page.arguments
        )
        return page.of(rows)

    # -- helpers --------------------------------------------------------------------------

    def _why(
        self, project_id: UUID, user_id: str, otherwise: NotFound | None = None
    ) -> Callable[[AsyncConn], Awaitable[NotFound]]:
        """Why a write matched no row, read in its unit (a second statement):
        ProjectNotFound, else AgentStateNotFound, else ``otherwise``: the write's own
        condition (a phase index) was what failed."""

        async def why(conn: AsyncConn) -> NotFound:
            q = self.q.projects
            if await q.get_project_by_id(conn, project_id=project_id, user_id=user_id) is None:
                return ProjectNotFound(f"no project {project_id} for this user")
            get_state = q.get_agent_state_by_project_id
            state = await get_state(conn, project_id=project_id, user_id=user_id)
            if state is None or otherwise is None:
                return AgentStateNotFound(f"project {project_id} has no agent state")
            return otherwise

        return why
