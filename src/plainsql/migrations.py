"""The migration runner: applies and rolls back migrations/ with the rails a DBA expects.

yoyo keeps its bookkeeping (``_yoyo_migration``, ``_yoyo_log``, ``_yoyo_version``,
``yoyo_lock``) and parses the ``-- transactional:`` directive; plainsql drives the runs:

- **one runner at a time**: every write runs under the advisory lock of
  :mod:`plainsql.migration_lock`; what is pending is computed after the lock is taken, so
  a runner that waited finds nothing left to do;
- **files run whole**: a transactional migration (the default) is sent to the server as ONE
  multi-statement string inside a transaction that also records it, so it is applied and
  recorded together or not at all, whatever a crash or a ``kill -9`` does. Its rollback
  file is likewise one unit: yoyo's pairing of forward and rollback statements by position
  is not used, so statement counts do not matter;
- **edits detected**: the sha256 of each applied migration and of its rollback file is kept
  in ``plainsql_migration_checksums``; an applied file that changed stops ``migrate`` and
  ``rollback`` until the file is restored or ``plainsql migrate --accept-edit ID`` records
  the new contents;
- **rollbacks required**: a migration needs a rollback file unless its header says
  ``-- irreversible: <reason>``; rolling such a migration back is refused with the reason;
- **failures located**: an error names ``file:line:col`` and the failing statement. A
  failing ``-- transactional: false`` migration (run statement by statement) is recorded in
  ``plainsql_migration_dirty``; ``migrate`` refuses to go on until the operator runs
  ``plainsql migrate --resolve ID --applied`` or ``--rolled-back``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.pq import ExecStatus

from plainsql.config import Settings
from plainsql.errors import DatabaseUnavailable, MigrationError, scrub_secrets
from plainsql.migration_files import (
    ROLLBACK_SUFFIX,
    MigrationFile,
    Statement,
    discover,
    location,
    new_migration,
    resolve_id,
    split_statements,
    statement_at,
)
from plainsql.migration_lock import migration_lock
from plainsql.server import connect, server_conninfo

__all__ = [
    "BOOKKEEPING_TABLES",
    "DEFAULT_LOCK_TIMEOUT",
    "MigrationFile",
    "MigrationState",
    "Migrator",
    "discover",
    "new_migration",
    "resolve_id",
]

# How long a runner waits for another one to finish (seconds); `--lock-timeout` overrides it.
DEFAULT_LOCK_TIMEOUT = 300.0
# Every migration statement waits at most this long for a table lock, so a migration stuck
# behind a long transaction fails cleanly instead of queueing every query on that table
# behind itself. A file may say `SET LOCAL lock_timeout = ...` when it knows better.
DDL_LOCK_TIMEOUT = "10s"

CHECKSUM_TABLE = "plainsql_migration_checksums"
DIRTY_TABLE = "plainsql_migration_dirty"
# Tables the runner owns: never part of the schema the migrations build.
BOOKKEEPING_TABLES = (
    "_yoyo_migration",
    "_yoyo_log",
    "_yoyo_version",
    "yoyo_lock",
    CHECKSUM_TABLE,
    DIRTY_TABLE,
)

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
class MigrationState:
    """One migration on disk and what the database says about it."""

    id: str
    path: Path
    rollback_path: Path | None
    applied: bool
    applied_at: datetime | None
    edited: tuple[str, ...] = ()  # names of applied files whose content changed since
    checksum_recorded: bool = False
    dirty: DirtyRecord | None = None
    irreversible: str | None = None


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What the bookkeeping tables hold."""

    applied: dict[str, datetime | None]
    checksums: dict[str, tuple[str, str | None]]
    dirty: dict[str, DirtyRecord]


class _ScriptCursor(psycopg.Cursor[Any]):
    """A cursor that counts the statements of a multi-statement string that succeeded.

    The server answers a simple-protocol query with one result per statement and stops at
    the first error, so the number of good results before the error is the index of the
    failing statement: the only way to name it when the error carries no position.
    """

    succeeded = 0

    def _check_results(self, results: list[Any]) -> None:
        good = (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK, ExecStatus.EMPTY_QUERY)
        count = 0
        for result in results:
            if result.status not in good:
                break
            count += 1
        self.succeeded = count
        super()._check_results(results)


