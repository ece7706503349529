"""queries.py: our adapters fix aiosql 15's psycopg defects; each defect has a test here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from plainsql.errors import (
    InvalidInput,
    NotNullViolation,
    QueryNotFound,
    SQLFileError,
    UniqueViolation,
)
from plainsql.queries import Queries, load_async_queries, load_queries

DEFECTS_SQL = """\
-- name: list_names_like(prefix)
-- Names starting with the prefix: the literal % must survive.
SELECT name FROM demo_items WHERE name LIKE :prefix || '%' ORDER BY name;

-- name: get_percent_sign()$
-- A literal percent sign.
SELECT '%';

-- name: get_slices(numbers)^
-- Array slices with literal and column bounds, next to a real parameter.
SELECT (:numbers::int[])[1:2] AS head, (:numbers::int[])[2:3] AS middle;

-- name: create_add_function#
-- A function whose $$ body mentions :x, which is not a parameter.
CREATE FUNCTION demo_add(x int, y int) RETURNS int LANGUAGE sql AS $$ SELECT x + y /* :x */ $$;

-- name: get_added(a, b)$
-- Calls the function.
SELECT demo_add(:a, :b);

-- name: create_item<!
-- Inserts an item and returns its one generated column.
INSERT INTO demo_items (name) VALUES (:name) RETURNING id;

-- name: create_item_full<!
-- Inserts an item and returns the whole row.
INSERT INTO demo_items (name) VALUES (:name) RETURNING id, name;

-- name: create_items*!
-- Inserts many items.
INSERT INTO demo_items (name) VALUES (:name);

