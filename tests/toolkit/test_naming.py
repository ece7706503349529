"""naming.py and the loader: each named query's SQL carries its name, unless turned off."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

from plainsql import naming
from plainsql.config import Settings, load_settings
from plainsql.queries import load_queries

SQL = """\
-- name: get_share(ratio)$
-- The ratio as a percentage string ('%' is a literal, not a placeholder).
SELECT (:ratio * 100)::text || '%' AS share;

-- name: list_numbers(top)
-- The numbers from 1 to top.
SELECT n AS number FROM generate_series(1, :top) AS n;
"""


def project_settings(tmp_path: Path, environ: dict[str, str] | None = None) -> Settings:
    (tmp_path / "pyproject.toml").write_text("[tool.plainsql]\n")
    (tmp_path / "sql" / "reports").mkdir(parents=True)
    (tmp_path / "sql" / "reports" / "numbers.sql").write_text(SQL)
    return load_settings(environ or {}, project_dir=tmp_path)


def test_each_query_carries_its_full_name_after_its_first_word(tmp_path: Path) -> None:
    q: Any = load_queries(tmp_path / "sql", settings=project_settings(tmp_path))
    assert q.reports.get_share.sql.startswith("SELECT /*query='reports.get_share'*/ (")
    listed = q.reports.list_numbers.sql
    assert listed.startswith("SELECT /*query='reports.list_numbers'*/ n")
    assert naming.names_in(listed) == ["reports.list_numbers"]
    assert naming.unnamed(listed) == listed.replace(" /*query='reports.list_numbers'*/", "")


def test_named_queries_run_and_keep_literal_percent_signs(
    tmp_path: Path, plainsql_empty_database_url: str
) -> None:
    q: Any = load_queries(tmp_path / "sql", settings=project_settings(tmp_path))
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        conn.prepare_threshold = 0  # prepared on first use: the text is the same on every call
        for _ in range(3):
            assert q.reports.get_share(conn, ratio=0.5) == "50%"
        assert [r["number"] for r in q.reports.list_numbers(conn, top=3)] == [1, 2, 3]


def test_the_setting_turns_names_off(tmp_path: Path) -> None:
    settings = project_settings(tmp_path, {"PLAINSQL_NAME_STATEMENTS": "false"})
    assert settings.name_statements is False
    q: Any = load_queries(tmp_path / "sql", settings=settings)
    assert "/*query=" not in q.reports.get_share.sql
    assert naming.names_in(q.reports.list_numbers.sql) == []
    named: Any = load_queries(tmp_path / "sql", settings=replace(settings, name_statements=True))
    assert naming.unnamed(named.reports.get_share.sql) == q.reports.get_share.sql


def test_a_name_round_trips_through_the_comment() -> None:
    text = naming.named("select 1", "ns.odd name'%", pyformat=False)
    assert naming.names_in(text) == ["ns.odd name'%"]
    assert text == "select /*query='ns.odd%20name%27%25'*/ 1"  # URL-encoded, then quoted
    assert naming.named("(select 1)", "a.b", pyformat=False) == "/*query='a.b'*/ (select 1)"
    commented = "/* why */\n-- how\nWITH x AS (select 1) table x"
    assert naming.named(commented, "a.b", pyformat=True) == (
        "/* why */\n-- how\nWITH /*query='a.b'*/ x AS (select 1) table x"
    )