def runner_name() -> str:
    """``plainsql-migrate:<host>:<pid>``: the application_name of a runner's sessions."""
    return f"plainsql-migrate:{socket.gethostname()}:{os.getpid()}"[:63]


class Migrator:
    """Runs migrations against one database; use as a context manager to close its connection."""

    def __init__(
        self,
        settings: Settings,
        conninfo: str | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        check_files: bool = True,
    ) -> None:
        """``check_files=False`` skips the per-file rules (lint reports those itself)."""
        self.settings = settings
        self.check_files = check_files
        self.conninfo = server_conninfo(settings) if conninfo is None else conninfo
        self.files = discover(settings.migrations_dir)
        self.lock_timeout = lock_timeout
        self.runner = runner_name()
        self.notes: list[str] = []  # things a person should know about the last run
        self._backend: Any = None

    def __enter__(self) -> Migrator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.connection.close()
            self._backend = None

    @property
    def backend(self) -> Any:
        """yoyo's backend on our own psycopg connection (opened on first use)."""
        if self._backend is None:
            self._backend = _open_backend(self.settings, self.conninfo, self.runner)
        return self._backend

    @property
    def conn(self) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any] = self.backend.connection
        return connection

    def _display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.settings.project_dir))
        except ValueError:
            return str(path)

    def _file(self, migration_id: str) -> MigrationFile:
        for migration in self.files:
            if migration.id == migration_id:
                return migration
        raise MigrationError(f"no migration {migration_id!r} on disk")

    # -- reading the bookkeeping (no writes, no lock) ---------------------------------------

    def _exists(self, table: str) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        return bool(row and row[0])

    def _recorded(self) -> _Recorded:
        conn = self.conn
        applied: dict[str, datetime | None] = {}
        if self._exists("_yoyo_migration"):
            for mid, at in conn.execute(
                "SELECT migration_id, applied_at_utc FROM _yoyo_migration ORDER BY applied_at_utc"
            ).fetchall():
                applied[mid] = at.replace(tzinfo=UTC) if at is not None else None
        checksums: dict[str, tuple[str, str | None]] = {}
        dirty: dict[str, DirtyRecord] = {}
        if self._exists(CHECKSUM_TABLE):
            for mid, forward, rollback in conn.execute(
                f"SELECT migration_id, forward_sha256, rollback_sha256 FROM {CHECKSUM_TABLE}"
            ).fetchall():
                checksums[mid] = (forward, rollback)
        if self._exists(DIRTY_TABLE):
            for row in conn.execute(
                f"SELECT migration_id, direction, started_at, runner, failed_at, location, error"
                f" FROM {DIRTY_TABLE} ORDER BY migration_id"
            ).fetchall():
                dirty[row[0]] = DirtyRecord(*row)
        return _Recorded(applied, checksums, dirty)

    def applied(self) -> dict[str, datetime | None]:
        """Applied migration ids with when they were applied (UTC)."""
        return self._recorded().applied

    def _edited(self, migration: MigrationFile, recorded: _Recorded) -> tuple[str, ...]:
        sums = recorded.checksums.get(migration.id)
        if sums is None or migration.id not in recorded.applied:
            return ()
        edited = []
        if migration.sha256() != sums[0]:
            edited.append(migration.path.name)
        if migration.rollback_sha256() != sums[1]:
            edited.append(migration.id + ROLLBACK_SUFFIX)
        return tuple(edited)

    def status(self) -> list[MigrationState]:
        """Every migration on disk with its state; reads only (no lock, creates nothing)."""
        recorded = self._recorded()
        return [
            MigrationState(
                id=m.id,
                path=m.path,
                rollback_path=m.rollback_path,
                applied=m.id in recorded.applied,
                applied_at=recorded.applied.get(m.id),
                edited=self._edited(m, recorded),
                checksum_recorded=m.id in recorded.checksums,
                dirty=recorded.dirty.get(m.id),
                irreversible=m.irreversible,
            )
            for m in self.files
        ]

    def missing_files(self) -> list[str]:
        """Ids the database has applied that have no file in migrations/."""
        on_disk = {m.id for m in self.files}
        return [mid for mid in self._recorded().applied if mid not in on_disk]

    def pending(self, to: str | None = None) -> list[MigrationFile]:
        applied = self.applied()
        limit = resolve_id(self.files, to) if to else None
        todo = []
        for migration in self.files:
            if limit is not None and migration.id > limit:
                break
            if migration.id not in applied:
                todo.append(migration)
        return todo

    def to_roll_back(
        self, *, steps: int | None = 1, to: str | None = None, everything: bool = False
    ) -> list[MigrationFile]:
        """The applied migrations a rollback would undo, newest first."""
        applied = self.applied()
        done = [m for m in self.files if m.id in applied]
        done.reverse()
        if everything:
            return done
        if to is not None:
            keep = resolve_id(self.files, to)
            return [m for m in done if m.id > keep]
        count = 1 if steps is None else steps
        if count < 0:
            raise MigrationError("--steps must be 0 or more")
        return done[:count]

    # -- runs (under the lock) ----------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the migration lock, with the bookkeeping tables in place."""
        with migration_lock(
            self.settings,
            self.conninfo,
            timeout=self.lock_timeout,
            application_name=self.runner,
        ):
            self._ensure_bookkeeping()
            yield

    def _ensure_bookkeeping(self) -> None:
        backend = self.backend
        if not self._exists("yoyo_lock"):
            backend.create_lock_table()
        backend.ensure_internal_schema_updated()
        if not (self._exists(CHECKSUM_TABLE) and self._exists(DIRTY_TABLE)):
            with self.conn.transaction():
                self.conn.execute(_BOOKKEEPING_DDL.encode())

    def _check_ready(self, recorded: _Recorded, *, for_rollback: bool = False) -> None:
        """Refuse to run while the database and the files disagree; adopt old checksums."""
        if recorded.dirty:
            mid, record = next(iter(recorded.dirty.items()))
            raise MigrationError(
                f"{mid} is dirty: {record.describe()}. To resolve it, {_resolve_hint(mid[:4])}"
            )
        missing = [mid for mid in recorded.applied if mid not in {m.id for m in self.files}]
        if missing:
            raise MigrationError(
                f"{missing[0]} is applied in the database but migrations/{missing[0]}.sql is "
                "missing: restore the file (from version control) before migrating"
            )
        unrecorded = [
            m for m in self.files if m.id in recorded.applied and m.id not in recorded.checksums
        ]
        if unrecorded:
            with self.conn.transaction():
                for migration in unrecorded:
                    self._store_checksums(migration)
            self.notes.append(
                f"recorded checksums of {len(unrecorded)} migration(s) applied before plainsql "
                f"tracked them ({unrecorded[0].id} .. {unrecorded[-1].id})"
            )
        for migration in self.files:
            edited = self._edited(migration, recorded)
            if edited:
                when = recorded.applied.get(migration.id)
                applied = f" on {when:%Y-%m-%d %H:%M}Z" if when else ""
                raise MigrationError(
                    f"{', '.join(self._display(migration.path.with_name(n)) for n in edited)} "
                    f"changed after {migration.id} was applied{applied}. Restore the file "
                    f"(git checkout -- {self._display(migration.path.parent)}/{edited[0]}); put "
                    "schema changes in a new migration. If the edit is intentional and the "
                    "database already matches it, record the new contents with "
                    f"`plainsql migrate --accept-edit {migration.number}`"
                )
        if self.check_files and not for_rollback:
            for migration in self.files:
                problems = migration.problems()
                if problems:
                    line, _rule, message = problems[0]
                    raise MigrationError(f"{self._display(migration.path)}:{line}: {message}")

    def migrate(self, to: str | None = None, dry_run: bool = False) -> list[str]:
        """Apply pending migrations (up to ``to``); returns the ids applied, in order."""
        self.notes = []
        if dry_run:
            return [m.id for m in self.pending(to)]
        with self._locked():
            self._check_ready(self._recorded())
            todo = self.pending(to)
            for migration in todo:
                self._run(migration, "apply")
            return [m.id for m in todo]

    def rollback(
        self,
        *,
        steps: int | None = 1,
        to: str | None = None,
        everything: bool = False,
        dry_run: bool = False,
    ) -> list[str]:
        """Roll back applied migrations newest first; returns the ids rolled back, in order."""
        self.notes = []
        if dry_run:
            todo = self.to_roll_back(steps=steps, to=to, everything=everything)
            self._check_reversible(todo)
            return [m.id for m in todo]
        with self._locked():
            self._check_ready(self._recorded(), for_rollback=True)
            todo = self.to_roll_back(steps=steps, to=to, everything=everything)
            self._check_reversible(todo)
            for migration in todo:
                self._run(migration, "rollback")
            return [m.id for m in todo]

    def _check_reversible(self, todo: list[MigrationFile]) -> None:
        for migration in todo:
            if migration.irreversible is not None:
                raise MigrationError(
                    f"{migration.id} is irreversible: {migration.irreversible or '(no reason)'}; "
                    "refusing to roll it back (nothing was rolled back)"
                )
            if migration.rollback_path is None:
                raise MigrationError(
                    f"{migration.path.name} has no rollback file "
                    f"({migration.id}{ROLLBACK_SUFFIX}): refusing to mark it unapplied "
                    "while its objects stay in the database"
                )

    def accept_edit(self, wanted: str) -> str:
        """Record the current contents of an edited, applied migration; returns its id."""
        with self._locked():
            migration_id = resolve_id(self.files, wanted)
            recorded = self._recorded()
            migration = self._file(migration_id)
            if migration_id not in recorded.applied:
                raise MigrationError(f"{migration_id} is not applied: there is no edit to accept")
            if migration_id in recorded.checksums and not self._edited(migration, recorded):
                raise MigrationError(f"{migration_id} is unchanged since it was applied")
            with self.conn.transaction():
                self._store_checksums(migration, note="accept-edit")
            return migration_id

    def resolve(self, wanted: str, *, applied: bool) -> str:
        """Close a dirty migration as applied or as rolled back; returns its id."""
        with self._locked():
            migration_id = resolve_id(self.files, wanted)
            recorded = self._recorded()
            if migration_id not in recorded.dirty:
                raise MigrationError(f"{migration_id} is not dirty: nothing to resolve")
            migration = self._file(migration_id)
            yoyo_migration = _yoyo_migration(migration)
            with self.conn.transaction():
                marked = migration_id in recorded.applied
                if applied:
                    if not marked:
                        self.backend.mark_one(yoyo_migration, log=True)
                    self._store_checksums(migration, note="resolve --applied")
                else:
                    if marked:
                        self.backend.unmark_one(yoyo_migration, log=True)
                    self.conn.execute(
                        f"DELETE FROM {CHECKSUM_TABLE} WHERE migration_id = %s", (migration_id,)
                    )
                self.conn.execute(
                    f"DELETE FROM {DIRTY_TABLE} WHERE migration_id = %s", (migration_id,)
                )
            return migration_id

    # -- running one migration ----------------------------------------------------------------

    def _store_checksums(self, migration: MigrationFile, note: str = "") -> None:
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

    def _record(self, migration: MigrationFile, yoyo_migration: Any, direction: str) -> None:
        """Mark the migration (un)applied; always inside the caller's transaction."""
        backend = self.backend
        if direction == "apply":
            backend.mark_one(yoyo_migration, log=False)
            self._store_checksums(migration)
        else:
            backend.unmark_one(yoyo_migration, log=False)
            self.conn.execute(
                f"DELETE FROM {CHECKSUM_TABLE} WHERE migration_id = %s", (migration.id,)
            )
        backend.log_migration(yoyo_migration, direction)

    def _run(self, migration: MigrationFile, direction: str) -> None:
        yoyo_migration = _yoyo_migration(migration)
        path = migration.path if direction == "apply" else migration.rollback_path
        text = migration.text if direction == "apply" else migration.rollback_text
        assert path is not None
        assert text is not None
        try:
            if yoyo_migration.use_transactions:
                self._run_whole(migration, yoyo_migration, direction, path, text)
            else:
                self._run_statements(migration, yoyo_migration, direction, path, text)
        except psycopg.OperationalError as exc:
            if exc.sqlstate is None:
                raise DatabaseUnavailable(f"lost the connection during {migration.id}") from exc
            raise

    def _run_whole(
        self,
        migration: MigrationFile,
        yoyo_migration: Any,
        direction: str,
        path: Path,
        text: str,
    ) -> None:
        """The file as one multi-statement string, recorded in the same transaction."""
        conn = self.conn
        cursor = _ScriptCursor(conn)
        try:
            with conn.transaction():
                cursor.execute(text.encode())
                self._record(migration, yoyo_migration, direction)
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
                raise
            where = self._where(path, text, exc, cursor.succeeded)
            raise MigrationError(
                f"{direction} of {self._display(path)} failed{where}\n"
                "the transaction was rolled back: nothing of this migration was kept"
            ) from exc
        finally:
            cursor.close()

    def _run_statements(
        self,
        migration: MigrationFile,
        yoyo_migration: Any,
        direction: str,
        path: Path,
        text: str,
    ) -> None:
        """A `transactional: false` migration: one statement at a time, dirty until done."""
        conn = self.conn
        statements = split_statements(text)
        with conn.transaction():
            conn.execute(
                f"INSERT INTO {DIRTY_TABLE} (migration_id, direction, runner) VALUES (%s, %s, %s)",
                (migration.id, direction, self.runner),
            )
        for statement in statements:
            try:
                conn.execute(statement.text.encode())
            except psycopg.Error as exc:
                if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
                    raise
                where = self._where(path, text, exc, statement.index, statements, statement)
                line, column = location(text, statement.start)
                with conn.transaction():
                    conn.execute(
                        f"UPDATE {DIRTY_TABLE} SET failed_at = now(), location = %s, error = %s"
                        " WHERE migration_id = %s",
                        (
                            f"{self._display(path)}:{line}:{column}",
                            _primary(exc),
                            migration.id,
                        ),
                    )
                done = statement.index
                raise MigrationError(
                    f"{direction} of {self._display(path)} (transactional: false) "
                    f"failed{where}\n"
                    f"{done} statement(s) before it were committed and stay; {migration.id} is "
                    "now recorded as dirty and migrate refuses to run until it is resolved. "
                    f"To resolve it, {_resolve_hint(migration.number)}"
                ) from exc
        with conn.transaction():
            self._record(migration, yoyo_migration, direction)
            conn.execute(f"DELETE FROM {DIRTY_TABLE} WHERE migration_id = %s", (migration.id,))

    def _where(
        self,
        path: Path,
        text: str,
        exc: psycopg.Error,
        statement_index: int | None,
        statements: list[Statement] | None = None,
        sent: Statement | None = None,
    ) -> str:
        """`` at file:line:col (statement i of n): message`` plus the statement's first line."""
        try:
            statements = split_statements(text) if statements is None else statements
        except ValueError:
            statements = []
        diag = exc.diag
        position = diag.statement_position
        base = sent.start if sent is not None else 0
        statement: Statement | None = None
        offset: int | None = None
        if position:
            offset = base + int(position) - 1
            statement = statement_at(statements, offset)
        elif statement_index is not None and statement_index < len(statements):
            statement = statements[statement_index]
            offset = statement.start
        parts = []
        if offset is not None:
            line, column = location(text, offset)
            parts.append(f" at {self._display(path)}:{line}:{column}")
        if statement is not None:
            parts.append(f" (statement {statement.index + 1} of {len(statements)})")
        parts.append(f": {_primary(exc)}")
        if diag.message_detail:
            parts.append(f"\ndetail: {scrub_secrets(diag.message_detail)}")
        if diag.message_hint:
            parts.append(f"\nhint: {scrub_secrets(diag.message_hint)}")
        if statement is not None:
            parts.append(f"\nstatement: {statement.first_line}")
        if diag.context:
            parts.append(f"\ncontext: {scrub_secrets(diag.context.strip())}")
        return "".join(parts)


