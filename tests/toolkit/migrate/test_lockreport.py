"""The lock report (`migrate --dry-run`, `verify`) and the lint rule ``blocking-scan``.

Each test builds a small project: a parent and a child table, filled by a data migration (a
table has rows on the scratch database only when a migration put them there), then the
change under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from plainsql.cli import cli
from plainsql.config import Settings, load_settings
from plainsql.migrate.lint import Finding, lint_migrations
from plainsql.migrate.lockreport import StatementLocks, lock_report
from plainsql.testing import TestServer

from ..fixtures import write_migration

TABLES = (
    "-- 0001_tables: parents and their children.\n"
    "CREATE TABLE parent (id integer PRIMARY KEY);\n"
    "CREATE TABLE child (id integer PRIMARY KEY, parent_id integer, size integer);\n"
    "CREATE INDEX child_parent_id_idx ON child (parent_id);\n"
)
ROWS = (
    "-- 0002_rows: the rows the tables hold in production.\n"
    "INSERT INTO parent SELECT g FROM generate_series(1, 10) g;\n"
    "INSERT INTO child SELECT g, g % 10 + 1, g FROM generate_series(1, 100) g;\n"
)
FK = (
    "-- 0003_child_parent: each child's parent exists.\n"
    "ALTER TABLE child ADD CONSTRAINT child_parent_id_fkey\n"
    "    FOREIGN KEY (parent_id) REFERENCES parent (id){not_valid};\n"
)
DROP_FK = "ALTER TABLE child DROP CONSTRAINT child_parent_id_fkey;\n"


@pytest.fixture
def settings(plainsql_server: TestServer, tmp_path: Path) -> Settings:
    (tmp_path / "migrations").mkdir()
    write_migration(tmp_path, "0001_tables", TABLES, "DROP TABLE child;\nDROP TABLE parent;\n")
    return load_settings(
        {"DATABASE_URL": plainsql_server.admin_conninfo, "PLAINSQL_PROJECT_DIR": str(tmp_path)}
    )


def filled(settings: Settings) -> None:
    write_migration(settings.project_dir, "0002_rows", ROWS, "DELETE FROM child;\n")


def scans(settings: Settings) -> list[Finding]:
    return [f for f in lint_migrations(settings, squawk=False) if f.rule == "blocking-scan"]


def locks_of(report: list[StatementLocks], migration_id: str) -> list[list[str]]:
    return [[lock.describe() for lock in e.locks] for e in report if e.migration_id == migration_id]


def test_a_validated_foreign_key_on_a_filled_table_is_flagged(settings: Settings) -> None:
    filled(settings)
    write_migration(settings.project_dir, "0003_child_parent", FK.format(not_valid=""), DROP_FK)
    found = scans(settings)
    assert [(f.path, f.line) for f in found] == [("migrations/0003_child_parent.sql", 2)]
    message = found[0].message
    assert "validates constraint child_parent_id_fkey of child, which has rows" in message
    assert "SHARE ROW EXCLUSIVE" in message
    assert "add it NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT" in message


def test_not_valid_then_validate_is_not_flagged(settings: Settings) -> None:
    filled(settings)
    write_migration(
        settings.project_dir, "0003_child_parent", FK.format(not_valid=" NOT VALID"), DROP_FK
    )
    write_migration(
        settings.project_dir,
        "0004_child_parent_valid",
        "-- 0004_child_parent_valid: check the existing rows, writes going on.\n"
        "-- irreversible: validating leaves nothing to undo\n"
        "ALTER TABLE child VALIDATE CONSTRAINT child_parent_id_fkey;\n",
        None,
    )
    assert scans(settings) == []
    report = lock_report(settings, ["0003_child_parent", "0004_child_parent_valid"])
    # NOT VALID still takes SHARE ROW EXCLUSIVE on both tables, but only for a moment;
    # VALIDATE takes SHARE UPDATE EXCLUSIVE, which is not reported (it blocks no reads or writes).
    assert locks_of(report, "0003_child_parent") == [
        ["SHARE ROW EXCLUSIVE on child", "SHARE ROW EXCLUSIVE on parent"]
    ]
    assert locks_of(report, "0004_child_parent_valid") == [[]]


def test_the_same_foreign_key_on_an_empty_table_is_not_flagged(settings: Settings) -> None:
    write_migration(settings.project_dir, "0003_child_parent", FK.format(not_valid=""), DROP_FK)
    assert scans(settings) == []


@pytest.mark.parametrize(
    ("forward", "rollback", "what", "fix"),
    [
        (
            "CREATE INDEX child_size_idx ON child (size);\n",
            "DROP INDEX child_size_idx;\n",
            "builds index child_size_idx of child",
            "CREATE INDEX CONCURRENTLY",
        ),
        (
            "ALTER TABLE child ALTER COLUMN size TYPE bigint;\n",
            "ALTER TABLE child ALTER COLUMN size TYPE integer;\n",
            "rewrites the table of child, which has rows, holding ACCESS EXCLUSIVE (blocks its "
            "reads and writes",
            "add a nullable column",
        ),
        (
            "ALTER TABLE child ALTER COLUMN size SET NOT NULL;\n",
            "ALTER TABLE child ALTER COLUMN size DROP NOT NULL;\n",
            "SET NOT NULL scans size of child",
            "CHECK (column IS NOT NULL) NOT VALID",
        ),
        (
            "ALTER TABLE child ADD CONSTRAINT child_size_check CHECK (size > 0);\n",
            "ALTER TABLE child DROP CONSTRAINT child_size_check;\n",
            "validates constraint child_size_check of child",
            "NOT VALID",
        ),
    ],
)
def test_each_blocking_scan_is_flagged_with_its_fix(
    settings: Settings, forward: str, rollback: str, what: str, fix: str
) -> None:
    filled(settings)
    write_migration(
        settings.project_dir, "0003_change", f"-- 0003_change: the change.\n{forward}", rollback
    )
    found = scans(settings)
    assert len(found) == 1, found
    assert what in found[0].message
    assert fix in found[0].message


def test_an_ignore_with_a_reason_accepts_it(settings: Settings) -> None:
    filled(settings)
    write_migration(
        settings.project_dir,
        "0003_child_parent",
        "-- plainsql-ignore blocking-scan child: child holds 100 rows in production\n"
        + FK.format(not_valid=""),
        DROP_FK,
    )
    assert lint_migrations(settings, squawk=False) == []


def test_the_report_lists_each_statement_and_where_it_first_locks(settings: Settings) -> None:
    write_migration(
        settings.project_dir,
        "0002_change",
        "-- 0002_change: a column, an index, a trigger.\n"
        "ALTER TABLE child ADD COLUMN note text;\n"
        "CREATE INDEX child_note_idx ON child (note);\n"
        "CREATE TABLE audit (id integer PRIMARY KEY);\n"
        "COMMENT ON TABLE audit IS 'what changed';\n",
        "DROP TABLE audit;\nDROP INDEX child_note_idx;\nALTER TABLE child DROP COLUMN note;\n",
    )
    report = lock_report(settings, ["0002_change"])
    assert [(e.index, e.line, e.first_line) for e in report] == [
        (0, 2, "ALTER TABLE child ADD COLUMN note text;"),
        (1, 3, "CREATE INDEX child_note_idx ON child (note);"),
        (2, 4, "CREATE TABLE audit (id integer PRIMARY KEY);"),
        (3, 5, "COMMENT ON TABLE audit IS 'what changed';"),
    ]
    assert locks_of(report, "0002_change") == [
        ["ACCESS EXCLUSIVE on child"],
        # pg_locks keeps one row per mode: the index build's SHARE is new, though the
        # ACCESS EXCLUSIVE taken above already kept everyone out
        ["SHARE on child", "ACCESS EXCLUSIVE on child_note_idx (created here)"],
        [
            "ACCESS EXCLUSIVE on audit (created here)",
            "SHARE on audit (created here)",  # building its primary key's index
            "ACCESS EXCLUSIVE on audit_pkey (created here)",
        ],
        [],
    ]
    assert all(e.held_seconds >= e.seconds for e in report)


def test_dry_run_and_verify_print_the_locks_of_each_statement(
    settings: Settings, plainsql_empty_database_url: str
) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": plainsql_empty_database_url}
    args = ["--project-dir", str(settings.project_dir)]
    write_migration(
        settings.project_dir,
        "0002_index",
        "-- 0002_index: find children by size.\n-- transactional: false\n"
        "CREATE INDEX CONCURRENTLY child_size_idx ON child (size);\n"
        "ALTER TABLE child ADD COLUMN note text;\n",
        "ALTER TABLE child DROP COLUMN note;\nDROP INDEX CONCURRENTLY child_size_idx;\n",
    )
    result = runner.invoke(cli, [*args, "migrate", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "-- locks of SHARE or stronger taken by 0001_tables" in out
    assert "--   statement 1 of 2 (line 3): CREATE INDEX CONCURRENTLY child_size_idx" in out
    assert "--       runs outside a transaction" in out
    assert "--       ACCESS EXCLUSIVE on child; ran" in out
    assert out.index("taken by 0002_index") < out.index("-- would apply 0002_index")
    verify = runner.invoke(cli, [*args, "verify"], env=env)
    assert verify.exit_code == 0, verify.output
    assert "  statement 2 of 2 (line 4): ALTER TABLE child ADD COLUMN note text;" in verify.output
