"""ProjectsService: projects and their files on a real PostgreSQL, scoped by user."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase, Queries
from plainsql.errors import ForeignKeyViolation, InvalidInput
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.agent_states import AgentStatesService
from reference_apps.services.errors import TooManyRows
from reference_apps.services.projects import (
    MAX_FILES_AT_ONCE,
    Project,
    ProjectFile,
    ProjectFileNotFound,
    ProjectNotFound,
    ProjectsService,
)

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def service(
    users: None,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> ProjectsService:
    return ProjectsService(plainsql_async_db, typed_queries)


def count(conn: Conn, sql: str, *params: Any) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


async def files(service: ProjectsService, project_id: uuid.UUID, user: str) -> list[ProjectFile]:
    """The project's files as the user lists them: their first page, all of them here."""
    page = await service.list_files(project_id, acting_user_id=user)
    assert page.next_cursor is None
    return list(page.items)


# -- projects ---------------------------------------------------------------------------


async def test_create_project_comes_with_an_idle_empty_agent_state(
    service: ProjectsService,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    project = await service.create_project("Todo app", "A todo list in React", acting_user_id=ALICE)

    assert isinstance(project.id, uuid.UUID)
    assert (project.user_id, project.name, project.description) == (
        ALICE,
        "Todo app",
        "A todo list in React",
    )
    assert project.status == "idle"
    assert project.preview_url is None
    assert project.sandbox_id is None
    state = await AgentStatesService(plainsql_async_db, typed_queries).get(
        project.id, acting_user_id=ALICE
    )
    assert state is not None
    assert state.current_state == "idle"
    assert state.phases == []
    assert state.generated_files == []
    assert state.conversation_history == []


async def test_create_project_for_an_unknown_user_leaves_nothing(
    service: ProjectsService, plainsql_conn: Conn
) -> None:
    with pytest.raises(ForeignKeyViolation) as raised:
        await service.create_project("x", "y", acting_user_id="no-such-user")
    assert raised.value.constraint == "projects_user_id_fkey"
    assert count(plainsql_conn, "SELECT count(*) FROM projects") == 0
    assert count(plainsql_conn, "SELECT count(*) FROM agent_states") == 0


async def test_list_projects_newest_update_first_and_only_the_users(
    service: ProjectsService,
) -> None:
    first = await service.create_project("first", "", acting_user_id=ALICE)
    second = await service.create_project("second", "", acting_user_id=ALICE)
    await service.create_project("bob's", "", acting_user_id=BOB)

    alices = await service.list_projects_page(acting_user_id=ALICE)
    assert [p.name for p in alices.items] == ["second", "first"]
    await service.update_project(first.id, description="touched", acting_user_id=ALICE)
    alices = await service.list_projects_page(acting_user_id=ALICE)
    assert [p.id for p in alices.items] == [first.id, second.id]
    bobs = await service.list_projects_page(acting_user_id=BOB)
    assert [p.name for p in bobs.items] == ["bob's"]
    assert (await service.list_projects_page(acting_user_id="nobody")).items == ()


async def test_get_project_is_scoped_by_user(service: ProjectsService) -> None:
    project = await service.create_project("mine", "d", acting_user_id=ALICE)

    assert await service.get_project(project.id, acting_user_id=ALICE) == project
    assert await service.get_project(project.id, acting_user_id=BOB) is None
    assert await service.get_project(uuid.uuid4(), acting_user_id=ALICE) is None


async def test_get_project_with_files_in_path_order_and_scoped(service: ProjectsService) -> None:
    project = await service.create_project("site", "d", acting_user_id=ALICE)
    empty = await service.get_project_with_files(project.id, acting_user_id=ALICE)
    assert empty is not None
    assert empty.project == project
    assert empty.files == ()

    await service.upsert_file(project.id, "src/main.tsx", "main", acting_user_id=ALICE)
    await service.upsert_file(project.id, "index.html", "<html>", acting_user_id=ALICE)
    found = await service.get_project_with_files(project.id, acting_user_id=ALICE)

    assert found is not None
    assert found.project.id == project.id
    assert [(f.path, f.content) for f in found.files] == [
        ("index.html", "<html>"),
        ("src/main.tsx", "main"),
    ]
    assert all(f.project_id == project.id for f in found.files)
    assert await service.get_project_with_files(project.id, acting_user_id=BOB) is None


async def test_a_project_past_the_cap_of_a_whole_read_is_refused_never_cut_short(
    service: ProjectsService, plainsql_conn: Conn
) -> None:
    project = await service.create_project("monorepo", "d", acting_user_id=ALICE)
    plainsql_conn.execute(
        "INSERT INTO project_files (project_id, path, content)"
        " SELECT %s, 'f' || lpad(i::text, 5, '0'), '' FROM generate_series(1, %s) AS i",
        (project.id, MAX_FILES_AT_ONCE),
    )
    plainsql_conn.commit()
    whole = await service.get_project_with_files(project.id, acting_user_id=ALICE)
    assert whole is not None
    assert len(whole.files) == MAX_FILES_AT_ONCE

    await service.upsert_file(project.id, "one-more", "", acting_user_id=ALICE)

    with pytest.raises(TooManyRows, match=r"more than 10,000 files: .* \(list_files\)"):
        await service.get_project_with_files(project.id, acting_user_id=ALICE)
    first = await service.list_files(project.id, page_size=500, acting_user_id=ALICE)
    assert first.next_cursor is not None  # the paged read still reads them all


async def test_update_project_replaces_only_what_is_given(service: ProjectsService) -> None:
    project = await service.create_project("old name", "old description", acting_user_id=ALICE)

    renamed = await service.update_project(project.id, name="new name", acting_user_id=ALICE)
    assert (renamed.name, renamed.description) == ("new name", "old description")
    assert renamed.updated_at > project.updated_at  # the trigger, not Python, keeps it
    described = await service.update_project(
        project.id, description="new description", acting_user_id=ALICE
    )
    assert (described.name, described.description) == ("new name", "new description")

    with pytest.raises(ProjectNotFound):
        await service.update_project(project.id, name="stolen", acting_user_id=BOB)
    assert (await service.get_project(project.id, acting_user_id=ALICE)) == described


async def test_set_status_and_preview(service: ProjectsService) -> None:
    project = await service.create_project("p", "d", acting_user_id=ALICE)

    building = await service.set_status(project.id, "building", acting_user_id=ALICE)
    assert building.status == "building"
    previewing = await service.set_preview(
        project.id, preview_url="https://p.example/abc", sandbox_id="sbx-1", acting_user_id=ALICE
    )
    assert (previewing.preview_url, previewing.sandbox_id) == ("https://p.example/abc", "sbx-1")
    cleared = await service.set_preview(
        project.id, preview_url=None, sandbox_id=None, acting_user_id=ALICE
    )
    assert (cleared.preview_url, cleared.sandbox_id) == (None, None)
    assert cleared.status == "building"
    # A preview alone leaves the sandbox as it is.
    await service.set_preview(
        project.id, preview_url=None, sandbox_id="sbx-2", acting_user_id=ALICE
    )
    moved = await service.set_preview(
        project.id, preview_url="https://p.example/def", acting_user_id=ALICE
    )
    assert (moved.preview_url, moved.sandbox_id) == ("https://p.example/def", "sbx-2")

    with pytest.raises(ProjectNotFound):
        await service.set_status(project.id, "hacked", acting_user_id=BOB)
    with pytest.raises(ProjectNotFound):
        await service.set_preview(
            project.id, preview_url="https://evil.example", sandbox_id=None, acting_user_id=BOB
        )
    unchanged = await service.get_project(project.id, acting_user_id=ALICE)
    assert unchanged is not None
    assert unchanged.status == "building"


async def test_delete_project_cascades_to_files_and_agent_state(
    service: ProjectsService, plainsql_conn: Conn
) -> None:
    project = await service.create_project("doomed", "d", acting_user_id=ALICE)
    kept = await service.create_project("kept", "d", acting_user_id=ALICE)
    await service.upsert_files(project.id, {"a.txt": "a", "b.txt": "b"}, acting_user_id=ALICE)
    await service.upsert_file(kept.id, "k.txt", "k", acting_user_id=ALICE)

    with pytest.raises(ProjectNotFound):
        await service.delete_project(project.id, acting_user_id=BOB)
    await service.delete_project(project.id, acting_user_id=ALICE)

    assert await service.get_project(project.id, acting_user_id=ALICE) is None
    assert (
        count(plainsql_conn, "SELECT count(*) FROM project_files WHERE project_id = %s", project.id)
        == 0
    )
    assert (
        count(plainsql_conn, "SELECT count(*) FROM agent_states WHERE project_id = %s", project.id)
        == 0
    )
    assert [f.path for f in await files(service, kept.id, ALICE)] == ["k.txt"]
    with pytest.raises(ProjectNotFound):
        await service.delete_project(project.id, acting_user_id=ALICE)


async def test_deleting_the_user_deletes_their_projects(
    service: ProjectsService, plainsql_conn: Conn
) -> None:
    project = await service.create_project("p", "d", acting_user_id=BOB)
    await service.upsert_file(project.id, "f", "c", acting_user_id=BOB)
    plainsql_conn.execute("DELETE FROM users WHERE id = %s", (BOB,))
    plainsql_conn.commit()
    assert count(plainsql_conn, "SELECT count(*) FROM projects") == 0
    assert count(plainsql_conn, "SELECT count(*) FROM project_files") == 0


# -- files ------------------------------------------------------------------------------


@pytest.fixture
async def project(service: ProjectsService) -> Project:
    return await service.create_project("files", "d", acting_user_id=ALICE)


async def test_upsert_file_creates_then_replaces_by_path(
    service: ProjectsService, project: Project
) -> None:
    created = await service.upsert_file(project.id, "app.py", "print(1)", acting_user_id=ALICE)
    replaced = await service.upsert_file(project.id, "app.py", "print(2)", acting_user_id=ALICE)

    assert replaced.id == created.id
    assert replaced.content == "print(2)"
    assert replaced.created_at == created.created_at
    assert replaced.updated_at > created.updated_at
    assert [(f.path, f.content) for f in await files(service, project.id, ALICE)] == [
        ("app.py", "print(2)")
    ]


async def test_upsert_file_into_another_users_project_is_refused(
    service: ProjectsService, project: Project
) -> None:
    with pytest.raises(ProjectNotFound):
        await service.upsert_file(project.id, "evil.py", "x", acting_user_id=BOB)
    with pytest.raises(ProjectNotFound):
        await service.upsert_files(project.id, {"evil.py": "x"}, acting_user_id=BOB)
    assert await files(service, project.id, ALICE) == []


async def test_get_file_by_path_is_scoped_by_user(
    service: ProjectsService, project: Project
) -> None:
    written = await service.upsert_file(project.id, "README.md", "# hi", acting_user_id=ALICE)

    assert await service.get_file(project.id, "README.md", acting_user_id=ALICE) == written
    assert await service.get_file(project.id, "missing.md", acting_user_id=ALICE) is None
    assert await service.get_file(project.id, "README.md", acting_user_id=BOB) is None


async def test_list_files_is_scoped_by_user(service: ProjectsService, project: Project) -> None:
    await service.upsert_files(project.id, {"b": "2", "a": "1"}, acting_user_id=ALICE)
    assert [f.path for f in await files(service, project.id, ALICE)] == [
        "a",
        "b",
    ]
    assert await files(service, project.id, BOB) == []


async def test_delete_one_file(service: ProjectsService, project: Project) -> None:
    await service.upsert_files(project.id, {"a": "1", "b": "2"}, acting_user_id=ALICE)

    with pytest.raises(ProjectNotFound):
        await service.delete_file(project.id, "a", acting_user_id=BOB)
    await service.delete_file(project.id, "a", acting_user_id=ALICE)
    with pytest.raises(ProjectFileNotFound):
        await service.delete_file(project.id, "a", acting_user_id=ALICE)
    assert [f.path for f in await files(service, project.id, ALICE)] == ["b"]


async def test_delete_all_files_of_a_project(
    service: ProjectsService, project: Project, plainsql_conn: Conn
) -> None:
    other = await service.create_project("other", "d", acting_user_id=ALICE)
    await service.upsert_files(project.id, {"a": "1", "b": "2", "c": "3"}, acting_user_id=ALICE)
    await service.upsert_file(other.id, "keep", "k", acting_user_id=ALICE)

    with pytest.raises(ProjectNotFound):
        await service.delete_files(project.id, acting_user_id=BOB)
    assert await service.delete_files(project.id, acting_user_id=ALICE) == 3
    assert await service.delete_files(project.id, acting_user_id=ALICE) == 0
    assert count(plainsql_conn, "SELECT count(*) FROM project_files") == 1


async def test_upsert_files_reports_only_files_it_created_or_changed(
    service: ProjectsService, project: Project
) -> None:
    assert await service.upsert_files(project.id, {"a": "1", "b": "2"}, acting_user_id=ALICE) == 2
    before = {f.path: f for f in await files(service, project.id, ALICE)}

    # "a" is unchanged and left alone; "b" changes; "c" is new.
    assert (
        await service.upsert_files(
            project.id, {"a": "1", "b": "two", "c": "3"}, acting_user_id=ALICE
        )
        == 2
    )
    after = {f.path: f for f in await files(service, project.id, ALICE)}
    assert {p: f.content for p, f in after.items()} == {"a": "1", "b": "two", "c": "3"}
    assert after["a"].updated_at == before["a"].updated_at
    assert after["b"].updated_at > before["b"].updated_at
    assert await service.upsert_files(project.id, {}, acting_user_id=ALICE) == 0


async def test_upsert_project_files_query_keeps_the_last_of_a_repeated_path(
    project: Project, plainsql_conn: Conn, plainsql_queries: Queries
) -> None:
    # The service takes a mapping (no repeats), but the query itself must not fail on one.
    written = plainsql_queries.projects.upsert_project_files(
        plainsql_conn,
        project_id=project.id,
        user_id=ALICE,
        paths=["x", "y", "x"],
        contents=["first", "y", "last"],
    )
    assert written == 2
    rows = plainsql_conn.execute("SELECT path, content FROM project_files ORDER BY path").fetchall()
    assert rows == [("x", "last"), ("y", "y")]


STATEMENT_LOG = """
CREATE TABLE statement_log (
    id serial PRIMARY KEY, operation text NOT NULL, row_count bigint NOT NULL
);
CREATE FUNCTION log_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO statement_log (operation, row_count) SELECT TG_OP, count(*) FROM new_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER project_files_log_insert AFTER INSERT ON project_files
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();
CREATE TRIGGER project_files_log_update AFTER UPDATE ON project_files
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();
-- The service acts as the application role (transaction-role), which writes the log.
GRANT INSERT ON statement_log TO reference_app;
GRANT USAGE ON SEQUENCE statement_log_id_seq TO reference_app;
"""


async def test_bulk_upsert_of_5000_files_over_2500_is_one_statement(
    service: ProjectsService, project: Project, plainsql_conn: Conn
) -> None:
    """5,000 files into a project holding 2,500 of them: exactly 5,000, all new contents.

    "One statement" is shown by the server, not by trusting the client: statement-level
    triggers on project_files (this test's database is its own copy) log every INSERT and
    UPDATE statement that touches the table with the number of rows it wrote, read from its
    transition table. INSERT ... ON CONFLICT DO UPDATE fires the INSERT and the UPDATE
    statement triggers once each; a loop of per-file statements would log thousands of rows.
    """
    old = {f"src/file_{i:05d}.ts": f"old {i}" for i in range(2_500)}
    await service.upsert_files(project.id, old, acting_user_id=ALICE)
    plainsql_conn.execute(STATEMENT_LOG)
    plainsql_conn.commit()

    new = {f"src/file_{i:05d}.ts": f"new {i}" for i in range(5_000)}
    written = await service.upsert_files(project.id, new, acting_user_id=ALICE)

    assert written == 5_000
    log = plainsql_conn.execute(
        "SELECT operation, row_count FROM statement_log ORDER BY id"
    ).fetchall()
    assert sorted(log) == [("INSERT", 2_500), ("UPDATE", 2_500)]
    stored: dict[str, str] = dict(
        plainsql_conn.execute(
            "SELECT path, content FROM project_files WHERE project_id = %s", (project.id,)
        ).fetchall()
    )
    assert stored == new


# -- pipelined batches ------------------------------------------------------------------------


def _batch_row(project_id: uuid.UUID, user_id: str, path: str, content: str) -> Any:
    return {"project_id": project_id, "user_id": user_id, "path": path, "content": content}


async def test_a_pipelined_batch_writes_each_row_of_the_users_project_only(
    service: ProjectsService, plainsql_async_db: AsyncDatabase, plainsql_conn: Conn
) -> None:
    mine = await service.create_project("Batch", "", acting_user_id=ALICE)
    theirs = await service.create_project("Bob's", "", acting_user_id=BOB)
    rows = [_batch_row(mine.id, ALICE, f"src/f{i:02d}.py", f"print({i})") for i in range(40)]
    rows.append(_batch_row(mine.id, ALICE, "src/f00.py", "print('again')"))  # last one wins
    rows.append(_batch_row(theirs.id, ALICE, "stolen.py", "x"))  # not Alice's: nothing

    async with plainsql_async_db.transaction(acting_user=ALICE) as c:
        written = await service.q.projects.upsert_project_file_batch(c, rows)

    assert written == 41
    listed = await files(service, mine.id, ALICE)
    assert [f.path for f in listed] == [f"src/f{i:02d}.py" for i in range(40)]
    assert listed[0].content == "print('again')"
    assert (
        count(plainsql_conn, "SELECT count(*) FROM project_files WHERE project_id = %s", theirs.id)
        == 0
    )


async def test_a_batch_with_one_bad_row_writes_nothing(
    service: ProjectsService, plainsql_async_db: AsyncDatabase, plainsql_conn: Conn
) -> None:
    project = await service.create_project("Batch", "", acting_user_id=ALICE)
    rows = [_batch_row(project.id, ALICE, f"f{i}.py", "ok") for i in range(10)]
    rows.insert(5, _batch_row(project.id, ALICE, "nul.py", "a\x00b"))  # text cannot hold NUL

    with pytest.raises(InvalidInput) as caught:
        async with plainsql_async_db.transaction(acting_user=ALICE) as c:
            await service.q.projects.upsert_project_file_batch(c, rows)

    assert "upsert_project_file_batch" in str(caught.value)
    assert (
        count(plainsql_conn, "SELECT count(*) FROM project_files WHERE project_id = %s", project.id)
        == 0
    )


async def test_projects_by_status_with_file_counts_and_the_agent_state_semantics(
    users: None, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    projects = ProjectsService(plainsql_async_db, typed_queries)
    states = AgentStatesService(plainsql_async_db, typed_queries)
    made = [await projects.create_project(f"p{i}", "d", acting_user_id=ALICE) for i in range(3)]
    await projects.upsert_files(made[0].id, {"a.ts": "1", "b.ts": "2"}, acting_user_id=ALICE)
    await projects.set_status(made[1].id, "deployed", acting_user_id=ALICE)
    await projects.create_project("bob's", "d", acting_user_id=BOB)

    first = await projects.list_projects_page(page_size=2, acting_user_id=ALICE)
    rest = await projects.list_projects_page(
        after=first.next_cursor, page_size=2, acting_user_id=ALICE
    )
    counts = {p.name: p.file_count for p in first.items + rest.items}
    assert counts == {"p0": 2, "p1": 0, "p2": 0}
    deployed = await projects.list_projects_page(status="deployed", acting_user_id=ALICE)
    assert [p.name for p in deployed.items] == ["p1"]

    project = made[2].id
    await states.upsert(project, current_state="coding", sandbox_id="sbx", acting_user_id=ALICE)
    partial = await states.upsert(project, preview_url="https://p", acting_user_id=ALICE)
    assert (partial.current_state, partial.sandbox_id, partial.preview_url) == (
        "coding", "sbx", "https://p",
    )  # fmt: skip
    assert await states.append_phase(project, {"name": "plan"}, acting_user_id=ALICE) == 1
    assert await states.append_phase(project, {"name": "build"}, acting_user_id=ALICE) == 2
    state = await states.get(project, acting_user_id=ALICE)
    assert state is not None
    assert state.current_phase == 1  # the phase just appended

    await states.delete(project, acting_user_id=ALICE)
    assert await states.get(project, acting_user_id=ALICE) is None
    assert (
        await projects.get_project(project, acting_user_id=ALICE) is not None
    )  # the project stays
    fresh = await states.upsert(project, current_state="planning", acting_user_id=ALICE)
    assert (fresh.current_state, fresh.phases, fresh.sandbox_id) == ("planning", [], None)