def _primary(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary or str(exc).strip().splitlines()[0]
    return scrub_secrets(message)


def _resolve_hint(number: str) -> str:
    return (
        "finish or undo its statements by hand, then run "
        f"`plainsql migrate --resolve {number} --applied` (everything it does is in place) or "
        f"`plainsql migrate --resolve {number} --rolled-back` (nothing of it remains)"
    )


def _yoyo_migration(migration: MigrationFile) -> Any:
    """yoyo's view of the file: its directives, and the key of its ``_yoyo_migration`` row."""
    from yoyo.migrations import Migration

    yoyo_migration = Migration(migration.id, str(migration.path), str(migration.path.parent))
    yoyo_migration.load()
    return yoyo_migration


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
            conn.execute(f"SET lock_timeout = '{DDL_LOCK_TIMEOUT}'")
            conn.execute(
                "SELECT set_config('client_connection_check_interval', '1s', false)"
                " WHERE current_setting('server_version_num')::int >= 140000"
            )
            conn.execute("SELECT set_config('application_name', %s, false)", (application_name,))
            return conn

    # yoyo keys a cache on the URI object; it never sees the real connection string.
    dburi = DatabaseURI("postgresql+psycopg", None, None, None, None, "plainsql", {})
    return PlainBackend(dburi, "_yoyo_migration")