-- name: list_items()
-- Every item in id order.
SELECT id, name FROM demo_items ORDER BY id;
"""


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "sql" / "demo"
    folder.mkdir(parents=True)
    (folder / "defects.sql").write_text(DEFECTS_SQL)
    return tmp_path / "sql"


@pytest.fixture
def demo_conn(plainsql_conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    plainsql_conn.execute(
        "CREATE TABLE demo_items (id serial PRIMARY KEY, name text NOT NULL UNIQUE)"
    )
    plainsql_conn.execute("INSERT INTO demo_items (name) VALUES ('apple'), ('apricot'), ('banana')")
    return plainsql_conn


def test_literal_percent_in_like_and_in_a_string(
    sql_dir: Path, demo_conn: psycopg.Connection[Any]
) -> None:
    q = load_queries(sql_dir)
    rows = q.demo.list_names_like(demo_conn, prefix="ap")
    assert [r["name"] for r in rows] == ["apple", "apricot"]
    assert q.demo.get_percent_sign(demo_conn) == "%"


def test_array_slices_are_not_parameters(sql_dir: Path, demo_conn: psycopg.Connection[Any]) -> None:
    q = load_queries(sql_dir)
    row = q.demo.get_slices(demo_conn, numbers=[10, 20, 30])
    assert row == {"head": [10, 20], "middle": [20, 30]}


def test_dollar_quoted_body_keeps_its_colons(
    sql_dir: Path, demo_conn: psycopg.Connection[Any]
) -> None:
    q = load_queries(sql_dir)
    q.demo.create_add_function(demo_conn)
    assert q.demo.get_added(demo_conn, a=2, b=3) == 5
    source = demo_conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'demo_add'").fetchone()
    assert source is not None
    assert ":x" in source[0]


async def test_insert_returning_has_the_same_shape_sync_and_async(
    sql_dir: Path, demo_conn: psycopg.Connection[Any], plainsql_database_url: str
) -> None:
    demo_conn.commit()
    sync_q = load_queries(sql_dir)
    async_q = load_async_queries(sql_dir)
    one_column_sync = sync_q.demo.create_item(demo_conn, name="cherry")
    full_sync = sync_q.demo.create_item_full(demo_conn, name="damson")
    demo_conn.commit()
    async with await psycopg.AsyncConnection.connect(plainsql_database_url) as aconn:
        one_column_async = await async_q.demo.create_item(aconn, name="elder")
        full_async = await async_q.demo.create_item_full(aconn, name="fig")
    assert set(one_column_sync) == set(one_column_async) == {"id"}
    assert set(full_sync) == set(full_async) == {"id", "name"}


async def test_many_and_select_return_the_same_types_sync_and_async(
    sql_dir: Path, demo_conn: psycopg.Connection[Any], plainsql_database_url: str
) -> None:
    demo_conn.commit()
    sync_q = load_queries(sql_dir)
    async_q = load_async_queries(sql_dir)
    assert sync_q.demo.create_items(demo_conn, [{"name": "g1"}, {"name": "g2"}]) == 2
    demo_conn.commit()
    async with await psycopg.AsyncConnection.connect(plainsql_database_url) as aconn:
        assert await async_q.demo.create_items(aconn, [{"name": "h1"}, {"name": "h2"}]) == 2
        async_rows = await async_q.demo.list_items(aconn)
    sync_rows = sync_q.demo.list_items(demo_conn)
    assert isinstance(sync_rows, list)
    assert isinstance(async_rows, list)
    assert len(sync_rows) == len(async_rows) == 7


def test_cursor_variant_streams_rows(sql_dir: Path, demo_conn: psycopg.Connection[Any]) -> None:
    q = load_queries(sql_dir)
    with q.demo.list_items_cursor(demo_conn) as cur:
        assert [row["name"] for row in cur] == ["apple", "apricot", "banana"]


def test_unknown_query_suggests_close_names(sql_dir: Path) -> None:
    q = load_queries(sql_dir)
    with pytest.raises(QueryNotFound) as caught:
        q.demo.list_item(None)
    assert "list_items" in caught.value.suggestions
    assert "did you mean" in str(caught.value)
    with pytest.raises(QueryNotFound, match="demo"):
        q.dmeo  # noqa: B018 - the attribute access is what is tested


def test_get_by_dotted_name(sql_dir: Path) -> None:
    q = load_queries(sql_dir)
    assert q.get("demo.list_items") is q.demo.list_items


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("-- name: ok()$\n-- Fine.\nSELECT 1;\n\n-- name: bad name!\nSELECT 1;\n", 5, "invalid"),
        ("-- name: get_x(a)^\n-- Undeclared b.\nSELECT :a, :b;\n", 1, "undeclared"),
        ("-- name: get_x(a, b)^\n-- Unused b.\nSELECT :a;\n", 1, "unused"),
        ("SELECT 1;\n-- name: get_x()$\n-- Orphan SQL above.\nSELECT 1;\n", 1, "before the first"),
        ("/* a\nlong\ncomment */\n-- name: get_x()$\n-- Open quote.\nSELECT 'oops;\n", 6, "unter"),
        ("-- name: get_x()$\n", 1, "empty"),
    ],
)
def test_malformed_files_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = tmp_path / "broken.sql"
    path.write_text(text)
    with pytest.raises(SQLFileError) as caught:
        load_queries(tmp_path)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert f"broken.sql:{line}:" in str(caught.value)
    assert fragment in str(caught.value)


def test_same_query_name_twice_in_a_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("-- name: get_x()$\n-- One.\nSELECT 1;\n")
    (tmp_path / "b.sql").write_text("-- name: get_x()$\n-- Two.\nSELECT 2;\n")
    with pytest.raises(SQLFileError, match="already defined"):
        load_queries(tmp_path)


def test_missing_sql_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SQLFileError, match="no such"):
        load_queries(tmp_path / "absent")


def test_unique_violation_is_mapped_with_query_and_constraint(
    sql_dir: Path, demo_conn: psycopg.Connection[Any]
) -> None:
    q = load_queries(sql_dir)
    with pytest.raises(UniqueViolation) as caught:
        q.demo.create_item(demo_conn, name="apple")
    error = caught.value
    assert error.query_name == "demo.create_item"
    assert error.constraint == "demo_items_name_key"
    assert isinstance(error.__cause__, psycopg.errors.UniqueViolation)


def test_not_null_violation_names_the_column(
    sql_dir: Path, demo_conn: psycopg.Connection[Any]
) -> None:
    q = load_queries(sql_dir)
    with pytest.raises(NotNullViolation) as caught:
        q.demo.create_item(demo_conn, name=None)
    assert caught.value.column == "name"


def test_nul_byte_in_text_is_invalid_input_and_nothing_is_written(
    sql_dir: Path, demo_conn: psycopg.Connection[Any]
) -> None:
    q = load_queries(sql_dir)
    demo_conn.commit()
    with pytest.raises(InvalidInput) as caught:
        q.demo.create_item(demo_conn, name="nul\x00byte")
    assert caught.value.query_name == "demo.create_item"
    assert "NUL" in str(caught.value)
    demo_conn.rollback()
    assert len(q.demo.list_items(demo_conn)) == 3


async def test_async_queries_over_the_pool(
    sql_dir: Path, plainsql_async_pool: AsyncConnectionPool[Any]
) -> None:
    q: Queries = load_async_queries(sql_dir)
    async with plainsql_async_pool.connection() as conn:
        await conn.execute("CREATE TABLE demo_items (id serial PRIMARY KEY, name text UNIQUE)")
        created = await q.demo.create_item_full(conn, name="kiwi")
        assert created["name"] == "kiwi"
        assert await q.demo.get_percent_sign(conn) == "%"


def test_sync_and_async_adapters_stay_twins() -> None:
    """The two adapters are hand-written twins: same methods, same parameters, same results."""
    import inspect

    from plainsql.queries import AsyncPsycopgAdapter, PsycopgAdapter

    def methods(cls: type) -> dict[str, list[str]]:
        return {
            name: list(inspect.signature(fn).parameters)
            for name, fn in vars(cls).items()
            if callable(fn) and not name.startswith("__")
        }

    assert methods(PsycopgAdapter) == methods(AsyncPsycopgAdapter)


def test_a_query_may_not_shadow_a_method_of_the_namespace(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("-- name: get(x)^\n-- Clashes with Queries.get.\nSELECT :x;\n")
    with pytest.raises(SQLFileError, match="get"):
        load_queries(tmp_path)
