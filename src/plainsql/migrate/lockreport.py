"""The lock report: which locks of SHARE or stronger each statement of a migration takes.

Read, not guessed: on a scratch database (built, like ``plainsql verify``'s, by the runner
applying the migrations before), each statement of the migration runs inside a transaction
and ``pg_locks`` of that session is read after it; the locks it added are the statement's.
A transactional migration runs whole in one such transaction, then is rolled back and
applied by the runner; a ``-- transactional: false`` one runs each statement in a
transaction that is rolled back, then for real (a statement PostgreSQL refuses inside a
transaction, ``CREATE INDEX CONCURRENTLY`` or a ``DO`` block that commits its batches, is
reported as such: its lock, SHARE UPDATE
EXCLUSIVE, blocks neither reads nor writes). Times are measured on the scratch database, so
they say how long a lock is held relative to the other statements, not how long it will be
held on a big table.

The same run finds what the lint rule ``blocking-scan`` reports: a lock that blocks writes
(SHARE or stronger) or reads (ACCESS EXCLUSIVE) held while the statement scans or rewrites a
table that had rows at the time (a validating constraint, a rewrite, a non-concurrent index,
``SET NOT NULL`` without a proving CHECK constraint).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.errors import ActiveSqlTransaction, InvalidTransactionTermination

from plainsql.config import Settings
from plainsql.errors import MigrationError, redact_data_value, scrub_secrets
from plainsql.migrate.files import MigrationFile, location, split_statements
from plainsql.migrate.runner import Migrator
from plainsql.server import connect, scratch_database

# pg_locks' mode names, weakest to strongest; SHARE and stronger block writes.
MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
BLOCKS_WRITES = frozenset(MODES[4:])
BLOCKS_READS = frozenset(MODES[7:])


def mode_name(mode: str) -> str:
    """``ShareRowExclusiveLock`` -> ``SHARE ROW EXCLUSIVE`` (as LOCK TABLE spells it)."""
    words: list[str] = []
    for char in mode.removesuffix("Lock"):
        if char.isupper() and words:
            words.append(" ")
        words.append(char.upper())
    return "".join(words)


@dataclass(frozen=True, slots=True)
class TakenLock:
    """A lock of SHARE or stronger a statement took on a relation."""

    relation: str
    mode: str  # pg_locks' name, e.g. AccessExclusiveLock
    new: bool  # the relation did not exist before this migration: nobody else can wait on it

    def describe(self) -> str:
        return f"{mode_name(self.mode)} on {self.relation}{' (created here)' if self.new else ''}"


@dataclass(frozen=True, slots=True)
class Scan:
    """A statement that scanned or rewrote a filled table under a lock blocking its users."""

    table: str
    mode: str
    what: str  # "validates constraint x", "rewrites the table", ...
    fix: str

    def describe(self) -> str:
        blocks = "reads and writes" if self.mode in BLOCKS_READS else "writes"
        return (
            f"{self.what} of {self.table}, which has rows, holding {mode_name(self.mode)} "
            f"(blocks its {blocks} until the migration commits): {self.fix}"
        )


@dataclass(frozen=True, slots=True)
class StatementLocks:
    """One statement of a migration and the locks it took, as measured."""

    migration_id: str
    index: int  # 0-based
    count: int  # statements in the file
    line: int
    first_line: str
    locks: tuple[TakenLock, ...]
    seconds: float  # the statement's own run time
    held_seconds: float  # from its start to the end of its transaction (its locks' hold)
    outside_transaction: bool = False
    scans: tuple[Scan, ...] = ()

    def describe(self) -> str:
        head = f"statement {self.index + 1} of {self.count} (line {self.line}): {self.first_line}"
        if self.outside_transaction:
            return (
                f"{head}\n    runs outside a transaction (pg_locks cannot be read inside it); "
                "the CONCURRENTLY forms take SHARE UPDATE EXCLUSIVE, which blocks neither reads "
                f"nor writes; ran {_ms(self.seconds)}"
            )
        if not self.locks:
            return f"{head}\n    no lock of SHARE or stronger; ran {_ms(self.seconds)}"
        taken = ", ".join(lock.describe() for lock in self.locks)
        return (
            f"{head}\n    {taken}; ran {_ms(self.seconds)}, held {_ms(self.held_seconds)} to commit"
        )


def _primary(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary or str(exc).strip().splitlines()[0]
    return redact_data_value(scrub_secrets(message), exc.sqlstate)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# -- the catalog before and after a statement ---------------------------------------------------

_RELATIONS = """
SELECT c.oid::bigint, c.oid::regclass::text, c.relkind::text, c.relfilenode::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp%%'
"""
_CONSTRAINTS = """
SELECT k.oid::bigint, k.conname::text, k.conrelid::bigint, k.contype::text, k.convalidated,
       pg_get_constraintdef(k.oid)
