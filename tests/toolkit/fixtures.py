"""Builders the toolkit's tests share: small projects of their own, written file by file."""

from __future__ import annotations

from pathlib import Path

import psycopg
from click.testing import CliRunner, Result
from psycopg import sql

from plainsql.cli import cli


def write_migration(project: Path, migration_id: str, forward: str, rollback: str | None) -> None:
    """``migrations/<id>.sql`` (and its rollback file unless ``rollback`` is None)."""
    folder = project / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / f"{migration_id}.sql").write_text(forward)
    if rollback is not None:
        (folder / f"{migration_id}.rollback.sql").write_text(rollback)


# A role the shop project grants to: roles are the cluster's, so the name is this suite's own.
SHOP_READER = "plainsql_test_shop_reader"


def write_shop_project(project: Path) -> Path:
    """A small project for the backup tests: two tables (one referencing the other), an enum,
    a function, and a grant to :data:`SHOP_READER`, created NOLOGIN where missing."""
    (project / "migrations").mkdir(parents=True, exist_ok=True)
    write_migration(
        project,
        "0001_shop",
        "-- 0001_shop: items and their orders.\n"
        "CREATE TYPE order_state AS ENUM ('open', 'paid');\n"
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);\n"
        "CREATE TABLE orders (\n"
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    item_id bigint NOT NULL REFERENCES items (id),\n"
        "    state order_state NOT NULL DEFAULT 'open'\n"
        ");\n"
        "CREATE INDEX orders_item_id_idx ON orders (item_id);\n"
        "CREATE FUNCTION order_count(item bigint) RETURNS bigint LANGUAGE sql STABLE\n"
        "    RETURN (SELECT count(*) FROM orders WHERE item_id = item);\n",
        "DROP FUNCTION order_count(bigint);\nDROP TABLE orders;\nDROP TABLE items;\n"
        "DROP TYPE order_state;\n",
    )
    write_migration(
        project,
        "0002_reader",
        "-- 0002_reader: a read-only role for reports.\n"
        f"DO $$ BEGIN\n"
        f"    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SHOP_READER}') THEN\n"
        f"        CREATE ROLE {SHOP_READER} NOLOGIN;\n"
        f"    END IF;\nEND $$;\n"
        f"GRANT SELECT ON items, orders TO {SHOP_READER};\n",
        f"REVOKE SELECT ON items, orders FROM {SHOP_READER};\n",
    )
    return project


def fill_shop(conninfo: str, items: int = 40, orders: int = 90) -> None:
    """Rows in the shop project's tables (migrated at ``conninfo``)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "INSERT INTO items (id, name) SELECT i, 'item ' || i FROM generate_series(1, %s) i",
            (items,),
        )
        conn.execute(
            "INSERT INTO orders (item_id, state) SELECT 1 + i %% %s,"
            " (CASE WHEN i %% 3 = 0 THEN 'paid' ELSE 'open' END)::order_state"
            " FROM generate_series(1, %s) i",
            (items, orders),
        )


# -- the backup tests' helpers ----------------------------------------------------------


def run(project: Path, url: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--project-dir", str(project), *args], env={"DATABASE_URL": url}
    )


def counts(conninfo: str) -> dict[str, int]:
    """Every base table's row count, read independently of plainsql."""
    with psycopg.connect(conninfo) as conn:
        names = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        found = {}
        for schema, table in names:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
            ).fetchone()
            found[f"{schema}.{table}"] = row[0] if row else -1
        return found


def ledger(conninfo: str) -> list[tuple[object, ...]]:
    with psycopg.connect(conninfo) as conn:
        return [
            *conn.execute(
                "SELECT migration_id, migration_hash, applied_at_utc FROM _yoyo_migration"
                " ORDER BY 1"
            ).fetchall(),
            *conn.execute(
                "SELECT migration_id, forward_sha256, rollback_sha256, recorded_at, recorded_by"
                " FROM plainsql_migration_checksums ORDER BY 1"
            ).fetchall(),
        ]


def back_up(project: Path, source: str, out: Path, *args: str) -> Path:
    result = run(project, source, "backup", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    path = Path(result.output.splitlines()[-1])  # the last line printed is the backup's path
    assert path.parent == out
    assert path.exists()
    return path


# -- the read replicas' tests -----------------------------------------------------------

NOTES_QUERIES = """\
-- name: create_note(body)<!
-- A new note, with its id.
INSERT INTO notes (body) VALUES (:body) RETURNING id, body;

-- name: get_note(note_id)^
-- The note, whether a standby read it, and whether the read ran READ ONLY.
-- plainsql: replica-safe
SELECT body, served_by_standby() AS on_standby,
       current_setting('transaction_read_only') = 'on' AS read_only
FROM notes WHERE id = :note_id;

-- name: get_note_unmarked(note_id)^
-- The same read, not marked: always the primary's.
SELECT body, served_by_standby() AS on_standby,
       current_setting('transaction_read_only') = 'on' AS read_only
FROM notes WHERE id = :note_id;
"""


def write_notes_project(project: Path) -> Path:
    """A small project for the read replicas' tests: notes, a replica-safe read of one, and
    ``served_by_standby()``, which tells which server ran the query."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text('[tool.plainsql]\nsql-dir = "sql"\n')
    write_migration(
        project,
        "0001_notes",
        "-- 0001_notes: notes, and which kind of server reads them.\n"
        "CREATE TABLE notes (\n"
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    body text NOT NULL\n"
        ");\n"
        "-- STABLE (pg_is_in_recovery() itself is VOLATILE), so a replica-safe query may call it.\n"
        "CREATE FUNCTION served_by_standby() RETURNS boolean LANGUAGE sql STABLE\n"
        "    RETURN pg_is_in_recovery();\n",
        "DROP FUNCTION served_by_standby();\nDROP TABLE notes;\n",
    )
    (project / "sql" / "notes").mkdir(parents=True, exist_ok=True)
    (project / "sql" / "notes" / "notes.sql").write_text(NOTES_QUERIES)
    return project
