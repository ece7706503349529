"""AgentStatesService: every write one atomic statement, concurrent writers lose nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase, Settings, open_async_pool
from plainsql.errors import InvalidInput
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import JSON
from reference_apps.services.agent_states import (
    AgentStateNotFound,
    AgentStatesService,
    PhaseNotFound,
)
from reference_apps.services.projects import Project, ProjectNotFound, ProjectsService

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]
WORKERS = 8


def objects(value: JSON) -> list[dict[str, JSON]]:
    """A JSON array of objects, narrowed for the assertions (the service checks it on read)."""
    assert isinstance(value, list)
    return [item for item in value if isinstance(item, dict)]


@pytest.fixture
def projects(
    users: None,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> ProjectsService:
    return ProjectsService(plainsql_async_db, typed_queries)


@pytest.fixture
def states(
    users: None,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> AgentStatesService:
    return AgentStatesService(plainsql_async_db, typed_queries)


@pytest.fixture
async def project(projects: ProjectsService) -> Project:
    return await projects.create_project("builder", "an app", acting_user_id=ALICE)


@pytest.fixture
async def wide_db(plainsql_settings: Settings) -> AsyncIterator[AsyncDatabase]:
    """One open connection per worker, so the workers really run side by side."""
    settings = replace(plainsql_settings, pool_min_size=WORKERS, pool_max_size=WORKERS)
    async with open_async_pool(settings) as pool:
        yield AsyncDatabase(pool, settings)


async def test_get_is_scoped_by_user(states: AgentStatesService, project: Project) -> None:
    state = await states.get(project.id, acting_user_id=ALICE)
    assert state is not None
    assert state.project_id == project.id
    assert await states.get(project.id, acting_user_id=BOB) is None
    assert await states.get(uuid.uuid4(), acting_user_id=ALICE) is None


async def test_replace_replaces_the_whole_state(
    states: AgentStatesService, project: Project
) -> None:
    await states.append_phase(project.id, {"name": "old"}, acting_user_id=ALICE)
    state = await states.replace(
        project.id,
        current_state="coding",
        current_phase=1,
        phases=[{"name": "plan", "completed": True}, {"name": "build"}],
        sandbox_id="sbx",
        preview_url="https://preview.example",
        generated_files=["a.ts", "b.ts"],
        conversation_history=[{"role": "user", "content": "hi"}],
        acting_user_id=ALICE,
    )

    assert state.current_state == "coding"
    assert state.current_phase == 1
    assert state.phases == [{"name": "plan", "completed": True}, {"name": "build"}]
    assert state.generated_files == ["a.ts", "b.ts"]
    assert state.conversation_history == [{"role": "user", "content": "hi"}]
    assert (state.sandbox_id, state.preview_url) == ("sbx", "https://preview.example")
    assert await states.get(project.id, acting_user_id=ALICE) == state


async def test_upsert_creates_a_missing_state(
    states: AgentStatesService, project: Project, plainsql_conn: Conn
) -> None:
    plainsql_conn.execute("DELETE FROM agent_states WHERE project_id = %s", (project.id,))
    plainsql_conn.commit()
    state = await states.upsert(project.id, current_state="restored", acting_user_id=ALICE)
    assert state.current_state == "restored"
    assert state.phases == []


async def test_upsert_into_another_users_project_is_refused(
    states: AgentStatesService, project: Project
) -> None:
    with pytest.raises(ProjectNotFound):
        await states.upsert(project.id, current_state="hijacked", acting_user_id=BOB)
    state = await states.get(project.id, acting_user_id=ALICE)
    assert state is not None
    assert state.current_state == "idle"


async def test_set_current_state_and_phase(states: AgentStatesService, project: Project) -> None:
    state = await states.set_current(project.id, "generating", 2, acting_user_id=ALICE)
    assert (state.current_state, state.current_phase) == ("generating", 2)
    state = await states.set_current(project.id, "idle", None, acting_user_id=ALICE)
    assert (state.current_state, state.current_phase) == ("idle", None)
    with pytest.raises(ProjectNotFound):
        await states.set_current(project.id, "x", 0, acting_user_id=BOB)


async def test_append_and_complete_phases(states: AgentStatesService, project: Project) -> None:
    assert (
        await states.append_phase(
            project.id, {"name": "plan", "completed": False}, acting_user_id=ALICE
        )
        == 1
    )
    assert (
        await states.append_phase(
            project.id, {"name": "build", "files": ["a"]}, acting_user_id=ALICE
        )
        == 2
    )

    state = await states.complete_phase(project.id, 1, acting_user_id=ALICE)
    assert state.phases == [
        {"name": "plan", "completed": False},
        {"name": "build", "files": ["a"], "completed": True},
    ]
    state = await states.complete_phase(project.id, 0, acting_user_id=ALICE)
    assert objects(state.phases)[0] == {"name": "plan", "completed": True}


@pytest.mark.parametrize("index", [2, -1, 100])
async def test_completing_a_missing_phase_is_phase_not_found(
    states: AgentStatesService, project: Project, index: int
) -> None:
    await states.append_phase(project.id, {"name": "a"}, acting_user_id=ALICE)
    await states.append_phase(project.id, {"name": "b"}, acting_user_id=ALICE)
    with pytest.raises(PhaseNotFound):
        await states.complete_phase(project.id, index, acting_user_id=ALICE)
    state = await states.get(project.id, acting_user_id=ALICE)
    assert state is not None
    assert state.phases == [{"name": "a"}, {"name": "b"}]


async def test_phase_writes_to_another_users_project_are_refused(
    states: AgentStatesService, project: Project
) -> None:
    await states.append_phase(project.id, {"name": "a"}, acting_user_id=ALICE)
    with pytest.raises(ProjectNotFound):
        await states.append_phase(project.id, {"name": "evil"}, acting_user_id=BOB)
    with pytest.raises(ProjectNotFound):
        await states.complete_phase(project.id, 0, acting_user_id=BOB)
    state = await states.get(project.id, acting_user_id=ALICE)
    assert state is not None
    assert state.phases == [{"name": "a"}]


async def test_a_project_without_state_is_agent_state_not_found(
    states: AgentStatesService, project: Project, plainsql_conn: Conn
) -> None:
    plainsql_conn.execute("DELETE FROM agent_states WHERE project_id = %s", (project.id,))
    plainsql_conn.commit()
    with pytest.raises(AgentStateNotFound):
        await states.append_phase(project.id, {"name": "a"}, acting_user_id=ALICE)
    with pytest.raises(AgentStateNotFound):
        await states.reset(project.id, acting_user_id=ALICE)
    with pytest.raises(ProjectNotFound):
        await states.append_phase(uuid.uuid4(), {"name": "a"}, acting_user_id=ALICE)


async def test_a_phase_written_past_the_service_that_is_no_object_is_refused_on_read(
    states: AgentStatesService, project: Project, plainsql_conn: Conn
) -> None:
    """The record promises a tuple of objects: a stray value is an error, not a wrong type."""
    plainsql_conn.execute(
        """UPDATE agent_states SET phases = '[{"name": "a"}, 42]' WHERE project_id = %s""",
        (project.id,),
    )
    plainsql_conn.commit()
    with pytest.raises(TypeError, match=r"agent_states\.phases"):
        await states.get(project.id, acting_user_id=ALICE)


async def test_generated_files_are_listed_once_in_first_seen_order(
    states: AgentStatesService, project: Project
) -> None:
    assert await states.add_generated_file(project.id, "b.ts", acting_user_id=ALICE) == ("b.ts",)
    assert await states.add_generated_file(project.id, "b.ts", acting_user_id=ALICE) == ("b.ts",)
    files = await states.add_generated_files(
        project.id, ["a.ts", "b.ts", "c.ts", "a.ts"], acting_user_id=ALICE
    )
    assert files == ("b.ts", "a.ts", "c.ts")
    with pytest.raises(ProjectNotFound):
        await states.add_generated_file(project.id, "evil.ts", acting_user_id=BOB)


async def test_append_message(states: AgentStatesService, project: Project) -> None:
    assert (
        await states.append_message(
            project.id, {"role": "user", "content": "hi"}, acting_user_id=ALICE
        )
        == 1
    )
    assert (
        await states.append_message(
            project.id, {"role": "assistant", "content": ""}, acting_user_id=ALICE
        )
        == 2
    )
    state = await states.get(project.id, acting_user_id=ALICE)
    assert state is not None
    assert [m["role"] for m in objects(state.conversation_history)] == ["user", "assistant"]
    with pytest.raises(ProjectNotFound):
        await states.append_message(project.id, {"role": "user"}, acting_user_id=BOB)


async def test_set_sandbox_and_reset(states: AgentStatesService, project: Project) -> None:
    state = await states.set_sandbox(
        project.id, sandbox_id="sbx-9", preview_url="https://9.example", acting_user_id=ALICE
    )
    assert (state.sandbox_id, state.preview_url) == ("sbx-9", "https://9.example")
    with pytest.raises(ProjectNotFound):
        await states.set_sandbox(project.id, sandbox_id=None, preview_url=None, acting_user_id=BOB)

    await states.set_current(project.id, "coding", 0, acting_user_id=ALICE)
    await states.append_phase(project.id, {"name": "a"}, acting_user_id=ALICE)
    await states.add_generated_file(project.id, "x", acting_user_id=ALICE)
    await states.append_message(project.id, {"role": "user"}, acting_user_id=ALICE)
    with pytest.raises(ProjectNotFound):
        await states.reset(project.id, acting_user_id=BOB)
    reset = await states.reset(project.id, acting_user_id=ALICE)

    assert (reset.current_state, reset.current_phase) == ("idle", None)
    assert reset.phases == []
    assert reset.generated_files == []
    # What the app builder's reset keeps: the conversation, the sandbox and its preview.
    assert reset.conversation_history == [{"role": "user"}]
    assert (reset.sandbox_id, reset.preview_url) == ("sbx-9", "https://9.example")
    assert reset.id == state.id


async def test_projects_whose_last_phase_is_completed(
    states: AgentStatesService, projects: ProjectsService
) -> None:
    done = await projects.create_project("done", "", acting_user_id=ALICE)
    await states.append_phase(done.id, {"name": "a"}, acting_user_id=ALICE)
    await states.append_phase(done.id, {"name": "b"}, acting_user_id=ALICE)
    await states.complete_phase(done.id, 1, acting_user_id=ALICE)
    half = await projects.create_project(
        "half", "", acting_user_id=ALICE
    )  # an earlier phase completed only
    await states.append_phase(half.id, {"name": "a"}, acting_user_id=ALICE)
    await states.append_phase(half.id, {"name": "b"}, acting_user_id=ALICE)
    await states.complete_phase(half.id, 0, acting_user_id=ALICE)
    await projects.create_project("empty", "", acting_user_id=ALICE)
    bobs = await projects.create_project("bob done", "", acting_user_id=BOB)
    await states.append_phase(bobs.id, {"name": "a", "completed": True}, acting_user_id=BOB)

    completed = states.list_projects_with_last_phase_completed
    assert [p.name for p in (await completed(acting_user_id=ALICE)).items] == ["done"]
    assert [p.name for p in (await completed(acting_user_id=BOB)).items] == ["bob done"]
    assert (await completed(acting_user_id="nobody")).items == ()


# -- concurrency: separate connections, all workers released at once ---------------------


async def test_8_workers_x_25_phase_appends_leave_exactly_200_phases(
    project: Project, wide_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    service = AgentStatesService(wide_db, typed_queries)
    go = asyncio.Event()

    async def worker(w: int) -> None:
        await go.wait()
        for i in range(25):
            await service.append_phase(project.id, {"name": f"w{w}-p{i}"}, acting_user_id=ALICE)

    tasks = [asyncio.create_task(worker(w)) for w in range(WORKERS)]
    go.set()
    await asyncio.gather(*tasks)

    state = await service.get(project.id, acting_user_id=ALICE)
    assert state is not None
    names = [str(p["name"]) for p in objects(state.phases)]
    assert len(names) == 200
    assert set(names) == {f"w{w}-p{i}" for w in range(WORKERS) for i in range(25)}
    for w in range(WORKERS):  # each worker's own appends keep their order
        mine = [n for n in names if n.startswith(f"w{w}-")]
        assert mine == [f"w{w}-p{i}" for i in range(25)]


async def test_8_workers_adding_the_same_10_files_leave_exactly_10(
    project: Project, wide_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    service = AgentStatesService(wide_db, typed_queries)
    paths = [f"src/component_{i}.tsx" for i in range(10)]
    go = asyncio.Event()

    async def worker(w: int) -> None:
        await go.wait()
        for i in range(10):  # each worker starts at a different file
            await service.add_generated_file(project.id, paths[(i + w) % 10], acting_user_id=ALICE)

    tasks = [asyncio.create_task(worker(w)) for w in range(WORKERS)]
    go.set()
    await asyncio.gather(*tasks)

    state = await service.get(project.id, acting_user_id=ALICE)
    assert state is not None
    assert len(state.generated_files) == 10
    assert sorted(state.generated_files) == sorted(paths)


async def test_concurrent_messages_and_phase_completions_all_land(
    project: Project, wide_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    service = AgentStatesService(wide_db, typed_queries)
    for i in range(WORKERS):
        await service.append_phase(project.id, {"name": f"p{i}"}, acting_user_id=ALICE)
    go = asyncio.Event()

    async def worker(w: int) -> None:
        await go.wait()
        await service.complete_phase(project.id, w, acting_user_id=ALICE)
        for i in range(5):
            await service.append_message(project.id, {"from": w, "n": i}, acting_user_id=ALICE)

    tasks = [asyncio.create_task(worker(w)) for w in range(WORKERS)]
    go.set()
    await asyncio.gather(*tasks)

    state = await service.get(project.id, acting_user_id=ALICE)
    assert state is not None
    assert all(p.get("completed") is True for p in objects(state.phases))
    assert len(objects(state.conversation_history)) == WORKERS * 5


async def test_a_payload_json_cannot_encode_is_invalid_input_naming_the_parameter(
    states: AgentStatesService, project: Project
) -> None:
    deep: list[object] = []
    inner = deep
    for _ in range(5_000):
        inner.append([])
        inner = inner[0]  # type: ignore[assignment]
    for payload, why in (
        ({"at": datetime.now(UTC)}, "datetime is not JSON serializable"),
        ({"cost": Decimal("1.5")}, "Decimal is not JSON serializable"),
        ({"nested": deep}, "nested too deeply"),
    ):
        with pytest.raises(InvalidInput, match=why) as caught:
            await states.append_phase(project.id, payload, acting_user_id=ALICE)  # type: ignore[arg-type]
        assert "parameter phase" in str(caught.value)
    state = await states.get(project.id, acting_user_id=ALICE)
    assert state is not None
    assert state.phases == [], "nothing was written"
