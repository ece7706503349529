"""The ledger: what the database records about migrations, and the one module that knows yoyo.

yoyo keeps ``_yoyo_migration``, ``_yoyo_log``, ``_yoyo_version`` and ``yoyo_lock``; plainsql
adds ``plainsql_migration_checksums`` (the sha256 of each applied file and of its rollback)
and ``plainsql_migration_dirty`` (non-transactional migrations that started and did not
finish). Everything that reads or writes these tables, and every use of yoyo, is here: the
plan reads a :class:`Recorded` snapshot, the runner asks the ledger to record what it did.

yoyo is used for its bookkeeping only: plainsql parses the files and their directives itself
(:mod:`plainsql.migrate.files`), so yoyo's :class:`~yoyo.migrations.Migration` is built
without loading the file (its own directive parser, which does not strip values, never runs).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from plainsql.config import Settings
from plainsql.migrate.files import MigrationFile
from plainsql.server import connect

CHECKSUM_TABLE = "plainsql_migration_checksums"
DIRTY_TABLE = "plainsql_migration_dirty"
YOYO_TABLES = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock")
# Tables the runner owns: never part of the schema the migrations build.
BOOKKEEPING_TABLES = (*YOYO_TABLES, CHECKSUM_TABLE, DIRTY_TABLE)

_BOOKKEEPING_DDL = f"""
CREATE TABLE IF NOT EXISTS {CHECKSUM_TABLE} (
    migration_id    text        NOT NULL,
    forward_sha256  text        NOT NULL,
    rollback_sha256 text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     text        NOT NULL,
    CONSTRAINT {CHECKSUM_TABLE}_pkey PRIMARY KEY (migration_id)
);
COMMENT ON TABLE {CHECKSUM_TABLE} IS
    'plainsql: sha256 of each applied migration file and its rollback, to detect edits.';
CREATE TABLE IF NOT EXISTS {DIRTY_TABLE} (
    migration_id text        NOT NULL,
    direction    text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    runner       text        NOT NULL,
    failed_at    timestamptz,
    location     text,
    error        text,
    CONSTRAINT {DIRTY_TABLE}_pkey PRIMARY KEY (migration_id)
);
COMMENT ON TABLE {DIRTY_TABLE} IS
    'plainsql: non-transactional migrations that started and did not finish; resolve by hand.';
"""


def runner_name() -> str:
    """``plainsql-migrate:<host>:<pid>``: the application_name of a runner's sessions."""
    return f"plainsql-migrate:{socket.gethostname()}:{os.getpid()}"[:63]


@dataclass(frozen=True, slots=True)
class DirtyRecord:
    """A non-transactional migration that started and did not finish."""

    migration_id: str
    direction: str
    started_at: datetime
    runner: str
    failed_at: datetime | None
    location: str | None
    error: str | None

    def describe(self) -> str:
        if self.failed_at is None:
            return (
                f"its {self.direction} was started by {self.runner} at "
                f"{self.started_at:%Y-%m-%d %H:%M:%S %Z} and never finished (the runner died)"
            )
        where = f" at {self.location}" if self.location else ""
        return f"its {self.direction} failed{where}: {self.error}"


@dataclass(frozen=True, slots=True)
class Recorded:
    """A snapshot of the ledger: applied ids (in order, with when), checksums, dirty records,
    and the INVALID indexes a failed ``CREATE INDEX CONCURRENTLY`` leaves behind."""

    applied: dict[str, datetime | None]
    checksums: dict[str, tuple[str, str | None]]
    dirty: dict[str, DirtyRecord]
    invalid_indexes: tuple[str, ...] = ()


# An index a failed (or cancelled) CREATE INDEX CONCURRENTLY left behind: the planner never
# uses it, a UNIQUE one enforces nothing, and `CREATE INDEX ... IF NOT EXISTS` skips it.
_INVALID_INDEXES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""


