"""``plainsql cache migration`` / ``cache show``, the ``plainsql check`` rule of cached queries,
and the cache directive's load errors (cache_setup.py, queries.py).

A small project of its own: a table read by a query directly, one read only through a view,
and one read only through a BEGIN ATOMIC function. The real commands run (click's runner) on
the test server; ``plainsql verify`` proves the rollback each migration comes with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from plainsql import load_queries
from plainsql.cli import cli
from plainsql.errors import SQLFileError

from .fixtures import write_migration

TABLES = """\
-- 0001_catalogue: products, prices (through a view) and stock (through a function).
CREATE TABLE products (
    id bigint NOT NULL,
    name text NOT NULL,
    CONSTRAINT products_pkey PRIMARY KEY (id)
);
CREATE TABLE prices (
    product_id bigint NOT NULL,
    cents integer NOT NULL,
    CONSTRAINT prices_pkey PRIMARY KEY (product_id)
);
CREATE VIEW priced AS SELECT product_id, cents FROM prices;
CREATE TABLE stock (
    product_id bigint NOT NULL,
    units integer NOT NULL,
    CONSTRAINT stock_pkey PRIMARY KEY (product_id)
);
CREATE FUNCTION units_of(product bigint) RETURNS integer LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT units FROM stock WHERE product_id = product;
END;
"""
TABLES_ROLLBACK = """\
DROP FUNCTION units_of(bigint);
DROP TABLE stock;
DROP VIEW priced;
DROP TABLE prices;
DROP TABLE products;
"""
CACHED = """\
-- name: get_product_by_id(id)^
-- The product, its price and stock.
-- plainsql: cache ttl=1min
SELECT p.id, p.name, v.cents, units_of(p.id) AS units
FROM products AS p LEFT JOIN priced AS v ON v.product_id = p.id
WHERE p.id = :id;
"""


def run(project: Path, url: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--project-dir", str(project), *args], env={"DATABASE_URL": url}
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.plainsql]\n")
    write_migration(tmp_path, "0001_catalogue", TABLES, TABLES_ROLLBACK)
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "products.sql").write_text(CACHED)
    return tmp_path


def migrations(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "migrations").glob("*_plainsql_cache*.sql"))


def test_show_names_every_table_behind_the_query(
    project: Path, plainsql_empty_database_url: str
) -> None:
    shown = run(project, plainsql_empty_database_url, "cache", "show")
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        "get_product_by_id  (sql/products.sql:1, ttl 60 s)",
        "    public.prices  (no trigger)",  # through the view
        "    public.products  (no trigger)",
        "    public.stock  (no trigger)",  # through the function's body
    ]


def test_check_fails_until_the_migration_is_written_then_passes(
    project: Path, plainsql_empty_database_url: str
) -> None:
    before = run(project, plainsql_empty_database_url, "check")
    assert before.exit_code == 1
    for table in ("prices", "products", "stock"):
        assert (
            f"table public.{table} (read by get_product_by_id) has no plainsql_cache_notify "
            "trigger: run `plainsql cache migration`"
        ) in before.output
    assert "check: 3 problem(s) with cached queries" in before.output

    written = run(project, plainsql_empty_database_url, "cache", "migration")
    assert written.exit_code == 0, written.output
    [forward, rollback] = migrations(project)[::-1]  # the rollback file sorts first
    assert forward.endswith("_plainsql_cache.sql")
    assert rollback.endswith(".rollback.sql")
    text = (project / "migrations" / forward).read_text()
    assert text.count("CREATE TRIGGER plainsql_cache_notify") == 3
    assert "CREATE FUNCTION plainsql.cache_notify()" in text

    after = run(project, plainsql_empty_database_url, "check")
    assert after.exit_code == 0, after.output
    proved = run(project, plainsql_empty_database_url, "verify")
    assert proved.exit_code == 0, proved.output  # its rollback restores the schema

    again = run(project, plainsql_empty_database_url, "cache", "migration")
    assert again.exit_code == 0, again.output
    assert "each has its trigger: nothing to write" in again.output
    assert len(migrations(project)) == 2


def test_a_later_migration_adds_only_the_missing_trigger(
    project: Path, plainsql_empty_database_url: str
) -> None:
    assert run(project, plainsql_empty_database_url, "cache", "migration").exit_code == 0
    write_migration(
        project,
        "99990101000000_labels",
        "-- 99990101000000_labels: product labels.\n"
        "CREATE TABLE labels (\n    product_id bigint NOT NULL,\n    label text NOT NULL,\n"
        "    CONSTRAINT labels_pkey PRIMARY KEY (product_id, label)\n);\n",
        "DROP TABLE labels;\n",
    )
    (project / "sql" / "labels.sql").write_text(
        "-- name: list_labels(product_id)\n-- The product's labels.\n"
        "-- plainsql: cache ttl=30s\nSELECT label FROM labels WHERE product_id = :product_id;\n"
    )
    written = run(project, plainsql_empty_database_url, "cache", "migration")
    assert written.exit_code == 0, written.output
    newest = sorted((project / "migrations").glob("*_plainsql_cache.sql"))[-1].read_text()
    assert newest.count("CREATE TRIGGER") == 1
    assert "ON public.labels" in newest
    assert "cache_notify() RETURNS trigger" not in newest  # installed by the first one
    assert run(project, plainsql_empty_database_url, "check").exit_code == 0
    assert run(project, plainsql_empty_database_url, "verify").exit_code == 0


def test_check_refuses_a_query_that_is_not_a_plain_read(
    project: Path, plainsql_empty_database_url: str
) -> None:
    (project / "sql" / "products.sql").write_text(
        CACHED + "\n-- name: get_product_locked(id)^\n-- Locks it.\n-- plainsql: cache ttl=5s\n"
        "SELECT id FROM products WHERE id = :id FOR UPDATE;\n"
        "\n-- name: get_random_product()^\n-- Any.\n-- plainsql: cache ttl=5s\n"
        "SELECT id FROM products ORDER BY random() LIMIT 1;\n"
    )
    assert run(project, plainsql_empty_database_url, "cache", "migration").exit_code == 0
    done = run(project, plainsql_empty_database_url, "check")
    assert done.exit_code == 1
    assert (
        "sql/products.sql:8: get_product_locked: not cacheable: it locks rows (FOR UPDATE / FOR "
        "SHARE)"
    ) in done.output
    assert "get_random_product: not cacheable: it calls VOLATILE random()" in done.output


@pytest.mark.parametrize(
    ("header", "directive", "message"),
    [
        ("get_it(x)^", "cache", "directive 'cache' needs ttl=<duration>"),
        ("get_it(x)^", "cache ttl=30", "ttl must be a duration like 500ms, 30s, 5min or 1h"),
        ("get_it(x)^", "cache ttl=0s", "ttl must be a duration"),
        ("get_it(x)^", "cache ttl=1s tables=a;b", "tables= takes table names"),
        ("delete_it(x)!", "cache ttl=1s", "only a read can be cached"),
        ("get_it(x)^", "cache ttl=1s size=3", "directive 'cache' takes no option 'size'"),
    ],
)
def test_a_bad_cache_directive_is_a_load_error_naming_file_and_line(
    tmp_path: Path, header: str, directive: str, message: str
) -> None:
    path = tmp_path / "bad.sql"
    path.write_text(
        "-- name: fine()$\n-- Fine.\nSELECT 1 AS one;\n\n"
        f"-- name: {header}\n-- Does it.\n-- plainsql: {directive}\nSELECT :x::int AS x;\n"
    )
    with pytest.raises(SQLFileError) as caught:
        load_queries(path)
    assert f"{path}:7" in str(caught.value)
    assert message in str(caught.value)


def test_a_good_cache_directive_is_kept_and_left_out_of_the_docstring(tmp_path: Path) -> None:
    path = tmp_path / "good.sql"
    path.write_text(
        "-- name: get_it(x)^\n-- Gets it.\n-- plainsql: cache ttl=250ms tables=public.a,b\n"
        "SELECT :x::int AS x;\n"
    )
    queries: Any = load_queries(path)
    spec = queries.driver_adapter.cache_specs["get_it"]
    assert (spec.ttl, spec.tables) == (0.25, ("public.a", "b"))
    assert queries.get_it.__doc__ == "Gets it."
