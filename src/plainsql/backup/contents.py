"""What a database holds, read alike at backup, restore and verify: each table's row count, the
migration ledger, the roles its grants and owners name, and whether it is empty.

Everything here reads; nothing is written. A reader's session has no statement timeout
(counting a big table takes what it takes), UTC and ISO dates, so the ledger's rows read as
the same text on every server and in every session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from plainsql.config import Settings, describe_target
from plainsql.errors import BackupError, scrub_secrets
from plainsql.migrate.ledger import BOOKKEEPING_TABLES
from plainsql.migrate.squash import GRANTED_ROLES
from plainsql.server import connect

# How long pg_dump, and a reader, wait for a table lock before failing.
LOCK_WAIT_TIMEOUT = "60s"

# Ordinary tables of the database's own schemas, not an extension's: what pg_dump dumps the
# rows of. Partitions are tables of their own; a partitioned parent holds no rows itself.
_TABLES = """
SELECT n.nspname, c.relname, format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""

# The roles that own the database's objects: a restore that keeps owners needs each of them.
_OWNERS = """
WITH own(oid) AS (
    SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    UNION SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    UNION SELECT t.typowner FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    UNION SELECT nspowner FROM pg_namespace
    WHERE nspname !~ '^pg_' AND nspname NOT IN ('information_schema', 'public')
    UNION SELECT lomowner FROM pg_largeobject_metadata
)
SELECT r.rolname FROM pg_roles r JOIN own ON own.oid = r.oid
WHERE r.rolname !~ '^pg_' ORDER BY 1
"""

# What makes a database not empty: any object of its own beyond the empty public schema and
# plpgsql (which every new database has).
_OBJECTS = """
SELECT what FROM (
    SELECT CASE WHEN c.relkind IN ('r', 'p') THEN 0 ELSE 1 END AS k,
           format(CASE WHEN c.relkind IN ('r', 'p') THEN 'table %%I.%%I'
                       ELSE 'relation %%I.%%I' END, n.nspname, c.relname) AS what
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
      AND c.relname <> ALL(%s)
    UNION ALL SELECT 9, format('table %%I.%%I', n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
      AND c.relname = ANY(%s)
    UNION ALL SELECT 2, format('function %%I.%%I', n.nspname, p.proname)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    UNION ALL SELECT 3, format('type %%I.%%I', n.nspname, t.typname)
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype IN ('e', 'd', 'r') AND n.nspname !~ '^pg_'
      AND n.nspname <> 'information_schema'
    UNION ALL SELECT 4, format('schema %%I', nspname) FROM pg_namespace
    WHERE nspname !~ '^pg_' AND nspname NOT IN ('information_schema', 'public')
    UNION ALL SELECT 5, format('extension %%I', extname) FROM pg_extension
    WHERE extname <> 'plpgsql'
    UNION ALL SELECT 6, format('large object %%s', oid) FROM pg_largeobject_metadata
) found ORDER BY k, what
"""


@contextmanager
def reader(
    settings: Settings, conninfo: str, *, autocommit: bool = True
) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A connection for reading a database's contents (see the module docstring); a server
    error on it becomes a :class:`BackupError` naming the database."""
    try:
        with connect(settings, conninfo, autocommit=True) as conn:
            yield _prepared(conn, autocommit)
    except psycopg.Error as exc:
        reason = scrub_secrets(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        raise BackupError(f"reading {describe_target(conninfo)}: {reason}") from exc


def _prepared(
    conn: psycopg.Connection[tuple[Any, ...]], autocommit: bool
) -> psycopg.Connection[tuple[Any, ...]]:
    # A table another session holds locked (a migration) fails the read after as long as
    # pg_dump waits for it, rather than never.
    conn.execute(f"SET lock_timeout = '{LOCK_WAIT_TIMEOUT}'")
    conn.execute("SET statement_timeout = 0")
    conn.execute("SET idle_in_transaction_session_timeout = 0")
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET IntervalStyle = 'postgres'")
    conn.execute("SET extra_float_digits = 3")
    conn.autocommit = autocommit
    return conn


def version_num(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    return int(row[0]) if row else 0


def tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    """(schema, table, ``schema.table`` quoted only where SQL needs it), in name order."""
    return [(str(s), str(t), str(q)) for s, t, q in conn.execute(_TABLES).fetchall()]


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Every table's row count (``FROM ONLY``: an inheritance parent counts its own rows)."""
    counts: dict[str, int] = {}
    for schema, table, name in tables(conn):
        query = sql.SQL("SELECT count(*) FROM ONLY {}").format(sql.Identifier(schema, table))
        row = conn.execute(query).fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


@dataclass(frozen=True, slots=True)
class LedgerContents:
    """The migration ledger: the applied ids in order, and a digest of each bookkeeping
    table's rows (every column, as text), so two ledgers compare in full."""

    applied: tuple[str, ...]
    digests: dict[str, str]


def ledger(conn: psycopg.Connection[Any]) -> LedgerContents:
    digests: dict[str, str] = {}
    for table in BOOKKEEPING_TABLES:
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not (found and found[0]):
            continue
        rows = conn.execute(
            sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(table))
        ).fetchall()
        text = "\n".join(str(r[0]) for r in rows)
        digests[table] = f"{len(rows)}:" + hashlib.sha256(text.encode()).hexdigest()
    applied: tuple[str, ...] = ()
    if "_yoyo_migration" in digests:
        applied = tuple(
            str(r[0])
            for r in conn.execute(
                "SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc, migration_id"
            ).fetchall()
        )
    return LedgerContents(applied, digests)


def granted_roles(conn: psycopg.Connection[Any]) -> list[str]:
    """Roles the database's grants, policies and default privileges name (the squash's query:
    the roles a migration's GRANTs need on a fresh cluster)."""
    return [str(r) for (r,) in conn.execute(GRANTED_ROLES).fetchall()]


def owners(conn: psycopg.Connection[Any]) -> list[str]:
    return [str(r) for (r,) in conn.execute(_OWNERS).fetchall()]


def objects(conn: psycopg.Connection[Any]) -> list[str]:
    """The database's own objects ("table public.t", ...; the migration ledger's tables after
    the others); none for an empty database."""
    ledger = list(BOOKKEEPING_TABLES)
    return [str(r) for (r,) in conn.execute(_OBJECTS, (ledger, ledger)).fetchall()]
