"""plainsql used by a project of its own: installed from the wheel with the extras it needs.

The project (made here in a temporary folder) has its own pyproject.toml with a
``[tool.plainsql]`` table, migrations, named queries and one test file using the plugin's
``plainsql_*`` fixtures in pytest-asyncio's default strict mode and only names of
``import plainsql``. Every command runs on a
database of its own, created and dropped here, on the server the main suite uses.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from plainsql.migrate.ledger import BOOKKEEPING_TABLES
from plainsql.testing import TestServer, create_database, drop_database, unique_name

from .conftest import Packaging

pytestmark = pytest.mark.standalone

FILES = {
    "pyproject.toml": """
        [project]
        name = "shop"
        version = "0.1.0"

        [tool.plainsql]
        typegen-out = "shop_db"
        typegen-flavours = ["async"]

        [tool.pytest.ini_options]
        addopts = "-p no:cacheprovider"
        asyncio_default_fixture_loop_scope = "function"
        """,
    "migrations/0001_items.sql": """
        -- 0001_items: the shop's items, each with a unique name.
        CREATE TABLE items (
            id         bigint GENERATED ALWAYS AS IDENTITY,
            name       text NOT NULL,
            note       text,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT items_pkey PRIMARY KEY (id),
            CONSTRAINT items_name_key UNIQUE (name)
        );
        """,
    "migrations/0001_items.rollback.sql": """
        -- 0001_items: drop the items table.
        DROP TABLE items;
        """,
    "sql/items.sql": """
        -- name: create_item(name, note)<!
        -- The new item.
        INSERT INTO items (name, note) VALUES (:name, :note) RETURNING id, name, note;

        -- name: list_items()
        -- Every item, by name.
        SELECT id, name, note FROM items ORDER BY name;
        """,
    "tests/test_items.py": """
        import pytest

        import plainsql
        from plainsql.errors import UniqueViolation


        @pytest.mark.asyncio
        async def test_items_async(plainsql_async_pool, plainsql_async_queries):
            async with plainsql_async_pool.connection() as conn:
                await plainsql_async_queries.create_item(conn, name="pen", note=None)
                rows = await plainsql_async_queries.list_items(conn)
            assert [row["name"] for row in rows] == ["pen"]


        def test_items_sync(plainsql_conn, plainsql_queries):
            plainsql_queries.create_item(plainsql_conn, name="ink", note="blue")
            with pytest.raises(UniqueViolation) as caught:
                plainsql_queries.create_item(plainsql_conn, name="ink", note=None)
            assert caught.value.constraint == "items_name_key"


        def test_each_test_has_its_own_database(plainsql_conn):
            count = plainsql_conn.execute("SELECT count(*) FROM items").fetchone()
            assert count == (0,)


        def test_the_public_api(plainsql_pool, plainsql_settings):
            db = plainsql.Database(plainsql_pool, plainsql_settings)
            queries = plainsql.load_queries(plainsql_settings.sql_dir)
            with db.transaction() as conn:
                queries.create_item(conn, name="cap", note=None)
            with db.connection() as conn:
                assert [row["name"] for row in queries.list_items(conn)] == ["cap"]
        """,
}


def _write_project(root: Path) -> None:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def _relations(conninfo: str) -> set[str]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%'"
        ).fetchall()
    return {name for (name,) in rows}


def _databases(server: TestServer) -> set[str]:
    with server.admin() as admin:
        return {name for (name,) in admin.execute("SELECT datname FROM pg_database").fetchall()}


def test_a_separate_project_migrates_types_checks_lints_and_tests(
    packaging: Packaging, tmp_path: Path, plainsql_server: TestServer
) -> None:
    run, clean_env = packaging.run, packaging.clean_env
    project = tmp_path / "shop"
    _write_project(project)
    python = packaging.fresh_venv(tmp_path / "venv", extras="testing,lint")
    bin_dir = python.parent
    database = unique_name("shop")
    create_database(plainsql_server, database)
    before = _databases(plainsql_server)
    try:
        url = plainsql_server.conninfo(database)
        env = clean_env(DATABASE_URL=url, PATH=f"{bin_dir}:/usr/bin:/bin")
        assert "applied 0001_items" in run(bin_dir / "plainsql", "migrate", cwd=project, env=env)
        run(bin_dir / "plainsql", "typegen", cwd=project, env=env)
        generated = (project / "shop_db" / "queries.py").read_text()
        assert "class AsyncTypedQueries" in generated
        assert "class TypedQueries" not in generated, "only the configured flavour"
        assert "all 2 queries prepare" in run(bin_dir / "plainsql", "check", cwd=project, env=env)
        assert not (project / ".squawk.toml").exists()
        run(bin_dir / "plainsql", "lint", cwd=project, env=env)
        tested = run(bin_dir / "python", "-m", "pytest", "-v", "tests", cwd=project, env=env)
        assert "4 passed" in tested
        assert re.search(r"asyncio: mode=(Mode\.)?strict", tested, re.IGNORECASE), tested
        assert f"plainsql: tests run on {url.split('?')[0]}" in tested.replace("'", "")
        assert _relations(url) == {"items", *BOOKKEEPING_TABLES}
        assert _databases(plainsql_server) == before, "the project's test databases are dropped"
        assert not (project / ".plainsql").exists(), "no embedded server was started"
    finally:
        drop_database(plainsql_server, database)
    with plainsql_server.admin() as admin:
        left = admin.execute(
            sql.SQL("SELECT count(*) FROM pg_database WHERE datname = {}").format(
                sql.Literal(database)
            )
        ).fetchone()
    assert left == (0,)
