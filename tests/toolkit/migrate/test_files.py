"""Reading migration files: statement splitting, header directives, the runner's file rules."""

from __future__ import annotations

from pathlib import Path

from plainsql.migrate.files import discover, location, split_statements


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
