"""``plainsql typegen``, ``typegen --check`` and ``plainsql check``, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from plainsql.testing import TestServer

from .conftest import PROJECT, RunCli


def _append_query(path: Path, text: str) -> int:
    """Append a query to ``path``; returns the line of its ``-- name:``."""
    existing = path.read_text()
    path.write_text(existing.rstrip("\n") + "\n\n" + text)
    return existing.rstrip("\n").count("\n") + 3


def test_the_checked_in_package_of_the_library_project_is_up_to_date(run_cli: RunCli) -> None:
    result = run_cli(PROJECT, "typegen", "--check")
    assert result.exit_code == 0, result.output
    assert "typegen: 96 queries, types up to date" in result.output


def test_editing_a_column_list_without_regenerating_fails_the_check(
    run_cli: RunCli, project_copy: Path
) -> None:
    authors = project_copy / "sql" / "library" / "authors.sql"
    authors.write_text(
        authors.read_text().replace(
            "SELECT id, name FROM authors", "SELECT id, name, bio FROM authors"
        )
    )
    stale = run_cli(project_copy, "typegen", "--check")
    assert stale.exit_code == 1
    assert "stale: library_types/queries.py" in stale.output
    assert "stale: library_types/records.py" in stale.output
    assert "run `plainsql typegen`" in stale.output

    written = run_cli(project_copy, "typegen")
    assert written.exit_code == 0, written.output
    assert "wrote library_types/records.py" in written.output
    records = (project_copy / "library_types" / "records.py").read_text()
    assert "class ListAuthorNamesRow:" in records
    assert "    name: str\n    bio: str | None\n" in records
    assert run_cli(project_copy, "typegen", "--check").exit_code == 0


def test_check_names_the_file_and_line_of_a_broken_query(
    run_cli: RunCli, project_copy: Path
) -> None:
    assert run_cli(project_copy, "check").output.strip() == "check: all 96 queries prepare"
    books = project_copy / "sql" / "library" / "books.sql"
    line = _append_query(
        books,
        "-- name: get_book_isbn(book_id)$\n"
        "-- The ISBN of a book (there is no such column).\n"
        "SELECT isbn FROM books WHERE id = :book_id;\n",
    )
    result = run_cli(project_copy, "check")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f'sql/library/books.sql:{line}: library.get_book_isbn: column "isbn" does not exist',
        "check: 1 of 97 queries fail the check",
    ]


def test_check_lists_every_query_a_migration_breaks(run_cli: RunCli, project_copy: Path) -> None:
    # precision.sql (the nullability rules) uses subtitle in most of its queries: set aside.
    (project_copy / "sql" / "library" / "precision.sql").unlink()
    migrations = project_copy / "migrations"
    (migrations / "0002_drop_subtitle.sql").write_text(
        "-- 0002_drop_subtitle: books lose their subtitle.\n"
        "ALTER TABLE books DROP COLUMN subtitle;\n"
    )
    (migrations / "0002_drop_subtitle.rollback.sql").write_text(
        "-- 0002_drop_subtitle rollback.\nALTER TABLE books ADD COLUMN subtitle text;\n"
    )
    result = run_cli(project_copy, "check")
    assert result.exit_code == 1
    *failures, summary = result.output.splitlines()
    assert [line.split(": ")[1] for line in failures] == [
        "library.list_book_stats_by_author",  # sql/library/aggregates.sql
        "library.list_labels",  # derived.sql
        "library.list_book_facts",  # expressions.sql
        "library.list_authors_with_books",  # joins.sql
    ]
    assert all("subtitle" in line and "does not exist" in line for line in failures)
    assert summary == "check: 4 of 52 queries fail the check"


def test_typegen_refuses_a_query_it_cannot_type_and_writes_nothing(
    run_cli: RunCli, project_copy: Path
) -> None:
    joins = project_copy / "sql" / "library" / "joins.sql"
    line = _append_query(
        joins,
        "-- name: list_ids()\n-- Two columns named id.\n"
        "SELECT a.id, b.id FROM authors a JOIN books b ON b.author_id = a.id;\n",
    )
    before = (project_copy / "library_types" / "queries.py").read_text()
    result = run_cli(project_copy, "typegen")
    assert result.exit_code == 1
    assert (
        f'sql/library/joins.sql:{line}: library.list_ids: column "id" appears twice: '
        "give one an alias (AS other_name)"
    ) in result.output
    assert "nothing written" in result.output
    assert (project_copy / "library_types" / "queries.py").read_text() == before


def test_typegen_on_a_project_without_queries_writes_an_empty_package(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "migrations").mkdir()
    result = run_cli(tmp_path, "typegen", "--out", "typed")
    assert result.exit_code == 0, result.output
    assert "typegen: 0 queries, types generated" in result.output
    assert sorted(p.name for p in (tmp_path / "typed").iterdir()) == [
        "__init__.py",
        "queries.py",
        "records.py",
    ]
    namespace: dict[str, object] = {}
    exec(compile((tmp_path / "typed" / "records.py").read_text(), "records.py", "exec"), namespace)
    assert namespace["RECORD_CLASSES"] == {}
    assert run_cli(tmp_path, "check").output.strip() == "check: all 0 queries prepare"


def test_typegen_says_where_to_configure_its_output(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    result = run_cli(tmp_path, "typegen")
    assert result.exit_code == 1
    assert "[tool.plainsql] typegen-out" in result.output


def test_one_module_per_folder_and_a_removed_folder_s_module_goes(
    run_cli: RunCli, project_copy: Path
) -> None:
    shelf = project_copy / "sql" / "shelf"
    shelf.mkdir()
    (shelf / "counts.sql").write_text(
        "-- name: count_books()$\n-- How many books there are.\nSELECT count(*) FROM books;\n"
    )
    assert run_cli(project_copy, "typegen").exit_code == 0
    module = (project_copy / "library_types" / "shelf.py").read_text()
    assert "class AsyncShelfQueries:" in module
    assert "def count_books(" in module
    entry = (project_copy / "library_types" / "queries.py").read_text()
    assert "from .shelf import AsyncShelfQueries, ShelfQueries" in entry

    (shelf / "counts.sql").unlink()
    shelf.rmdir()
    stale = run_cli(project_copy, "typegen", "--check")
    assert stale.exit_code == 1
    assert "stale: library_types/shelf.py" in stale.output
    assert run_cli(project_copy, "typegen").exit_code == 0
    assert not (project_copy / "library_types" / "shelf.py").exists()
    assert run_cli(project_copy, "typegen", "--check").exit_code == 0


def test_a_folder_named_like_a_generated_module_is_refused(
    run_cli: RunCli, project_copy: Path
) -> None:
    folder = project_copy / "sql" / "records"
    folder.mkdir()
    (folder / "one.sql").write_text("-- name: get_one()$\n-- One.\nSELECT 1;\n")
    result = run_cli(project_copy, "typegen")
    assert result.exit_code == 1
    assert "sql/records/ would generate records.py" in result.output


def test_typegen_and_check_failures_go_to_stderr(
    plainsql_server: TestServer, project_copy: Path
) -> None:
    authors = project_copy / "sql" / "library" / "authors.sql"
    authors.write_text(authors.read_text().replace("SELECT id, name FROM", "SELECT id, bio FROM"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_URL", "PLAINSQL"))
    }
    env["DATABASE_URL"] = plainsql_server.admin_conninfo
    stale = subprocess.run(
        [
            sys.executable,
            "-m",
            "plainsql",
            "--project-dir",
            str(project_copy),
            "typegen",
            "--check",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert stale.returncode == 1
    assert "stale: library_types/" in stale.stderr
    assert "stale" not in stale.stdout