class Ledger:
    """The bookkeeping of one database, over the runner's own connection (opened on first use).

    Reads need no lock; writes happen under the runner's lock, inside the caller's
    transaction where the caller says so, so a migration and its record commit together.
    """

    def __init__(self, settings: Settings, conninfo: str, runner: str) -> None:
        self.settings = settings
        self.conninfo = conninfo
        self.runner = runner
        self._backend: Any = None

    def close(self) -> None:
        if self._backend is not None:
            self._backend.connection.close()
            self._backend = None

    @property
    def _yoyo(self) -> Any:
        if self._backend is None:
            self._backend = _open_backend(self.settings, self.conninfo, self.runner)
        return self._backend

    @property
    def conn(self) -> psycopg.Connection[Any]:
        """The runner's connection: autocommit, no statement timeout, a DDL lock timeout."""
        connection: psycopg.Connection[Any] = self._yoyo.connection
        return connection

    def _exists(self, table: str) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        return bool(row and row[0])

    # -- reading ---------------------------------------------------------------------------

    def read(self) -> Recorded:
        """What the tables hold now (empty where they do not exist yet)."""
        conn = self.conn
        applied: dict[str, datetime | None] = {}
        if self._exists("_yoyo_migration"):
            for mid, at in conn.execute(
                "SELECT migration_id, applied_at_utc FROM _yoyo_migration ORDER BY applied_at_utc"
            ).fetchall():
                applied[mid] = at.replace(tzinfo=UTC) if at is not None else None
        checksums: dict[str, tuple[str, str | None]] = {}
        if self._exists(CHECKSUM_TABLE):
            for mid, forward, rollback in conn.execute(
                f"SELECT migration_id, forward_sha256, rollback_sha256 FROM {CHECKSUM_TABLE}"
            ).fetchall():
                checksums[mid] = (forward, rollback)
        dirty: dict[str, DirtyRecord] = {}
        if self._exists(DIRTY_TABLE):
            for row in conn.execute(
                f"SELECT migration_id, direction, started_at, runner, failed_at, location, error"
                f" FROM {DIRTY_TABLE} ORDER BY migration_id"
            ).fetchall():
                dirty[row[0]] = DirtyRecord(*row)
        return Recorded(applied, checksums, dirty, self.invalid_indexes())

    def invalid_indexes(self) -> tuple[str, ...]:
        """Qualified names of the INVALID indexes in the database."""
        return tuple(name for (name,) in self.conn.execute(_INVALID_INDEXES).fetchall())

    # -- writing (under the runner's lock) -----------------------------------------------------

    def ensure(self) -> None:
        """Create the bookkeeping tables that are missing (yoyo's and plainsql's)."""
        backend = self._yoyo
        if not self._exists("yoyo_lock"):
            backend.create_lock_table()
        backend.ensure_internal_schema_updated()
        if not (self._exists(CHECKSUM_TABLE) and self._exists(DIRTY_TABLE)):
            with self.conn.transaction():
                self.conn.execute(_BOOKKEEPING_DDL.encode())

    def store_checksums(self, migration: MigrationFile, note: str = "") -> None:
        """Record the current sha256 of the migration and its rollback file."""
        by = f"{self.runner} ({note})" if note else self.runner
        self.conn.execute(
            f"""
            INSERT INTO {CHECKSUM_TABLE} (migration_id, forward_sha256, rollback_sha256,
                                          recorded_by)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (migration_id) DO UPDATE
               SET forward_sha256 = EXCLUDED.forward_sha256,
                   rollback_sha256 = EXCLUDED.rollback_sha256,
                   recorded_at = now(), recorded_by = EXCLUDED.recorded_by
            """,
            (migration.id, migration.sha256(), migration.rollback_sha256(), by),
        )

    def record(self, migration: MigrationFile, direction: str, note: str = "") -> None:
        """Mark the migration applied (``apply``) or not (``rollback``), and log it; always
        inside the caller's transaction."""
        backend, yoyo_migration = self._yoyo, _yoyo_migration(migration)
        if direction == "apply":
            backend.mark_one(yoyo_migration, log=False)
            self.store_checksums(migration, note=note)
        else:
            backend.unmark_one(yoyo_migration, log=False)
            self._forget_checksums(migration.id)
        backend.log_migration(yoyo_migration, direction)

    def map_squash(self, migration: MigrationFile, originals: tuple[str, ...]) -> None:
        """Record a squash migration as applied in place of the originals it replaced (inside
        the caller's transaction): its objects are there, built by them."""
        self.record(migration, "apply", note=f"squash of {len(originals)}")
        # It takes the place of the originals in the order of application too, so `rollback`
        # reaches it after every later migration, as it would have reached them.
        self.conn.execute(
            "UPDATE _yoyo_migration SET applied_at_utc = (SELECT max(applied_at_utc)"
            " FROM _yoyo_migration WHERE migration_id = ANY(%s)) WHERE migration_id = %s",
            (list(originals), migration.id),
        )
        for original in originals:
            gone = MigrationFile(original, migration.path.with_name(original + ".sql"), None)
            self._yoyo.unmark_one(_yoyo_migration(gone), log=False)
            self._forget_checksums(original)

    def resolve(self, migration: MigrationFile, *, applied: bool, recorded: Recorded) -> None:
        """Close a dirty record as applied or as rolled back (one transaction)."""
        yoyo_migration = _yoyo_migration(migration)
        with self.conn.transaction():
            marked = migration.id in recorded.applied
            if applied:
                if not marked:
                    self._yoyo.mark_one(yoyo_migration, log=True)
                self.store_checksums(migration, note="resolve --applied")
            else:
                if marked:
                    self._yoyo.unmark_one(yoyo_migration, log=True)
                self._forget_checksums(migration.id)
            self.clear_dirty(migration.id)

    def start_dirty(self, migration: MigrationFile, direction: str) -> None:
        """Record that a non-transactional run started (committed at once)."""
        with self.conn.transaction():
            self.conn.execute(
                f"INSERT INTO {DIRTY_TABLE} (migration_id, direction, runner) VALUES (%s, %s, %s)",
                (migration.id, direction, self.runner),
            )

    def fail_dirty(self, migration: MigrationFile, location: str, error: str) -> None:
        """Record where and why a non-transactional run failed (committed at once)."""
        with self.conn.transaction():
            self.conn.execute(
                f"UPDATE {DIRTY_TABLE} SET failed_at = now(), location = %s, error = %s"
                " WHERE migration_id = %s",
                (location, error, migration.id),
            )

    def clear_dirty(self, migration_id: str) -> None:
        self.conn.execute(f"DELETE FROM {DIRTY_TABLE} WHERE migration_id = %s", (migration_id,))

    def _forget_checksums(self, migration_id: str) -> None:
        self.conn.execute(f"DELETE FROM {CHECKSUM_TABLE} WHERE migration_id = %s", (migration_id,))


