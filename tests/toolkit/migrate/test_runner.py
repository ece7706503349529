"""The migration runner: one runner at a time, edits detected, rollbacks required, failures clean.

Every test works on its own empty database and a temporary migrations folder; the
repository's migrations/ is only ever copied.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from plainsql.cli import cli
from plainsql.config import DatabaseSource, Settings
from plainsql.errors import MigrationError
from plainsql.migrate.lock import LOCK_KEY
from plainsql.migrate.runner import Migrator
from plainsql.testing import TestServer

from ..fixtures import write_migration

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "migrations").mkdir()
    return tmp_path


@pytest.fixture
def settings(
    plainsql_server: TestServer, plainsql_empty_database_url: str, project: Path
) -> Settings:
    return replace(
        plainsql_server.settings,
        project_dir=project,
        database_url=plainsql_empty_database_url,
        source=DatabaseSource.ENVIRONMENT,
    )


@pytest.fixture
def db(plainsql_empty_database_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        yield conn


def run(project: Path, url: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--project-dir", str(project), *args], env={"DATABASE_URL": url}
    )


def exists(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


def applied_ids(conn: psycopg.Connection[Any]) -> list[str]:
    if not exists(conn, "_yoyo_migration"):
        return []
    rows = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY migration_id")
    return [r[0] for r in rows.fetchall()]


def subprocess_env(url: str, project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PLAINSQL_"))}
    env["DATABASE_URL"] = url
    env["PLAINSQL_PROJECT_DIR"] = str(project)
    return env


TABLE_T = ("-- 0001_t: a table.\nCREATE TABLE t (id bigint PRIMARY KEY);\n", "DROP TABLE t;\n")


@pytest.mark.slow
def test_four_concurrent_migrate_processes_apply_every_migration_once(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    for path in sorted((REPO / "migrations").glob("*.sql")):
        shutil.copy(path, project / "migrations" / path.name)
    write_migration(
        project,
        "9999_slow",
        "-- 9999_slow: holds the lock a moment so the runners overlap.\n"
        "CREATE TABLE slow_marker (id bigint PRIMARY KEY);\nSELECT pg_sleep(0.5);\n",
        "DROP TABLE slow_marker;\n",
    )
    env = subprocess_env(plainsql_empty_database_url, project)
    runners = [
        subprocess.Popen(
            [sys.executable, "-m", "plainsql", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [runner.communicate(timeout=120) for runner in runners]
    assert [r.returncode for r in runners] == [0, 0, 0, 0], outputs
    on_disk = sorted(
        p.stem
        for p in (project / "migrations").glob("*.sql")
        if not p.name.endswith(".rollback.sql")
    )
    assert applied_ids(db) == on_disk
    applies = dict(
        db.execute(
            "SELECT migration_id, count(*) FROM _yoyo_log WHERE operation = 'apply'"
            " GROUP BY migration_id"
        ).fetchall()
    )
    assert applies == dict.fromkeys(on_disk, 1)
    announced = [
        line.removeprefix("applied ")
        for out, _err in outputs
        for line in out.splitlines()
        if line.startswith("applied ")
    ]
    assert sorted(announced) == on_disk  # each migration reported by exactly one runner
    assert sum("nothing to apply" in out for out, _ in outputs) == 3


def test_status_on_a_fresh_database_creates_nothing(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    result = run(project, plainsql_empty_database_url, "status")
    assert result.exit_code == 0, result.output
    assert "[pending] 0001_t" in result.output
    tables = db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (0,)


def test_an_edited_applied_migration_is_shown_and_migrate_refuses(
    project: Path, plainsql_empty_database_url: str
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 0
    forward = project / "migrations" / "0001_t.sql"
    forward.write_text(forward.read_text().replace("bigint", "integer"))
    write_migration(project, "0002_u", "-- 0002_u: another.\nCREATE TABLE u ();\n", "DROP TABLE u;")

    status = run(project, plainsql_empty_database_url, "status")
    assert "EDITED since applied: 0001_t.sql" in status.output

    refused = run(project, plainsql_empty_database_url, "migrate")
    assert refused.exit_code == 1
    assert "migrations/0001_t.sql changed after 0001_t was applied" in refused.output
    assert "plainsql migrate --accept-edit 0001" in refused.output
    assert "applied 0002_u" not in refused.output
    assert run(project, plainsql_empty_database_url, "rollback").exit_code == 1

    accepted = run(project, plainsql_empty_database_url, "migrate", "--accept-edit", "0001")
    assert accepted.exit_code == 0, accepted.output
    done = run(project, plainsql_empty_database_url, "migrate")
    assert done.exit_code == 0, done.output
    assert "applied 0002_u" in done.output


def test_an_edited_rollback_file_counts_as_an_edit(
    project: Path, plainsql_empty_database_url: str
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 0
    (project / "migrations" / "0001_t.rollback.sql").write_text("DROP TABLE IF EXISTS t;\n")
    refused = run(project, plainsql_empty_database_url, "migrate")
    assert refused.exit_code == 1
    assert "0001_t.rollback.sql changed after 0001_t was applied" in refused.output


def test_a_migration_without_rollback_is_refused(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(project, "0002_u", "-- 0002_u: no way back.\nCREATE TABLE u ();\n", None)
    result = run(project, plainsql_empty_database_url, "migrate")
    assert result.exit_code == 1
    assert "migrations/0002_u.sql:1: no rollback file 0002_u.rollback.sql" in result.output
    assert "-- irreversible: <reason>" in result.output
    assert applied_ids(db) == []
    assert not exists(db, "t")


def test_an_irreversible_migration_applies_and_its_rollback_is_refused_with_the_reason(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(
        project,
        "0002_drop_t",
        "-- 0002_drop_t: retire t.\n-- irreversible: t's rows are deleted for good\n"
        "DROP TABLE t;\n",
        None,
    )
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 0
    assert applied_ids(db) == ["0001_t", "0002_drop_t"]
    refused = run(project, plainsql_empty_database_url, "rollback")
    assert refused.exit_code == 1
    assert "0002_drop_t is irreversible: t's rows are deleted for good" in refused.output
    assert applied_ids(db) == ["0001_t", "0002_drop_t"]
    status = run(project, plainsql_empty_database_url, "status")
    assert "[irreversible]" in status.output


def test_a_syntax_error_in_the_third_statement_leaves_no_object_behind(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(
        project,
        "0002_broken",
        "-- 0002_broken: two good statements and a typo.\n\n"
        "CREATE TABLE a (id bigint PRIMARY KEY);\n\n"
        "CREATE INDEX a_id_idx ON a (id);\n\n"
        "CREATE TABL b (\n    id bigint\n);\n",
        "DROP TABLE a;\n",
    )
    result = run(project, plainsql_empty_database_url, "migrate")
    assert result.exit_code == 1
    assert "migrations/0002_broken.sql:7:8 (statement 3 of 3)" in result.output
    assert 'syntax error at or near "TABL"' in result.output
    assert "statement: CREATE TABL b (" in result.output
    assert applied_ids(db) == ["0001_t"]  # the earlier migration stays applied
    assert not exists(db, "a")
    assert not exists(db, "a_id_idx")


def test_an_error_without_a_position_still_names_the_statement(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(
        project,
        "0001_dup",
        "-- 0001_dup: the third statement collides.\n"
        "CREATE TABLE a (id bigint);\nCOMMENT ON TABLE a IS 'x; y';\nCREATE TABLE a (id bigint);\n",
        "DROP TABLE a;\n",
    )
    result = run(project, plainsql_empty_database_url, "migrate")
    assert result.exit_code == 1
    assert "migrations/0001_dup.sql:4:1 (statement 3 of 3)" in result.output
    assert 'relation "a" already exists' in result.output
    assert not exists(db, "a")


def test_a_failed_migration_shows_the_detail_without_the_row_data(
    project: Path, plainsql_empty_database_url: str
) -> None:
    write_migration(
        project,
        "0001_codes",
        "-- 0001_codes: a table holding a secret twice, then a unique index over it.\n"
        "CREATE TABLE codes (code text);\n"
        "INSERT INTO codes VALUES ('tok-SECRET-42'), ('tok-SECRET-42');\n"
        "CREATE UNIQUE INDEX codes_code_key ON codes (code);\n",
        "DROP TABLE codes;\n",
    )
    result = run(project, plainsql_empty_database_url, "migrate")
    assert result.exit_code == 1
    assert "could not create unique index" in result.output
    assert "detail: Key (code)=(values hidden) is duplicated." in result.output
    assert "tok-SECRET-42" not in result.output


@pytest.mark.parametrize(
    ("line", "message", "where"),
    [
        (  # a bad value
            "1\\ttok-%s-7\\tnot-%s",
            "invalid input syntax for type integer: (value hidden)",
            "COPY codes, line 1, column n:",
        ),
        ("2\\ttok-%s-7", 'missing data for column "n"', "COPY codes, line 1:"),  # a short line
    ],
)
def test_a_failed_copy_shows_where_without_the_data(
    project: Path, plainsql_empty_database_url: str, line: str, message: str, where: str
) -> None:
    # COPY's CONTEXT quotes the value or the whole line it could not load; the program prints
    # 'tok-SECRET-7' (and 'not-number'), which the statement itself never spells out.
    write_migration(
        project,
        "0001_codes",
        "-- 0001_codes: codes loaded by COPY from a program's output.\n"
        "CREATE TABLE codes (id integer, code text, n integer);\n"
        f"COPY codes FROM PROGRAM 'printf \"{line}\\\\n\" SECRET number';\n",
        "DROP TABLE codes;\n",
    )
    result = run(project, plainsql_empty_database_url, "migrate")
    assert result.exit_code == 1
    assert message in result.output
    assert f"context: {where} (values hidden)" in result.output
    assert "tok-SECRET-7" not in result.output
    assert "not-number" not in result.output


def test_rollback_files_run_whole_whatever_the_statement_counts(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    # yoyo alone pairs rollback statements with forward ones by position; here the counts
    # differ both ways and the rollback still undoes exactly what the forward did.
    write_migration(
        project,
        "0001_three",
        "-- 0001_three: three statements.\nCREATE TABLE a (id bigint);\n"
        "CREATE INDEX a_id_idx ON a (id);\nCOMMENT ON TABLE a IS 'a';\n",
        "DROP TABLE a;\n",
    )
    write_migration(
        project,
        "0002_one",
        "-- 0002_one: one statement.\nCREATE TABLE b (id bigint);\n",
        "DROP INDEX IF EXISTS b_nothing;\nDROP TABLE b;\nSELECT 1;\n",
    )
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 0
    result = run(project, plainsql_empty_database_url, "rollback", "--all")
    assert result.exit_code == 0, result.output
    assert not exists(db, "a")
    assert not exists(db, "b")
    assert applied_ids(db) == []


@pytest.mark.slow
def test_sigkill_during_a_long_transactional_migration_leaves_the_database_as_it_was(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 0
    slow = (
        "-- 0002_slow: a table, then a long backfill.\n"
        "CREATE TABLE big (id bigint PRIMARY KEY);\nSELECT pg_sleep({seconds});\n"
    )
    write_migration(project, "0002_slow", slow.format(seconds=30), "DROP TABLE big;\n")
    runner = subprocess.Popen(
        [sys.executable, "-m", "plainsql", "migrate"],
        env=subprocess_env(plainsql_empty_database_url, project),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sleeping = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
        deadline = time.monotonic() + 30
        while db.execute(sleeping + " AND datname = current_database()").fetchone() != (1,):
            assert runner.poll() is None, "the runner ended before its migration slept"
            assert time.monotonic() < deadline, "the migration never started sleeping"
            time.sleep(0.1)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    # The server notices the dead client within a second and rolls the transaction back.
    deadline = time.monotonic() + 20
    busy = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    while db.execute(busy).fetchone() != (0,):
        assert time.monotonic() < deadline, "the killed runner's session stayed"
        time.sleep(0.1)
    assert applied_ids(db) == ["0001_t"]
    assert not exists(db, "big")

    write_migration(project, "0002_slow", slow.format(seconds=0), "DROP TABLE big;\n")
    result = run(project, plainsql_empty_database_url, "migrate")
    assert result.exit_code == 0, result.output
    assert "applied 0002_slow" in result.output
    assert exists(db, "big")


def test_a_failed_non_transactional_migration_is_dirty_until_resolved(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(
        project,
        "0002_index",
        "-- transactional: false\n-- 0002_index: an index built without blocking writes.\n"
        "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);\nSELECT 1 / 0;\n",
        "DROP INDEX CONCURRENTLY IF EXISTS t_id_idx;\n",
    )
    write_migration(project, "0003_u", "-- 0003_u: later.\nCREATE TABLE u ();\n", "DROP TABLE u;")
    failed = run(project, plainsql_empty_database_url, "migrate")
    assert failed.exit_code == 1
    assert "migrations/0002_index.sql:4:1 (statement 2 of 2): division by zero" in failed.output
    assert "1 statement(s) before it were committed and stay" in failed.output
    assert exists(db, "t_id_idx")  # committed: it ran outside a transaction

    again = run(project, plainsql_empty_database_url, "migrate")
    assert again.exit_code == 1
    assert "0002_index is dirty" in again.output
    assert "plainsql migrate --resolve 0002 --applied" in again.output
    assert "--rolled-back" in again.output
    assert not exists(db, "u")
    assert "[  dirty] 0002_index" in run(project, plainsql_empty_database_url, "status").output

    resolved = run(
        project, plainsql_empty_database_url, "migrate", "--resolve", "0002", "--applied"
    )
    assert resolved.exit_code == 0, resolved.output
    done = run(project, plainsql_empty_database_url, "migrate")
    assert done.exit_code == 0, done.output
    assert applied_ids(db) == ["0001_t", "0002_index", "0003_u"]


def test_resolve_as_rolled_back_lets_the_migration_run_again(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    forward = (
        "-- transactional: false\n-- 0002_index: an index built without blocking writes.\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_id_idx ON t (id);\nSELECT 1 / {divisor};\n"
    )
    write_migration(project, "0002_index", forward.format(divisor=0), "DROP INDEX t_id_idx;\n")
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 1
    db.execute("DROP INDEX t_id_idx")  # the operator undoes what was committed
    resolved = run(
        project, plainsql_empty_database_url, "migrate", "--resolve", "0002", "--rolled-back"
    )
    assert resolved.exit_code == 0, resolved.output
    write_migration(project, "0002_index", forward.format(divisor=1), "DROP INDEX t_id_idx;\n")
    done = run(project, plainsql_empty_database_url, "migrate")
    assert done.exit_code == 0, done.output
    assert applied_ids(db) == ["0001_t", "0002_index"]
    assert exists(db, "t_id_idx")


def test_a_database_migrated_before_checksums_gets_them_recorded(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    write_migration(settings.project_dir, "0001_t", *TABLE_T)
    with Migrator(settings) as migrator:
        migrator.migrate()
    db.execute("DELETE FROM plainsql_migration_checksums")
    with Migrator(settings) as migrator:
        assert migrator.migrate() == []
        assert any("recorded checksums of 1 migration" in note for note in migrator.notes)
    rows = db.execute("SELECT migration_id FROM plainsql_migration_checksums").fetchall()
    assert rows == [("0001_t",)]


def test_an_applied_migration_whose_file_is_gone_stops_migrate(
    settings: Settings, project: Path
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    with Migrator(settings) as migrator:
        migrator.migrate()
    (project / "migrations" / "0001_t.sql").unlink()
    (project / "migrations" / "0001_t.rollback.sql").unlink()
    write_migration(project, "0002_u", "-- 0002_u: later.\nCREATE TABLE u ();\n", "DROP TABLE u;")
    with (
        Migrator(settings) as migrator,
        pytest.raises(MigrationError, match=r"0001_t\.sql is missing"),
    ):
        migrator.migrate()


def test_the_transactional_directive_is_read_once_whatever_its_spacing(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    # yoyo's own parser did not strip values: "false " with a trailing space made yoyo run
    # the file in a transaction while plainsql's rules treated it as non-transactional.
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(
        project,
        "0002_index",
        "--  transactional:   false   \n-- 0002_index: an index built without blocking.\n"
        "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS t_id_idx;\n",
    )
    applied = run(project, plainsql_empty_database_url, "migrate")
    assert applied.exit_code == 0, applied.output
    assert exists(db, "t_id_idx")
    assert applied_ids(db) == ["0001_t", "0002_index"]


DUPLICATES = (
    "-- 0001_n: a table whose n is not unique yet.\n"
    "CREATE TABLE n_t (id int PRIMARY KEY, n int NOT NULL);\n"
    "INSERT INTO n_t VALUES (1, 7), (2, 7);\n",
    "DROP TABLE n_t;\n",
)
UNIQUE_N = (
    "-- transactional: false\n-- 0002_unique_n: n becomes unique, built without blocking.\n"
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS n_t_n_key ON n_t (n);\n",
    "DROP INDEX CONCURRENTLY IF EXISTS n_t_n_key;\n",
)


def test_a_failed_concurrent_index_build_is_named_and_blocks_resolve_until_dropped(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_n", *DUPLICATES)
    write_migration(project, "0002_unique_n", *UNIQUE_N)
    failed = run(project, plainsql_empty_database_url, "migrate")
    assert failed.exit_code == 1
    assert "INVALID index(es) public.n_t_n_key" in failed.output
    assert "DROP INDEX CONCURRENTLY public.n_t_n_key" in failed.output

    status = run(project, plainsql_empty_database_url, "status")
    assert "INVALID index public.n_t_n_key" in status.output
    again = run(project, plainsql_empty_database_url, "migrate")
    assert again.exit_code == 1
    assert "INVALID index(es) public.n_t_n_key" in again.output
    refused = run(
        project, plainsql_empty_database_url, "migrate", "--resolve", "0002", "--rolled-back"
    )
    assert refused.exit_code == 1
    assert "refusing to resolve 0002_unique_n" in refused.output

    db.execute("DROP INDEX CONCURRENTLY public.n_t_n_key")
    db.execute("DELETE FROM n_t WHERE id = 2")
    resolved = run(
        project, plainsql_empty_database_url, "migrate", "--resolve", "0002", "--rolled-back"
    )
    assert resolved.exit_code == 0, resolved.output
    done = run(project, plainsql_empty_database_url, "migrate")
    assert done.exit_code == 0, done.output
    valid = db.execute(
        "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = 'n_t_n_key'::regclass"
    ).fetchone()
    assert valid == (True,)


def test_migrate_refuses_to_start_while_an_invalid_index_exists(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_n", *DUPLICATES)
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 0
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY n_t_n_key ON n_t (n)")  # left INVALID
    write_migration(project, "0002_unique_n", *UNIQUE_N)
    refused = run(project, plainsql_empty_database_url, "migrate")
    assert refused.exit_code == 1
    assert "refusing to migrate: the database holds INVALID index(es) public.n_t_n_key" in (
        refused.stderr
    )
    assert "0002_unique_n" not in applied_ids(db)
    db.execute("DROP INDEX CONCURRENTLY public.n_t_n_key")
    db.execute("DELETE FROM n_t WHERE id = 2")
    done = run(project, plainsql_empty_database_url, "migrate")
    assert done.exit_code == 0, done.output
    assert "0002_unique_n" in applied_ids(db)


# -- dry runs: the same lock and rails as a real run, then the SQL, and no change ---------


def _edited(project: Path, url: str, db: psycopg.Connection[Any]) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    assert run(project, url, "migrate").exit_code == 0
    (project / "migrations" / "0001_t.sql").write_text(TABLE_T[0] + "-- edited\n")
    write_migration(project, "0002_u", "-- 0002_u: later.\nCREATE TABLE u ();\n", "DROP TABLE u;")


def _dirty(project: Path, url: str, db: psycopg.Connection[Any]) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(
        project,
        "0002_index",
        "-- transactional: false\n-- 0002_index: fails half-way.\n"
        "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);\nSELECT 1 / 0;\n",
        "DROP INDEX CONCURRENTLY IF EXISTS t_id_idx;\n",
    )
    assert run(project, url, "migrate").exit_code == 1


def _invalid_index(project: Path, url: str, db: psycopg.Connection[Any]) -> None:
    write_migration(project, "0001_n", *DUPLICATES)
    assert run(project, url, "migrate").exit_code == 0
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY n_t_n_key ON n_t (n)")  # left INVALID
    write_migration(project, "0002_unique_n", *UNIQUE_N)


def _missing_rollback(project: Path, url: str, db: psycopg.Connection[Any]) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(project, "0002_u", "-- 0002_u: no way back.\nCREATE TABLE u ();\n", None)


def _irreversible(project: Path, url: str, db: psycopg.Connection[Any]) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(
        project, "0002_u", "-- 0002_u: x.\n-- irreversible: data goes\nCREATE TABLE u ();\n", None
    )
    assert run(project, url, "migrate").exit_code == 0


def _held_lock(project: Path, url: str, db: psycopg.Connection[Any]) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    assert run(project, url, "migrate").exit_code == 0
    write_migration(project, "0002_u", "-- 0002_u: later.\nCREATE TABLE u ();\n", "DROP TABLE u;")
    db.execute("SET application_name = 'deploy-42'")
    db.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))


def _out_of_order(project: Path, url: str, db: psycopg.Connection[Any]) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(project, "0003_v", "-- 0003_v: x.\nCREATE TABLE v ();\n", "DROP TABLE v;")
    assert run(project, url, "migrate").exit_code == 0
    write_migration(project, "0002_u", "-- 0002_u: late.\nCREATE TABLE u ();\n", "DROP TABLE u;")


REFUSALS = [
    (_edited, "migrate", "0001_t.sql changed after 0001_t was applied"),
    (_edited, "rollback", "0001_t.sql changed after 0001_t was applied"),
    (_dirty, "migrate", "0002_index is dirty"),
    (_dirty, "rollback", "0002_index is dirty"),
    (_invalid_index, "migrate", "INVALID index(es) public.n_t_n_key"),
    (_missing_rollback, "migrate", "no rollback file 0002_u.rollback.sql"),
    (_irreversible, "rollback", "0002_u is irreversible: data goes"),
    (_held_lock, "migrate", "another migration runner holds the migration lock"),
    (_held_lock, "rollback", "another migration runner holds the migration lock"),
    (_out_of_order, "migrate", "migrations/0002_u.sql is not applied but sorts before 0003_v"),
]


def _state(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Every table, index and ledger row: what a run could change."""
    rows = conn.execute(
        "SELECT relname, relkind::text FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE nspname = 'public' ORDER BY 1"
    ).fetchall()
    if exists(conn, "_yoyo_log"):
        rows += conn.execute(
            "SELECT migration_id, operation FROM _yoyo_log ORDER BY 1, 2"
        ).fetchall()
    return rows


