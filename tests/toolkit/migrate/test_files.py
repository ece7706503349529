"""Reading migration files: statement splitting, header directives, the runner's file rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from plainsql.errors import MigrationError
from plainsql.migrate.files import (
    discover,
    location,
    new_migration,
    next_number,
    split_statements,
    without_concurrently,
)


def test_split_statements_keeps_bodies_quotes_and_comments_whole() -> None:
    text = (
        "-- header; with a semicolon\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;\n"
        "/* block; comment */ COMMENT ON FUNCTION f() IS 'a; b';\n"
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC SELECT CASE WHEN true THEN 1 ELSE 2 END; SELECT 3; END;\n"
        "SELECT 1"
    )
    statements = split_statements(text)
    assert [s.first_line.split()[0:2] for s in statements] == [
        ["CREATE", "FUNCTION"],
        ["COMMENT", "ON"],
        ["CREATE", "FUNCTION"],
        ["SELECT", "1"],
    ]
    assert location(text, statements[1].start) == (3, 22)
    assert statements[2].text.rstrip().endswith("SELECT 3; END;")


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def test_directives_and_problems_of_a_file(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.sql", "-- 0001_a: fine.\nCREATE TABLE a ();\n")
    _write(tmp_path, "0001_a.rollback.sql", "DROP TABLE a;\n")
    _write(
        tmp_path,
        "0002_b.sql",
        "-- 0002_b: an index on a.\n\nCREATE INDEX CONCURRENTLY a_x ON a (x);\nCOMMIT;\n",
    )
    _write(tmp_path, "0002_b.rollback.sql", "DROP INDEX a_x;\n")
    _write(
        tmp_path, "0003_c.sql", "-- 0003_c: gone.\n-- irreversible: data is deleted\nSELECT 1;\n"
    )
    _write(tmp_path, "0004_d.sql", "-- transactional: false\n-- 0004_d.\nSELECT 1;\n")
    a, b, c, d = discover(tmp_path)
    assert a.problems() == []
    assert a.transactional
    assert [(line, rule) for line, rule, _ in b.problems()] == [
        (3, "concurrently-non-transactional"),
        (4, "transaction-control"),
    ]
    assert c.irreversible == "data is deleted"
    assert c.problems() == []
    assert not d.transactional
    assert [rule for _, rule, _ in d.problems()] == ["rollback-present"]


def test_numbers_sort_as_integers_so_old_sequences_come_before_timestamps(tmp_path: Path) -> None:
    for name in ("20260101000000_c", "0002_b", "0010_d", "0001_a", "20251231235959_e"):
        _write(tmp_path, f"{name}.sql", "-- x\n-- irreversible: test\nSELECT 1;\n")
    assert [m.id for m in discover(tmp_path)] == [
        "0001_a",
        "0002_b",
        "0010_d",
        "20251231235959_e",
        "20260101000000_c",
    ]


def test_two_files_with_one_number_are_refused_naming_both(tmp_path: Path) -> None:
    _write(tmp_path, "20261128093000_orders.sql", "-- x\n-- irreversible: test\nSELECT 1;\n")
    _write(tmp_path, "20261128093000_invoices.sql", "-- x\n-- irreversible: test\nSELECT 1;\n")
    with pytest.raises(MigrationError) as caught:
        discover(tmp_path)
    message = str(caught.value)
    assert "20261128093000_invoices.sql and 20261128093000_orders.sql" in message
    assert "share the number 20261128093000" in message


def test_a_misnamed_file_is_refused_with_the_naming_rule(tmp_path: Path) -> None:
    _write(tmp_path, "202611280930_short.sql", "SELECT 1;\n")
    with pytest.raises(MigrationError, match="fourteen-digit UTC timestamp"):
        discover(tmp_path)


def test_new_in_the_same_second_takes_the_next_one(tmp_path: Path) -> None:
    now = datetime(2026, 11, 28, 9, 30, 59, 500000, tzinfo=UTC)
    first, _ = new_migration(tmp_path, "orders", now=now)
    second, _ = new_migration(tmp_path, "orders", now=now)
    third, _ = new_migration(tmp_path, "invoices", now=now)
    assert [p.name for p in (first, second, third)] == [
        "20261128093059_orders.sql",
        "20261128093100_orders.sql",
        "20261128093101_invoices.sql",
    ]
    assert next_number([], now) == "20261128093059"


def test_without_concurrently_drops_the_keyword_of_each_statement_that_has_it() -> None:
    text = (
        "-- header\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON t (concurrently_col);\n"
        "DROP INDEX concurrently IF EXISTS b_idx;\n"
        "REINDEX (VERBOSE) INDEX CONCURRENTLY c_idx;\n"
        "ALTER TABLE concurrently_t DETACH PARTITION p CONCURRENTLY;\n"
        "SELECT 'CONCURRENTLY';\n"
    )
    assert without_concurrently(text) == (
        "-- header\n"
        "CREATE UNIQUE INDEX IF NOT EXISTS a_idx ON t (concurrently_col);\n"
        "DROP INDEX IF EXISTS b_idx;\n"
        "REINDEX (VERBOSE) INDEX c_idx;\n"
        "ALTER TABLE concurrently_t DETACH PARTITION p;\n"
        "SELECT 'CONCURRENTLY';\n"
    )
