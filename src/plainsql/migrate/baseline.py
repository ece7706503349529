"""Baseline: adopt a database that exists already, built without plainsql.

``plainsql baseline`` turns the database's current schema into the first migration and
records it as applied there, so ``migrate`` from then on applies only what comes after:

1. refuse when the database has migrations recorded, or migrations/ holds files (a baseline
   is the start of a history, not a step in one);
2. ``pg_dump --schema-only --no-owner`` (the pg_dump of :func:`plainsql.migrate.dump.pg_dump`),
   the runner's and yoyo's bookkeeping tables left out, minus what the runner cannot or must
   not execute: the ``\\restrict``/``\\unrestrict`` psql meta-commands of recent pg_dump, the
   session-wide ``set_config('search_path', '', false)`` and ``SET`` preamble (they would
   outlive the migration on the runner's session); ``check_function_bodies = false`` is kept
   as ``SET LOCAL`` (functions are dumped before the tables their bodies read);
3. write ``migrations/<UTC timestamp>_baseline.sql`` headed ``-- irreversible:`` (there is
   nothing before it to roll back to);
4. prove it: build a scratch database from the file and compare its catalog with the live
   one (the comparison ``plainsql drift`` makes); on any difference the file is removed and
   nothing is recorded;
5. record it as applied (and its checksum) under the migration lock, without running it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from plainsql.config import Settings
from plainsql.errors import MigrationError
from plainsql.migrate.catalog import Difference, diff, snapshot
from plainsql.migrate.dump import NOISE_LINES, dump_lines, pg_dump
from plainsql.migrate.files import discover, new_migration, split_statements
from plainsql.migrate.runner import Migrator
from plainsql.server import connect, database_name, scratch_database

IRREVERSIBLE = (
    "a baseline records a database as plainsql found it; there is nothing before it to return to"
)

_DROPPED = re.compile("^(" + "|".join(NOISE_LINES) + ")$")
_SET = re.compile(r"^SET (?P<name>[a-z_]+) = (?P<value>.*);$")


@dataclass(slots=True)
class BaselineResult:
    path: Path
    migration_id: str
    statements: int
    differences: list[Difference] = field(default_factory=list)


def runnable(raw: str) -> str:
    """pg_dump's output as a migration body the runner can execute inside its transaction."""
    lines = []
    for line in dump_lines(raw):
        if _DROPPED.match(line):
            continue
        setting = _SET.match(line)
        if setting:
            if setting.group("name") == "check_function_bodies":
                lines.append(f"SET LOCAL check_function_bodies = {setting.group('value')};")
            continue
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def baseline(
    settings: Settings,
    conninfo: str,
    *,
    slug: str = "baseline",
    privileges: bool = True,
    now: datetime | None = None,
) -> BaselineResult:
    """Write the baseline migration of the database at ``conninfo`` and record it applied."""
    folder = settings.migrations_dir
    existing = discover(folder) if folder.is_dir() else []
    if existing:
        raise MigrationError(
            f"{settings.shown(folder)} already holds {len(existing)} migration(s) "
            f"({existing[0].id} ..): a baseline starts a history. Run it in a project whose "
            "migrations/ is empty, before writing the first migration"
        )
    with Migrator(settings, conninfo) as migrator:
        recorded = migrator.ledger.read()
    if recorded.applied:
        raise MigrationError(
            f"the database already has {len(recorded.applied)} migration(s) recorded as applied "
            f"({next(iter(recorded.applied))} ..): baseline is for a database plainsql has never "
            "migrated"
        )
    body = runnable(pg_dump(settings, conninfo, privileges=privileges))
    statements = len(split_statements(body))
    if statements == 0:
        raise MigrationError(
            f"database {database_name(conninfo)!r} has no schema to baseline: start with "
            "`plainsql new SLUG` instead"
        )
    forward, rollback = new_migration(folder, slug, now=now)
    rollback.unlink()
    migration_id = forward.name.removesuffix(".sql")
    forward.write_text(
        f"-- {migration_id}: the schema of database {database_name(conninfo)!r} as it was when "
        "plainsql took it over,\n"
        "-- written by `plainsql baseline` from pg_dump --schema-only. The databases it came "
        "from have it\n"
        "-- recorded as applied; a new database is built from it. Later changes go in new "
        "migrations.\n"
        f"-- irreversible: {IRREVERSIBLE}\n\n" + body,
        encoding="utf-8",
    )
    result = BaselineResult(forward, migration_id, statements)
    try:
        result.differences = _compare(settings, conninfo)
    except BaseException:
        forward.unlink()
        raise
    if result.differences:
        forward.unlink()
        shown = "\n".join(d.describe("the baseline", "the database") for d in result.differences)
        raise MigrationError(
            f"the baseline does not rebuild the database: {len(result.differences)} object(s) "
            f"differ, so nothing was written or recorded\n{shown}"
        )
    with Migrator(settings, conninfo) as migrator:
        migrator.mark_baseline(migration_id)
    return result


def _compare(settings: Settings, conninfo: str) -> list[Difference]:
    """Build a scratch database from migrations/ (the baseline alone) and diff its catalog
    with the live database's."""
    with connect(settings, conninfo, autocommit=True) as conn:
        live = snapshot(conn)
    with scratch_database(settings, "baseline", conninfo=conninfo) as scratch:
        with Migrator(settings, scratch) as migrator:
            migrator.migrate()
        with connect(settings, scratch, autocommit=True) as conn:
            built = snapshot(conn)
    return diff(built, live)
