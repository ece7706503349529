"""Plain-SQL migrations in migrations/, applied and rolled back by yoyo over psycopg 3.

Layout: ``NNNN_slug.sql`` with ``NNNN_slug.rollback.sql`` beside it; the id of a migration
is its file name without ``.sql``. yoyo parses the files and keeps its bookkeeping tables
(``_yoyo_migration``, ``_yoyo_log``); plainsql drives the runs and adds the rails:

- each transactional migration is applied (or rolled back) and recorded in ONE transaction,
  so a crash can never leave it applied but unrecorded (yoyo records in a second one);
- a migration without a rollback file cannot be rolled back (yoyo would silently mark it
  unapplied and leave its objects in place);
- a failure names the migration file and the server's message; nothing is half-applied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from plainsql.config import Settings
from plainsql.errors import DatabaseUnavailable, MigrationError, scrub_secrets
from plainsql.server import connect, server_conninfo

MIGRATION_NAME = re.compile(r"^(?P<number>\d{4})_(?P<slug>[a-z0-9_]+)$")
ROLLBACK_SUFFIX = ".rollback.sql"


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """One migration on disk."""

    id: str
    path: Path
    rollback_path: Path | None


@dataclass(frozen=True, slots=True)
class MigrationState:
    """One migration on disk and whether the database has it."""

    id: str
    path: Path
    rollback_path: Path | None
    applied: bool
    applied_at: datetime | None


def discover(migrations_dir: Path) -> list[MigrationFile]:
    """Every migration under ``migrations_dir`` in id order; misnamed files are an error."""
    if not migrations_dir.is_dir():
        raise MigrationError(f"no migrations folder at {migrations_dir}")
    found: list[MigrationFile] = []
    forward_ids: set[str] = set()
    for path in sorted(migrations_dir.iterdir()):
        if not path.is_file() or path.suffix != ".sql" or path.name.endswith(ROLLBACK_SUFFIX):
            continue
        migration_id = path.name.removesuffix(".sql")
        if not MIGRATION_NAME.match(migration_id):
            raise MigrationError(
                f"{path}: a migration is named NNNN_slug.sql (four digits, lower-case slug)"
            )
        rollback = path.with_name(migration_id + ROLLBACK_SUFFIX)
        found.append(MigrationFile(migration_id, path, rollback if rollback.is_file() else None))
        forward_ids.add(migration_id)
    for path in sorted(migrations_dir.glob("*" + ROLLBACK_SUFFIX)):
        if path.name.removesuffix(ROLLBACK_SUFFIX) not in forward_ids:
            raise MigrationError(f"{path}: rollback file without its migration")
    numbers = [m.id[:4] for m in found]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise MigrationError(f"two migrations share the number {', '.join(duplicates)}")
    return found


def resolve_id(files: Sequence[MigrationFile], wanted: str) -> str:
    """A migration id from its full id or its number (``0003``)."""
    for migration in files:
        if wanted in (migration.id, migration.id[:4]):
            return migration.id
    raise MigrationError(f"no migration {wanted!r} in {[m.id for m in files]}")


def new_migration(migrations_dir: Path, slug: str) -> tuple[Path, Path]:
    """Write the next ``NNNN_slug.sql`` and its rollback, each with a header to fill in."""
    clean = re.sub(r"[^a-z0-9]+", "_", slug.lower()).strip("_")
    if not clean:
        raise MigrationError(f"a migration slug needs letters or digits, got {slug!r}")
    migrations_dir.mkdir(parents=True, exist_ok=True)
    existing = discover(migrations_dir)
    number = int(existing[-1].id[:4]) + 1 if existing else 1
    migration_id = f"{number:04d}_{clean}"
    forward = migrations_dir / f"{migration_id}.sql"
    rollback = migrations_dir / f"{migration_id}{ROLLBACK_SUFFIX}"
    forward.write_text(
        f"-- {migration_id}: say what this migration does and why.\n"
        "-- Name every constraint and index; every foreign key gets an index.\n\n"
    )
    rollback.write_text(
        f"-- {migration_id} rollback: undo everything {forward.name} creates, in reverse order.\n\n"
    )
    return forward, rollback


def _describe_failure(migration: MigrationFile, direction: str, exc: psycopg.Error) -> str:
    diag = exc.diag
    lines = [f"{direction} of {migration.path.name} failed: {scrub_secrets(str(exc)).strip()}"]
    if diag.context:
        lines.append(f"context: {diag.context.strip()}")
    lines.append("the transaction was rolled back: nothing of this migration was kept")
    return "\n".join(lines)


class Migrator:
    """Runs migrations against one database; use as a context manager to close its connection."""

    def __init__(self, settings: Settings, conninfo: str | None = None) -> None:
        self.settings = settings
        self.conninfo = server_conninfo(settings) if conninfo is None else conninfo
        self.files = discover(settings.migrations_dir)
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
            self._backend = _open_backend(self.settings, self.conninfo)
        return self._backend

    def _yoyo_migrations(self) -> dict[str, Any]:
        from yoyo import read_migrations

        loaded = read_migrations(str(self.settings.migrations_dir))
        return {m.id: m for m in loaded}

    def applied(self) -> dict[str, datetime | None]:
        """Applied migration ids with when they were applied (UTC)."""
        self.backend.ensure_internal_schema_updated()
        cursor = self.backend.execute(
            "SELECT migration_id, applied_at_utc FROM _yoyo_migration ORDER BY applied_at_utc"
        )
        return {
            row[0]: (row[1].replace(tzinfo=UTC) if row[1] is not None else None)
            for row in cursor.fetchall()
        }

    def status(self) -> list[MigrationState]:
        applied = self.applied()
        return [
            MigrationState(m.id, m.path, m.rollback_path, m.id in applied, applied.get(m.id))
            for m in self.files
        ]

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

    def migrate(self, to: str | None = None, dry_run: bool = False) -> list[str]:
        """Apply pending migrations (up to ``to``); returns the ids applied, in order."""
        with self._locked():
            todo = self.pending(to)
            if dry_run:
                return [m.id for m in todo]
            loaded = self._yoyo_migrations()
            for migration in todo:
                self._run(migration, loaded[migration.id], "apply")
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
        with self._locked():
            todo = self.to_roll_back(steps=steps, to=to, everything=everything)
            missing = [m for m in todo if m.rollback_path is None]
            if missing:
                raise MigrationError(
                    f"{missing[0].path.name} has no rollback file "
                    f"({missing[0].id}{ROLLBACK_SUFFIX}): refusing to mark it unapplied "
                    "while its objects stay in the database"
                )
            if dry_run:
                return [m.id for m in todo]
            loaded = self._yoyo_migrations()
            for migration in todo:
                self._run(migration, loaded[migration.id], "rollback")
            return [m.id for m in todo]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        backend = self.backend
        backend.ensure_internal_schema_updated()
        with backend.lock(timeout=60):
            yield

    def _run(self, migration: MigrationFile, yoyo_migration: Any, direction: str) -> None:
        backend = self.backend
        try:
            yoyo_migration.load()
            if yoyo_migration.use_transactions:
                with backend.transaction():
                    yoyo_migration.process_steps(backend, direction)
                    self._record(yoyo_migration, direction)
            else:
                yoyo_migration.process_steps(backend, direction)
                with backend.transaction():
                    self._record(yoyo_migration, direction)
        except psycopg.OperationalError as exc:
            if exc.sqlstate is None:
                raise DatabaseUnavailable(f"lost the connection during {migration.id}") from exc
            raise MigrationError(_describe_failure(migration, direction, exc)) from exc
        except psycopg.Error as exc:
            raise MigrationError(_describe_failure(migration, direction, exc)) from exc

    def _record(self, yoyo_migration: Any, direction: str) -> None:
        backend = self.backend
        if direction == "apply":
            backend.mark_one(yoyo_migration, log=False)
        else:
            backend.unmark_one(yoyo_migration, log=False)
        backend.log_migration(yoyo_migration, direction)


def _open_backend(settings: Settings, conninfo: str) -> Any:
    """A yoyo PostgreSQL backend whose connection is opened by plainsql (timeouts, names)."""
    from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
    from yoyo.connections import DatabaseURI

    class PlainBackend(PostgresqlPsycopgBackend):  # type: ignore[misc]
        def connect(self, dburi: Any) -> psycopg.Connection[Any]:
            conn = connect(settings, conninfo, autocommit=True)
            # Migrations may rewrite big tables: no statement_timeout for them.
            conn.execute("SET statement_timeout = 0")
            conn.execute("SET application_name = 'plainsql-migrate'")
            return conn

    # yoyo keys a cache on the URI object; it never sees the real connection string.
    dburi = DatabaseURI("postgresql+psycopg", None, None, None, None, "plainsql", {})
    backend = PlainBackend(dburi, "_yoyo_migration")
    backend.init_database()
    return backend