FROM pg_constraint k WHERE k.conrelid IN (SELECT unnest(%s::bigint[])::oid)
"""
_INDEXES = """
SELECT i.indexrelid::bigint, i.indexrelid::regclass::text, i.indrelid::bigint
FROM pg_index i WHERE i.indrelid IN (SELECT unnest(%s::bigint[])::oid)
"""
_NOT_NULL = """
SELECT a.attrelid::bigint, a.attname::text
FROM pg_attribute a
WHERE a.attnotnull AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attrelid IN (SELECT unnest(%s::bigint[])::oid)
"""
_COLUMNS = """
SELECT a.attrelid::bigint, a.attname::text
FROM pg_attribute a
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid IN (SELECT unnest(%s::bigint[])::oid)
"""
_MY_LOCKS = """
SELECT l.relation::bigint, l.mode FROM pg_locks l
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


@dataclass(frozen=True, slots=True)
class _Catalog:
    relations: dict[int, tuple[str, str, int]]  # oid -> (name, relkind, relfilenode)
    constraints: dict[int, tuple[str, int, str, bool, str]]  # oid -> name, table, type, ...
    indexes: dict[int, tuple[str, int]]  # index oid -> (name, table oid)
    not_null: set[tuple[int, str]]
    columns: set[tuple[int, str]]


def _catalog(conn: psycopg.Connection[Any]) -> _Catalog:
    relations = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(_RELATIONS).fetchall()}
    tables = [oid for oid, (_, kind, _) in relations.items() if kind in ("r", "p")]
    return _Catalog(
        relations,
        {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(_CONSTRAINTS, (tables,))},
        {r[0]: (r[1], r[2]) for r in conn.execute(_INDEXES, (tables,))},
        {(r[0], r[1]) for r in conn.execute(_NOT_NULL, (tables,))},
        {(r[0], r[1]) for r in conn.execute(_COLUMNS, (tables,))},
    )


def _my_locks(conn: psycopg.Connection[Any]) -> set[tuple[int, str]]:
    return {(r[0], r[1]) for r in conn.execute(_MY_LOCKS).fetchall()}


def _has_rows(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute(
        sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.SQL(name))  # a regclass name
    ).fetchone()
    return bool(row and row[0])


FIX_CONSTRAINT = (
    "add it NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later migration "
    "(SHARE UPDATE EXCLUSIVE: reads and writes go on while it scans)"
)
FIX_INDEX = (
    "CREATE INDEX CONCURRENTLY in a `-- transactional: false` migration (for a UNIQUE or "
    "PRIMARY KEY constraint: build its unique index concurrently, then ADD CONSTRAINT ... "
    "USING INDEX)"
)
FIX_REWRITE = (
    "add a nullable column (or one with a constant default), backfill it in batches, then "
    "switch to it (docs/zero-downtime.md)"
)
FIX_NOT_NULL = (
    "add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET "
    "NOT NULL (which then skips the scan)"
)


