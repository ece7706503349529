"""The migration runner: applies and rolls back migrations with the rails a DBA expects.

The plan (:mod:`plainsql.migrate.plan`) says what to run and refuses what must not run; the
ledger (:mod:`plainsql.migrate.ledger`) records it; this module runs it:

- **one runner at a time**: every write runs under the advisory lock of
  :mod:`plainsql.migrate.lock`; what is pending is computed after the lock is taken, so
  a runner that waited finds nothing left to do;
- **files run whole**: a transactional migration (the default) is sent to the server as ONE
  multi-statement string inside a transaction that also records it, so it is applied and
  recorded together or not at all, whatever a crash or a ``kill -9`` does. Its rollback
  file is likewise one unit: statement counts do not matter;
- **edits detected**: an applied file that changed stops ``migrate`` and ``rollback`` until
  the file is restored or ``plainsql migrate --accept-edit ID`` records the new contents;
- **rollbacks required**: a migration needs a rollback file unless its header says
  ``-- irreversible: <reason>``; rolling such a migration back is refused with the reason;
- **short lock waits, retried**: every migration runs with ``lock_timeout`` set to
  ``ddl-lock-timeout``; a transactional migration that hits it is rolled back and run again
  after a backoff (:mod:`plainsql.migrate.waits`), a ``-- transactional: false`` one runs
  the statement that waited again (never one already done), each wait logged naming the
  session that held the lock;
- **failures located**: an error names ``file:line:col`` and the failing statement. A
  failing ``-- transactional: false`` migration (run statement by statement) is recorded as
  dirty; ``migrate`` refuses to go on until the operator runs
  ``plainsql migrate --resolve ID --applied`` or ``--rolled-back``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.errors import LockNotAvailable
from psycopg.pq import ExecStatus

from plainsql.config import Settings
from plainsql.errors import (
    DatabaseUnavailable,
    MigrationError,
    redact_context,
    redact_data_value,
    redact_row_data,
    scrub_secrets,
)
from plainsql.migrate import plan
from plainsql.migrate.files import (
    MigrationFile,
    Statement,
    discover,
    location,
    resolve_id,
    split_statements,
    statement_at,
)
from plainsql.migrate.ledger import Ledger, Recorded, runner_name
from plainsql.migrate.lock import migration_lock
from plainsql.migrate.plan import MigrationState
from plainsql.migrate.waits import BlockerWatch, backoff, describe_blockers, log
from plainsql.server import session_conninfo

# How long a runner waits for another one to finish (seconds); `--lock-timeout` overrides it.
DEFAULT_LOCK_TIMEOUT = 300.0


class _ScriptCursor(psycopg.Cursor[Any]):
    """A cursor that counts the statements of a multi-statement string that succeeded.

    The server answers a simple-protocol query with one result per statement and stops at
    the first error, so the number of good results before the error is the index of the
    failing statement: the only way to name it when the error carries no position. This
    overrides psycopg's private ``_check_results`` (pinned by tests/toolkit/test_private_names.py);
    it is the only module that does.
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
        # The lock is session-level: never through a transaction pooler (DIRECT_URL instead).
        self.conninfo = session_conninfo(settings, "migrations") if conninfo is None else conninfo
        self.files = discover(settings.migrations_dir)
        self.lock_timeout = lock_timeout
        self.runner = runner_name()
        self.ledger = Ledger(settings, self.conninfo, self.runner)
        self.notes: list[str] = []  # things a person should know about the last run
        # Called once with the lock's holders when another runner holds the lock.
        self.on_wait: Callable[[str], None] | None = None
        # Called with (direction, id) as each migration is applied or rolled back.
        self.on_done: Callable[[str, str], None] | None = None
        self._watcher: psycopg.Connection[Any] | None = None  # the lock session, while held
        self._watch: BlockerWatch | None = None

    def __enter__(self) -> Migrator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ledger.close()

    @property
    def conn(self) -> psycopg.Connection[Any]:
        return self.ledger.conn

    def file(self, migration_id: str) -> MigrationFile:
        """The migration on disk with this exact id."""
        for migration in self.files:
            if migration.id == migration_id:
                return migration
        raise MigrationError(f"no migration {migration_id!r} on disk")

    # -- reading (no writes, no lock) ------------------------------------------------------

    def applied(self) -> dict[str, Any]:
        """Applied migration ids with when they were applied (UTC)."""
        return self.ledger.read().applied

    def status(self) -> list[MigrationState]:
        """Every migration on disk with its state; reads only (no lock, creates nothing)."""
        return plan.states(self.files, self.ledger.read())

    def missing_files(self) -> list[str]:
        """Ids the database has applied that have no file in migrations/."""
        return plan.missing_files(self.files, self.ledger.read())

    def pending(self, to: str | None = None) -> list[MigrationFile]:
        return plan.pending(self.files, self.ledger.read(), to)

    def to_roll_back(
        self, *, steps: int | None = 1, to: str | None = None, everything: bool = False
    ) -> list[MigrationFile]:
        """The applied migrations a rollback would undo, newest first."""
        return plan.to_roll_back(
            self.files, self.ledger.read(), steps=steps, to=to, everything=everything
        )

    # -- runs (under the lock) ----------------------------------------------------------------

    @contextmanager
    def _locked(self, *, create: bool = True) -> Iterator[None]:
        """Hold the migration lock, with the bookkeeping tables in place (unless not
        ``create``: a dry run waits for the lock like a real run and creates nothing)."""
        with migration_lock(
            self.settings,
            self.conninfo,
            timeout=self.lock_timeout,
            application_name=self.runner,
            on_wait=self.on_wait,
        ) as lock_conn:
            self._watcher = lock_conn  # idle while held: it watches who blocks a migration
            try:
                if create:
                    self.ledger.ensure()
                yield
            finally:
                self._watcher = None

    def _ready(
        self,
        *,
        for_rollback: bool = False,
        allow_out_of_order: bool = False,
        dry_run: bool = False,
        recorded: Recorded | None = None,
    ) -> None:
        """The plan's rails, then adopting the checksums of migrations applied untracked (a dry
        run only says it would)."""
        recorded = self.ledger.read() if recorded is None else recorded
        plan.check_ready(
            self.settings,
            self.files,
            recorded,
            for_rollback=for_rollback,
            check_files=self.check_files,
            allow_out_of_order=allow_out_of_order,
        )
        untracked = plan.unrecorded(self.files, recorded)
        if untracked and dry_run:
            self.notes.append(
                f"would record checksums of {len(untracked)} migration(s) applied before "
                f"plainsql tracked them ({untracked[0].id} .. {untracked[-1].id})"
            )
        elif untracked:
            with self.conn.transaction():
                for migration in untracked:
                    self.ledger.store_checksums(migration)
            self.notes.append(
                f"recorded checksums of {len(untracked)} migration(s) applied before plainsql "
                f"tracked them ({untracked[0].id} .. {untracked[-1].id})"
            )

    def migrate(
        self, to: str | None = None, dry_run: bool = False, *, allow_out_of_order: bool = False
    ) -> list[str]:
        """Apply pending migrations (up to ``to``); returns the ids applied, in order.

        A pending migration that sorts below an applied one is refused unless
        ``allow_out_of_order``; then it is applied where it is, before the later pending ones.
        A dry run goes through the same lock and rails, then returns what it would apply
        (:meth:`sql_of` gives the SQL) and changes nothing.
        """
        self.notes = []
        with self._locked(create=not dry_run):
            recorded = self.ledger.read()
            mappings = plan.squash_mappings(self.files, recorded)
            recorded = plan.mapped(recorded, mappings)
            self._ready(allow_out_of_order=allow_out_of_order, dry_run=dry_run, recorded=recorded)
            for migration, originals in mappings:
                if not dry_run:
                    with self.conn.transaction():
                        self.ledger.map_squash(migration, originals)
                self.notes.append(
                    f"{'would record' if dry_run else 'recorded'} {migration.id} as applied in "
                    f"place of the {len(originals)} migrations it squashes "
                    f"({originals[0]} .. {originals[-1]})"
                )
            todo = plan.pending(self.files, recorded, to)
            if not dry_run:
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
        """Roll back applied migrations, the last applied first; returns the ids rolled back,
        in order. A dry run goes through the same lock and rails and changes nothing."""
        self.notes = []
        with self._locked(create=not dry_run):
            self._ready(for_rollback=True, dry_run=dry_run)
            todo = self.to_roll_back(steps=steps, to=to, everything=everything)
            plan.check_reversible(todo)
            if not dry_run:
                for migration in todo:
                    self._run(migration, "rollback")
            return [m.id for m in todo]

    def sql_of(self, migration_id: str, direction: str) -> tuple[Path, str]:
        """The file and the SQL a run sends for ``migration_id`` (``apply`` or ``rollback``)."""
        migration = self.file(migration_id)
        path = migration.path if direction == "apply" else migration.rollback_path
        text = migration.text if direction == "apply" else migration.rollback_text
        if path is None or text is None:
            raise MigrationError(f"{migration_id} has no rollback file")
        return path, text

    def accept_edit(self, wanted: str) -> str:
        """Record the current contents of an edited, applied migration; returns its id."""
        with self._locked():
            migration_id = resolve_id(self.files, wanted)
            recorded = self.ledger.read()
            migration = self.file(migration_id)
            if migration_id not in recorded.applied:
                raise MigrationError(f"{migration_id} is not applied: there is no edit to accept")
            if migration_id in recorded.checksums and not plan.edited(migration, recorded):
                raise MigrationError(f"{migration_id} is unchanged since it was applied")
            with self.conn.transaction():
                self.ledger.store_checksums(migration, note="accept-edit")
            return migration_id

    def mark_baseline(self, migration_id: str) -> None:
        """Record a baseline migration as applied without running it (its objects exist)."""
        with self._locked():
            recorded = self.ledger.read()
            if recorded.applied:
                first = next(iter(recorded.applied))
                raise MigrationError(
                    f"the database has migrations recorded as applied ({first} ..): "
                    "refusing to record a baseline"
                )
            with self.conn.transaction():
                self.ledger.record(self.file(migration_id), "apply", note="baseline")

    def resolve(self, wanted: str, *, applied: bool) -> str:
        """Close a dirty migration as applied or as rolled back; returns its id."""
        with self._locked():
            migration_id = resolve_id(self.files, wanted)
            recorded = self.ledger.read()
            if migration_id not in recorded.dirty:
                raise MigrationError(f"{migration_id} is not dirty: nothing to resolve")
            plan.check_no_invalid_indexes(recorded, f"resolve {migration_id}")
            self.ledger.resolve(self.file(migration_id), applied=applied, recorded=recorded)
            return migration_id

    # -- running one migration ----------------------------------------------------------------

    def _run(self, migration: MigrationFile, direction: str) -> None:
        self._run_one(migration, direction)
        if self.on_done is not None:
            self.on_done(direction, migration.id)

    def _run_one(self, migration: MigrationFile, direction: str) -> None:
        path = migration.path if direction == "apply" else migration.rollback_path
        text = migration.text if direction == "apply" else migration.rollback_text
        assert path is not None
        assert text is not None
        try:
            with BlockerWatch(self._watcher, self.conn.info.backend_pid) as self._watch:
                if migration.transactional:
                    self._run_whole(migration, direction, path, text)
                else:
                    self._run_statements(migration, direction, path, text)
        except psycopg.OperationalError as exc:
            if exc.sqlstate is None:
                raise DatabaseUnavailable(f"lost the connection during {migration.id}") from exc
            raise

    def _waited(
        self,
        migration: MigrationFile,
        direction: str,
        statement: str,
        delays: Iterator[float],
        undone: str,
    ) -> str | None:
        """Log a lock timeout naming the holder, then sleep before the retry (None), or
        return the holder when ``ddl-retry-seconds`` are spent."""
        blockers = self._watch.take() if self._watch is not None else []
        holder = describe_blockers(blockers)
        delay = next(delays, None)
        waited = f"{self.settings.ddl_lock_timeout_ms}ms"
        if delay is None:
            log.warning(
                "%s of %s: %r waited %s for a lock held by %s; out of retries (%gs)",
                direction, migration.id, statement, waited, holder,
                self.settings.ddl_retry_seconds,
            )  # fmt: skip
            return holder
        log.warning(
            "%s of %s: %r waited %s for a lock held by %s; %s, retrying in %.1fs",
            direction, migration.id, statement, waited, holder, undone, delay,
        )  # fmt: skip
        time.sleep(delay)
        return None

    def _gave_up(self, holder: str) -> str:
        return (
            f"\nit waited ddl-lock-timeout ({self.settings.ddl_lock_timeout_ms}ms) for a lock "
            f"on every try for {self.settings.ddl_retry_seconds:g}s; the lock was last held by "
            f"{holder}"
        )

    def _run_whole(self, migration: MigrationFile, direction: str, path: Path, text: str) -> None:
        """The file as one multi-statement string, recorded in the same transaction; rolled
        back and run again while it hits ``ddl-lock-timeout``."""
        delays = backoff(self.settings.ddl_retry_seconds)
        while True:
            conn = self.conn
            cursor = _ScriptCursor(conn)
            try:
                with conn.transaction():
                    cursor.execute(text.encode())
                    self.ledger.record(migration, direction)
                return
            except LockNotAvailable as exc:
                statements = split_statements(text)
                index = cursor.succeeded
                shown = statements[index].first_line if index < len(statements) else "?"
                holder = self._waited(migration, direction, shown, delays, "rolled back")
                if holder is None:
                    continue
                where = self._where(path, text, exc, cursor.succeeded)
                raise MigrationError(
                    f"{direction} of {self.settings.shown(path)} failed{where}"
                    f"{self._gave_up(holder)}\n"
                    "the transaction was rolled back: nothing of this migration was kept"
                ) from exc
            except psycopg.Error as exc:
                if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
                    raise
                where = self._where(path, text, exc, cursor.succeeded)
                raise MigrationError(
                    f"{direction} of {self.settings.shown(path)} failed{where}\n"
                    "the transaction was rolled back: nothing of this migration was kept"
                ) from exc
            finally:
                cursor.close()

    def _run_statements(
        self, migration: MigrationFile, direction: str, path: Path, text: str
    ) -> None:
        """A `transactional: false` migration: one statement at a time, dirty until done."""
        conn = self.conn
        statements = split_statements(text)
        self.ledger.start_dirty(migration, direction)
        for statement in statements:
            delays = backoff(self.settings.ddl_retry_seconds)
            gave_up = ""
            error: psycopg.Error | None = None
            invalid_before = set(self.ledger.invalid_indexes())
            while True:
                try:
                    # An INVALID index a timed-out CREATE INDEX CONCURRENTLY left is dropped
                    # first (it would make the retry fail, or IF NOT EXISTS skip the build).
                    for name in sorted(set(self.ledger.invalid_indexes()) - invalid_before):
                        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                    conn.execute(statement.text.encode())
                    error = None
                    break
                except LockNotAvailable as exc:
                    error = exc
                    holder = self._waited(
                        migration,
                        direction,
                        statement.first_line,
                        delays,
                        f"statement {statement.index + 1} of {len(statements)} not done",
                    )
                    if holder is None:
                        continue
                    gave_up = self._gave_up(holder)
                    break
                except psycopg.Error as exc:
                    error = exc
                    break
            if error is not None:
                if isinstance(error, psycopg.OperationalError) and error.sqlstate is None:
                    raise error
                where = self._where(path, text, error, statement.index, statements, statement)
                where += gave_up
                line, column = location(text, statement.start)
                shown = self.settings.shown(path)
                self.ledger.fail_dirty(migration, f"{shown}:{line}:{column}", _primary(error))
                invalid = plan.invalid_note(self.ledger.invalid_indexes())
                raise MigrationError(
                    f"{direction} of {shown} (transactional: false) failed{where}\n"
                    f"{statement.index} statement(s) before it were committed and stay; "
                    f"{migration.id} is now recorded as dirty and migrate refuses to run until "
                    f"it is resolved.{invalid} To resolve it, "
                    f"{plan.resolve_hint(migration.number)}"
                ) from error
        invalid_indexes = self.ledger.invalid_indexes()
        if invalid_indexes:  # e.g. CREATE INDEX CONCURRENTLY IF NOT EXISTS skipped one
            shown = self.settings.shown(path)
            self.ledger.fail_dirty(migration, shown, "INVALID indexes remain")
            raise MigrationError(
                f"{direction} of {shown} (transactional: false) ran, but the database holds "
                f"INVALID indexes; {migration.id} is recorded as dirty."
                f"{plan.invalid_note(invalid_indexes)} Then run it again: "
                f"`plainsql migrate --resolve {migration.number} --rolled-back`, `plainsql migrate`"
            )
        with conn.transaction():
            self.ledger.record(migration, direction)
            self.ledger.clear_dirty(migration.id)

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
            parts.append(f" at {self.settings.shown(path)}:{line}:{column}")
        if statement is not None:
            parts.append(f" (statement {statement.index + 1} of {len(statements)})")
        parts.append(f": {_primary(exc)}")
        if diag.message_detail:
            parts.append(f"\ndetail: {redact_row_data(scrub_secrets(diag.message_detail))}")
        if diag.message_hint:
            parts.append(f"\nhint: {scrub_secrets(diag.message_hint)}")
        if statement is not None:
            parts.append(f"\nstatement: {statement.first_line}")
        if diag.context:
            parts.append(f"\ncontext: {redact_context(scrub_secrets(diag.context.strip()))}")
        return "".join(parts)


def _primary(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary or str(exc).strip().splitlines()[0]
    return redact_data_value(scrub_secrets(message), exc.sqlstate)