@pytest.mark.parametrize(
    ("setup", "command", "refusal"),
    REFUSALS,
    ids=[f"{setup.__name__.strip('_')}-{command}" for setup, command, _ in REFUSALS],
)
def test_a_dry_run_refuses_what_the_real_run_refuses(
    project: Path,
    plainsql_empty_database_url: str,
    db: psycopg.Connection[Any],
    setup: Any,
    command: str,
    refusal: str,
) -> None:
    setup(project, plainsql_empty_database_url, db)
    before = _state(db)
    args = (command, "--lock-timeout", "0.3")
    dry = run(project, plainsql_empty_database_url, *args, "--dry-run")
    assert _state(db) == before
    real = run(project, plainsql_empty_database_url, *args)
    assert (dry.exit_code, real.exit_code) == (1, 1), (dry.output, real.output)
    assert refusal in dry.stderr
    # The same refusal; a fresh number a message suggests is the clock's, so it may move on.
    fresh = re.compile(r"\d{14}")
    assert fresh.sub("N", dry.stderr.splitlines()[-1]) == fresh.sub(
        "N", real.stderr.splitlines()[-1]
    )
    assert "-- would" not in dry.stdout


def test_a_dry_run_prints_the_sql_in_order_and_changes_nothing(
    project: Path, plainsql_empty_database_url: str, db: psycopg.Connection[Any]
) -> None:
    write_migration(project, "0001_t", *TABLE_T)
    write_migration(project, "0002_u", "-- 0002_u: later.\nCREATE TABLE u ();\n", "DROP TABLE u;")
    dry = run(project, plainsql_empty_database_url, "migrate", "--dry-run")
    assert dry.exit_code == 0, dry.output
    report = ("-- locks of SHARE or stronger", "--   ")  # tests/toolkit/migrate/test_lockreport.py
    lines = dry.stdout.splitlines(keepends=True)[1:]
    assert "".join(line for line in lines if not line.startswith(report)) == (
        "-- would apply 0001_t: migrations/0001_t.sql (one transaction, recorded with it)\n"
        f"{TABLE_T[0]}\n"
        "-- would apply 0002_u: migrations/0002_u.sql (one transaction, recorded with it)\n"
        "-- 0002_u: later.\nCREATE TABLE u ();\n\n"
    )
    assert _state(db) == []  # not even the ledger tables
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 0
    back = run(project, plainsql_empty_database_url, "rollback", "--steps", "2", "--dry-run")
    assert back.exit_code == 0, back.output
    assert [line for line in back.stdout.splitlines() if not line.startswith("database:")] == [
        "-- would roll back 0002_u: migrations/0002_u.rollback.sql (one transaction, recorded "
        "with it)",
        "DROP TABLE u;",
        "",
        "-- would roll back 0001_t: migrations/0001_t.rollback.sql (one transaction, recorded "
        "with it)",
        "DROP TABLE t;",
        "",
    ]
    assert exists(db, "u")
