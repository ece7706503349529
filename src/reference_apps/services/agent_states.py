"""The AI app builder's agent state: one JSONB-heavy row per project, changed atomically.

Each write below is ONE SQL statement that derives the new value from the stored one
(``phases || ...``, ``jsonb_set``, an array merge), so N concurrent writers leave N changes.
The source application read the row, edited it in memory and wrote it back, which lost
concurrent updates. Reads and writes are scoped by the project's owner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NoReturn
from uuid import UUID

from plainsql import AsyncConn, AsyncDatabase, Queries
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import JSON, AgentStateRow, JSONParam
from reference_apps.services.bounds import json_object, json_objects, texts
from reference_apps.services.errors import NotFound
from reference_apps.services.projects import Project, ProjectNotFound

JSONObject = dict[str, JSON]


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


class AgentStatesService:
    """The agent state of a project. Reads return None for another user's project; writes to
    it raise :class:`ProjectNotFound` (or :class:`AgentStateNotFound` if it has no state)."""

    def __init__(self, db: AsyncDatabase, queries: Queries) -> None:
        self.db = db
        self.q = AsyncTypedQueries(queries)

    async def get(self, project_id: UUID, user_id: str) -> AgentState | None:
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.get_agent_state_by_project_id(
                conn, project_id=project_id, user_id=user_id
            )
        return None if row is None else _checked(row)

    async def upsert(
        self,
        project_id: UUID,
        user_id: str,
        *,
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
        :meth:`set_sandbox`, the phase with :meth:`set_current`, everything with
        :meth:`reset`; :meth:`replace` writes every field. ProjectNotFound for another user's
        project."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.upsert_agent_state_partial(
                conn,
                project_id=project_id,
                user_id=user_id,
                current_state=current_state,
                current_phase=current_phase,
                phases=None if phases is None else json_objects(phases, "phases"),
                sandbox_id=sandbox_id,
                preview_url=preview_url,
                generated_files=(
                    None if generated_files is None else texts(generated_files, "generated_files")
                ),
                conversation_history=(
                    None
                    if conversation_history is None
                    else json_objects(conversation_history, "conversation_history")
                ),
            )
        if row is None:
            raise ProjectNotFound(f"no project {project_id} for this user")
        return _checked(row)

    async def replace(
        self,
        project_id: UUID,
        user_id: str,
        *,
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
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.upsert_agent_state(
                conn,
                project_id=project_id,
                user_id=user_id,
                current_state=current_state,
                current_phase=current_phase,
                phases=json_objects(phases, "phases"),
                sandbox_id=sandbox_id,
                preview_url=preview_url,
                generated_files=texts(generated_files, "generated_files"),
                conversation_history=json_objects(conversation_history, "conversation_history"),
            )
        if row is None:
            raise ProjectNotFound(f"no project {project_id} for this user")
        return _checked(row)

    async def set_current(
        self, project_id: UUID, user_id: str, current_state: str, current_phase: int | None
    ) -> AgentState:
        """Set what the agent is doing and which phase it is on."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_agent_state_current(
                conn,
                project_id=project_id,
                user_id=user_id,
                current_state=current_state,
                current_phase=current_phase,
            )
            state = await self._found(conn, row, project_id, user_id)
        return state

    async def append_phase(
        self, project_id: UUID, user_id: str, phase: Mapping[str, JSONParam]
    ) -> int:
        """Append a phase (a JSON object) and make it the current one: ``current_phase``
        becomes its 0-based index (the number of phases before it), in the same statement.
        Returns the number of phases after it."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_agent_state_append_phase(
                conn, project_id=project_id, user_id=user_id, phase=json_object(phase, "phase")
            )
            if row is None:
                await self._raise_missing(conn, project_id, user_id)
        return row.phase_count

    async def complete_phase(self, project_id: UUID, user_id: str, index: int) -> AgentState:
        """Set ``"completed": true`` on phase ``index`` (0-based)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_agent_state_complete_phase(
                conn, project_id=project_id, user_id=user_id, phase_index=index
            )
            if row is None:
                await self._raise_missing(
                    conn,
                    project_id,
                    user_id,
                    PhaseNotFound(f"project {project_id} has no phase {index}"),
                )
        return _checked(row)

    async def add_generated_files(
        self, project_id: UUID, user_id: str, paths: Sequence[str]
    ) -> tuple[str, ...]:
        """Add the paths not yet listed, each once; returns the full list after the change."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_agent_state_add_generated_files(
                conn, project_id=project_id, user_id=user_id, paths=texts(paths, "paths")
            )
            if row is None:
                await self._raise_missing(conn, project_id, user_id)
        return tuple(row.generated_files)

    async def add_generated_file(
        self, project_id: UUID, user_id: str, path: str
    ) -> tuple[str, ...]:
        """Add one generated file unless it is listed already; returns the full list."""
        return await self.add_generated_files(project_id, user_id, [path])

    async def append_message(
        self, project_id: UUID, user_id: str, message: Mapping[str, JSONParam]
    ) -> int:
        """Append a message (a JSON object) to the conversation; returns the message count."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_agent_state_append_message(
                conn,
                project_id=project_id,
                user_id=user_id,
                message=json_object(message, "message"),
            )
            if row is None:
                await self._raise_missing(conn, project_id, user_id)
        return row.message_count

    async def set_sandbox(
        self, project_id: UUID, user_id: str, sandbox_id: str | None, preview_url: str | None
    ) -> AgentState:
        """Set (or clear, with None) the sandbox id and preview url."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_agent_state_sandbox(
                conn,
                project_id=project_id,
                user_id=user_id,
                sandbox_id=sandbox_id,
                preview_url=preview_url,
            )
            state = await self._found(conn, row, project_id, user_id)
        return state

    async def reset(self, project_id: UUID, user_id: str) -> AgentState:
        """Back to the defaults: idle, no phase, no phases, files, messages or sandbox."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.projects.update_agent_state_reset(
                conn, project_id=project_id, user_id=user_id
            )
            state = await self._found(conn, row, project_id, user_id)
        return state

    async def delete(self, project_id: UUID, user_id: str) -> None:
        """Delete the project's agent state alone (the project and its files stay; a later
        :meth:`upsert` creates a fresh one). ProjectNotFound or AgentStateNotFound."""
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.projects.delete_agent_state(
                conn, project_id=project_id, user_id=user_id
            )
            if deleted == 0:
                await self._raise_missing(conn, project_id, user_id)

    async def list_projects_with_last_phase_completed(self, user_id: str) -> list[Project]:
        """The user's projects whose last phase is marked completed."""
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.projects.list_projects_with_last_phase_completed(
                conn, user_id=user_id
            )

    # -- helpers --------------------------------------------------------------------------

    async def _found(
        self,
        conn: AsyncConn,
        row: AgentStateRow | None,
        project_id: UUID,
        user_id: str,
    ) -> AgentState:
        if row is None:
            await self._raise_missing(conn, project_id, user_id)
        return _checked(row)

    async def _raise_missing(
        self,
        conn: AsyncConn,
        project_id: UUID,
        user_id: str,
        otherwise: NotFound | None = None,
    ) -> NoReturn:
        """After a write matched no row: say why (same transaction, so a second statement).

        ProjectNotFound, else AgentStateNotFound, else ``otherwise``: the write's own
        condition (a phase index) was what failed."""
        project = await self.q.projects.get_project_by_id(
            conn, project_id=project_id, user_id=user_id
        )
        if project is None:
            raise ProjectNotFound(f"no project {project_id} for this user")
        state = await self.q.projects.get_agent_state_by_project_id(
            conn, project_id=project_id, user_id=user_id
        )
        if state is None or otherwise is None:
            raise AgentStateNotFound(f"project {project_id} has no agent state")
        raise otherwise