def _scans(
    conn: psycopg.Connection[Any],
    before: _Catalog,
    after: _Catalog,
    taken: dict[int, str],
    created: set[int],
) -> list[Scan]:
    """What the statement scanned or rewrote under a lock of SHARE or stronger (on a table
    other sessions can see: not one this migration created, nor one it dropped)."""
    found: list[Scan] = []
    for oid, mode in taken.items():
        if oid in created or oid not in before.relations or oid not in after.relations:
            continue
        name, kind, filenode = before.relations[oid]
        if kind not in ("r", "p", "m"):
            continue
        whats: list[tuple[str, str]] = []
        if kind != "p" and after.relations[oid][2] != filenode:
            whats.append(("rewrites the table", FIX_REWRITE))
        for index_oid, (index, table) in after.indexes.items():
            if table == oid and index_oid not in before.indexes:
                whats.append((f"builds index {index}", FIX_INDEX))
        for con_oid, (con, table, contype, valid, _) in after.constraints.items():
            if table == oid and contype in ("c", "f") and valid:
                old = before.constraints.get(con_oid)
                if old is None:
                    whats.append((f"validates constraint {con}", FIX_CONSTRAINT))
        proofs = {
            definition
            for (_, table, contype, valid, definition) in before.constraints.values()
            if table == oid and contype == "c" and valid
        }
        for table, column in sorted(after.not_null - before.not_null):
            if table != oid or (table, column) not in before.columns:
                continue
            spelled = {column, sql.Identifier(column).as_string(conn)}  # quoted when it must
            if not any(f"CHECK (({name} IS NOT NULL))" in proofs for name in spelled):
                whats.append((f"SET NOT NULL scans {column}", FIX_NOT_NULL))
        if whats and _has_rows(conn, name):
            found += [Scan(name, mode, what, fix) for what, fix in whats]
    return found


def _run_measured(
    conn: psycopg.Connection[Any], text: str, created_before: set[int]
) -> tuple[float, list[TakenLock], list[Scan], set[int]]:
    """Run one statement in the open transaction; what it locked and scanned."""
    before = _catalog(conn)
    held = _my_locks(conn)
    started = time.perf_counter()
    conn.execute(text.encode())
    seconds = time.perf_counter() - started
    after = _catalog(conn)
    holding = _my_locks(conn)
    names = {oid: entry[0] for oid, entry in {**before.relations, **after.relations}.items()}
    created = created_before | (set(after.relations) - set(before.relations))
    # Every mode taken (pg_locks keeps one row per mode), strongest first on each relation.
    locks = [
        TakenLock(names[oid], mode, oid in created)
        for oid, mode in sorted(
            holding - held, key=lambda item: (names.get(item[0], ""), -MODES.index(item[1]))
        )
        if mode in BLOCKS_WRITES and oid in names
    ]
    # A scan blocks others under any lock the transaction holds by then, taken here or above.
    scans = _scans(conn, before, after, _strongest(holding, names), created)
    return seconds, locks, scans, created


def _strongest(locks: set[tuple[int, str]], names: dict[int, str]) -> dict[int, str]:
    """The strongest of ``locks`` of SHARE or stronger on each relation with a name."""
    strongest: dict[int, str] = {}
    for oid, mode in locks:
        stronger = oid not in strongest or MODES.index(mode) > MODES.index(strongest[oid])
        if mode in BLOCKS_WRITES and oid in names and stronger:
            strongest[oid] = mode
    return strongest


