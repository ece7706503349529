"""`plainsql check` refuses `-- plainsql: replica-safe` on a query a replica could not run.

A small project of its own (the read replicas' notes project, plus queries that write, lock
rows or call a VOLATILE function, each marked replica-safe) is checked once on the test
server: each marked query that could write is named with its file, line and reason, and the
genuine reads pass.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner, Result

from plainsql.cli import cli
from plainsql.testing import TestServer

from .fixtures import write_notes_project

MARKED = """\

-- name: create_note_marked(body)<!
-- A write, marked: refused.
-- plainsql: replica-safe
INSERT INTO notes (body) VALUES (:body) RETURNING id;

-- name: list_notes_deleted(note_id)
-- A SELECT whose WITH deletes, marked: refused.
-- plainsql: replica-safe
WITH gone AS (DELETE FROM notes WHERE id = :note_id RETURNING id, body)
SELECT id, body FROM gone;

-- name: get_note_locked(note_id)^
-- A SELECT that locks its row, marked: refused.
-- plainsql: replica-safe
SELECT id, body FROM notes WHERE id = :note_id FOR UPDATE;

-- name: get_note_touched(note_id)$
-- A SELECT of a VOLATILE function (which may write), marked: refused.
-- plainsql: replica-safe
SELECT touch_note(:note_id::bigint) AS touched;

-- name: list_notes_shuffled()
-- A SELECT ordered by random(), a VOLATILE function, marked: refused.
-- plainsql: replica-safe
SELECT id, body FROM notes ORDER BY random();

-- name: count_notes()$
-- A genuine read, marked: accepted.
-- plainsql: replica-safe
SELECT count(*) AS notes FROM notes WHERE body <> '' AND served_by_standby() IS NOT NULL;
"""

REFUSED = {
    "notes.create_note_marked": "marked replica-safe, but it is an INSERT, not a SELECT",
    "notes.list_notes_deleted": "marked replica-safe, but a WITH of it modifies data",
    "notes.get_note_locked": "marked replica-safe, but it locks rows (FOR UPDATE / FOR SHARE)",
    "notes.get_note_touched": (
        "marked replica-safe, but it calls the VOLATILE function(s) touch_note(bigint)"
    ),
    "notes.list_notes_shuffled": (
        "marked replica-safe, but it calls the VOLATILE function(s) random()"
    ),
}


@pytest.fixture(scope="module")
def checked(plainsql_server: TestServer, tmp_path_factory: pytest.TempPathFactory) -> Result:
    """``plainsql check`` run once on the project."""
    project = write_notes_project(tmp_path_factory.mktemp("marked") / "project")
    (project / "migrations" / "0002_touch.sql").write_text(
        "-- 0002_touch: a function that writes (VOLATILE, as every function is by default).\n"
        "CREATE FUNCTION touch_note(note_id bigint) RETURNS boolean LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    UPDATE notes SET body = body WHERE id = note_id;\n"
        "    RETURN FOUND;\n"
        "END $$;\n"
    )
    (project / "migrations" / "0002_touch.rollback.sql").write_text(
        "DROP FUNCTION touch_note(bigint);\n"
    )
    with (project / "sql" / "notes" / "notes.sql").open("a") as sql_file:
        sql_file.write(MARKED)
    env = {"DATABASE_URL": plainsql_server.admin_conninfo, "PLAINSQL_PROJECT_DIR": ""}
    return CliRunner().invoke(cli, ["--project-dir", str(project), "check"], env=env)


@pytest.mark.parametrize(("name", "reason"), REFUSED.items(), ids=list(REFUSED))
def test_the_marker_is_refused_on_a_query_that_could_write(
    checked: Result, name: str, reason: str
) -> None:
    assert checked.exit_code == 1
    lines = [line for line in checked.output.splitlines() if f": {name}: " in line]
    assert len(lines) == 1, checked.output
    assert re.fullmatch(
        rf"sql/notes/notes\.sql:\d+: {re.escape(name)}: {re.escape(reason)}", lines[0]
    )


def test_the_marker_is_accepted_on_genuine_reads(checked: Result) -> None:
    failed = {line.split(": ")[1] for line in checked.output.splitlines()[:-1]}
    assert failed == set(REFUSED)  # get_note and count_notes, marked, pass
    assert checked.output.splitlines()[-1] == "check: 5 of 9 queries fail the check"