def _yoyo_migration(migration: MigrationFile) -> Any:
    """yoyo's view of a migration: only the key of its ``_yoyo_migration`` row (the id)."""
    from yoyo.migrations import Migration

    return Migration(migration.id, str(migration.path), str(migration.path.parent))


def _open_backend(settings: Settings, conninfo: str, application_name: str) -> Any:
    """A yoyo PostgreSQL backend whose connection is opened by plainsql (timeouts, names)."""
    from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
    from yoyo.connections import DatabaseURI

    class PlainBackend(PostgresqlPsycopgBackend):  # type: ignore[misc]
        def connect(self, dburi: Any) -> psycopg.Connection[Any]:
            conn = connect(settings, conninfo, autocommit=True)
            # Migrations may rewrite big tables: no statement_timeout for them. A runner
            # killed mid-statement is noticed by the server within a second, which then
            # rolls its transaction back instead of finishing a statement nobody waits for.
            conn.execute("SET statement_timeout = 0")
            # Every migration statement waits at most `ddl-lock-timeout` for a table lock, so
            # a migration stuck behind a long transaction gives up (and the runner retries it)
            # instead of queueing every query on that table behind itself. A file may say
            # `SET LOCAL lock_timeout = ...` when it knows better.
            conn.execute(f"SET lock_timeout = {int(settings.ddl_lock_timeout_ms)}")
            conn.execute(
                "SELECT set_config('client_connection_check_interval', '1s', false)"
                " WHERE current_setting('server_version_num')::int >= 140000"
            )
            conn.execute("SELECT set_config('application_name', %s, false)", (application_name,))
            return conn

    # yoyo keys a cache on the URI object; it never sees the real connection string.
    dburi = DatabaseURI("postgresql+psycopg", None, None, None, None, "plainsql", {})
    return PlainBackend(dburi, "_yoyo_migration")