def measure(
    migrator: Migrator, conn: psycopg.Connection[Any], migration: MigrationFile
) -> list[StatementLocks]:
    """Apply ``migration`` on a scratch database through ``migrator``, measuring each of its
    statements on ``conn`` (autocommit, the same database) first; the report, in order.

    A statement that fails is left for the runner to report: its locks are not measured.
    """
    statements = split_statements(migration.text)
    count = len(statements)
    measured: list[StatementLocks] = []

    def entry(i: int, seconds: float, held: float, **kw: Any) -> StatementLocks:
        statement = statements[i]
        line = location(migration.text, statement.start)[0]
        return StatementLocks(
            migration.id, i, count, line, statement.first_line, seconds=seconds,
            held_seconds=held, **kw,
        )  # fmt: skip

    if migration.transactional:
        runs: list[tuple[float, list[TakenLock], list[Scan]]] = []
        created: set[int] = set()
        conn.execute("BEGIN")
        try:
            for statement in statements:
                seconds, locks, scans, created = _run_measured(conn, statement.text, created)
                runs.append((seconds, locks, scans))
        except psycopg.Error:
            pass  # the runner reports it, below
        finally:
            conn.execute("ROLLBACK")
        migrator.migrate(to=migration.id)
        for i, (seconds, locks, scans) in enumerate(runs):
            # A lock is held from its statement to the commit: the statements' own times
            # (the measuring queries between them left out).
            held = sum(later[0] for later in runs[i:])
            measured.append(entry(i, seconds, held, locks=tuple(locks), scans=tuple(scans)))
        return measured
    migrator.migrate(to=migration.id, dry_run=True)  # the runner's rails, as a real run
    migrator.ledger.ensure()
    for i, statement in enumerate(statements):
        conn.execute("BEGIN")
        try:
            seconds, locks, scans, _ = _run_measured(conn, statement.text, set())
            conn.execute("ROLLBACK")
            measured.append(entry(i, seconds, seconds, locks=tuple(locks), scans=tuple(scans)))
        except (ActiveSqlTransaction, InvalidTransactionTermination):  # COMMIT in a DO block
            conn.execute("ROLLBACK")
            started = time.perf_counter()
            conn.execute(statement.text.encode())
            seconds = time.perf_counter() - started
            measured.append(entry(i, seconds, seconds, locks=(), outside_transaction=True))
            continue
        except psycopg.Error as exc:
            conn.execute("ROLLBACK")
            line, column = location(migration.text, statement.start)
            shown = migrator.settings.shown(migration.path)
            raise MigrationError(
                f"apply of {shown} (transactional: false) failed at {shown}:{line}:{column} "
                f"(statement {i + 1} of {count}): {_primary(exc)}\n"
                f"statement: {statement.first_line}"
            ) from exc
        conn.execute(statement.text.encode())
    with migrator.conn.transaction():
        migrator.ledger.record(migration, "apply")
    return measured


def lock_report(settings: Settings, migration_ids: list[str]) -> list[StatementLocks]:
    """The lock report of ``migration_ids`` (pending ones, for a dry run): on a scratch
    database the migrations on disk are applied in order, those measured; nothing else is
    touched."""
    wanted = set(migration_ids)
    report: list[StatementLocks] = []
    if not wanted:
        return report
    with (
        scratch_database(settings, "locks") as conninfo,
        Migrator(settings, conninfo, check_files=False) as migrator,
        connect(settings, conninfo, autocommit=True) as conn,
    ):
        for migration in migrator.files:
            if not wanted:
                break
            if migration.id in wanted:
                report += measure(migrator, conn, migration)
                wanted.discard(migration.id)
            else:
                migrator.migrate(to=migration.id)
    return report


def describe_report(report: list[StatementLocks], prefix: str = "") -> list[str]:
    """The report as lines, one migration after another."""
    lines: list[str] = []
    current = None
    for entry in report:
        if entry.migration_id != current:
            current = entry.migration_id
            lines.append(
                f"{prefix}locks of SHARE or stronger taken by {current}, each at the statement "
                "that first takes it, held to commit (read from pg_locks; times measured on a "
                "scratch database):"
            )
        lines += [f"{prefix}  {line}" for line in entry.describe().splitlines()]
    return lines
