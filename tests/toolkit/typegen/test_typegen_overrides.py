"""Nullability overrides in SQL: ``AS "title!"`` / ``AS "title?"`` reach typegen, not the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from plainsql._sqltext import strip_nullability_overrides
from plainsql.queries import load_async_queries, load_queries


def test_marks_are_stripped_and_returned_by_column_name() -> None:
    sql, marks = strip_nullability_overrides(
        'SELECT lower(a) AS "low!", b as "Maybe?", c AS /* why */ "c!" FROM t'
    )
    assert sql == 'SELECT lower(a) AS "low", b as "Maybe", c AS /* why */ "c" FROM t'
    assert marks == {"low": True, "Maybe": False, "c": True}


def test_only_a_quoted_alias_after_as_is_a_mark() -> None:
    text = (
        'SELECT \'AS "x!"\' AS s, "weird!" FROM t -- AS "y!"\n'
        'WHERE "odd?" = 1 AND alias "z!" IS NULL AND has "w!" IS NULL'
    )
    assert strip_nullability_overrides(text) == (text, {})


def test_the_query_returns_the_column_without_its_mark(
    tmp_path: Path, plainsql_conn: psycopg.Connection[Any]
) -> None:
    (tmp_path / "marks.sql").write_text(
        "-- name: get_marked()^\n"
        "-- Two marked columns.\n"
        'SELECT upper(\'a\') AS "letter!", NULL::int AS "maybe?", \':x\' AS "text!";\n'
    )
    queries = load_queries(tmp_path)
    assert queries.get_marked(plainsql_conn) == {"letter": "A", "maybe": None, "text": ":x"}
    assert queries.driver_adapter.nullability_overrides == {  # type: ignore[union-attr]
        "get_marked": {"letter": True, "maybe": False, "text": True}
    }
    async_queries = load_async_queries(tmp_path)
    assert async_queries.get_marked.sql == queries.get_marked.sql
