"""Restore a backup into an empty database, and prove a backup on a scratch database.

A restore checks the manifest before it touches the server, refuses a database that is not
empty (unless ``clean``), creates the roles the backup's grants name where the cluster lacks
them (NOLOGIN, as the migrations that grant to them do) and refuses owners it could not
assign (``no_owner`` makes the login role own everything instead). pg_restore runs in one
transaction (with one job), so a failed restore leaves the database as it was. Afterwards
every table's row count and the migration ledger must equal the manifest's. Nothing is
recorded in the database beyond what the backup holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from plainsql.backup import contents, manifest
from plainsql.backup.tools import (
    Progress,
    Running,
    client_target,
    find_tools,
    server_major,
    silent,
    table_progress,
)
from plainsql.config import Settings, describe_target
from plainsql.errors import BackupError, scrub_secrets
from plainsql.migrate.squash import create_role_if_missing
from plainsql.server import scratch_database, session_conninfo

log = logging.getLogger("plainsql.backup")


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore did, checked against the backup's manifest."""

    backup: Path
    target: str  # host:port/dbname, no password
    tables: int
    rows: int
    applied: int
    created_roles: tuple[str, ...]


def restore_backup(
    settings: Settings,
    backup: Path,
    *,
    conninfo: str | None = None,
    clean: bool = False,
    no_owner: bool = False,
    jobs: int = 1,
    progress: Progress | None = None,
) -> RestoreResult:
    """Restore ``backup`` into the configured database (or ``conninfo``); see the module
    docstring. Raises :class:`BackupError` naming the file or the database."""
    say = progress or silent
    held = manifest.check(backup)
    say(f"{backup.name}: matches its manifest (SHA-256)")
    target = conninfo
    if target is None:  # pg_restore sets session state: never through a transaction pooler
        target = session_conninfo(settings, "plainsql restore (pg_restore)")
    shown = describe_target(target)
    with contents.reader(settings, target) as conn:
        tools = find_tools(
            server_major(contents.version_num(conn)), archive_major=held.pg_dump_major
        )
        if not clean:
            found = contents.objects(conn)
            if found:
                listed = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
                raise BackupError(
                    f"{shown} is not empty ({len(found)} objects: {listed}); restore "
                    "into an empty database, or pass --clean to drop and recreate what the "
                    "backup holds (other objects stay)"
                )
        if not no_owner:
            _check_owners(conn, held.owners, shown)
        created = _create_roles(conn, held.granted_roles, shown)
    for role in created:
        say(f"created role {role} (NOLOGIN): the backup's grants name it")

    args = [str(tools.pg_restore), "--verbose", "--exit-on-error", "--no-password"]
    args += ["--single-transaction"] if jobs == 1 else [f"--jobs={jobs}"]
    if clean:
        args += ["--clean", "--if-exists"]
    if no_owner:
        args.append("--no-owner")
    total = len(held.row_counts)
    on_line = table_progress("processing data for table ", "restoring", total, say)
    log.info("restoring %s into %s", backup.name, shown)
    with client_target(target) as (dbname, env):
        running = Running([*args, *dbname, str(backup)], env, on_line)
        try:
            running.wait(f"restoring {backup} into {shown}")
        finally:
            running.stop()

    with contents.reader(settings, target) as conn:
        _compare(conn, held, backup, shown, exact=not clean)
    log.info("restored %s into %s: %d tables, %d rows", backup.name, shown, total, held.rows)
    return RestoreResult(backup, shown, total, held.rows, len(held.applied), created)


def verify_backup(
    settings: Settings, backup: Path, *, jobs: int = 1, progress: Progress | None = None
) -> RestoreResult:
    """Restore ``backup`` into a scratch database on the configured server and compare every
    table's row count and the ledger with its manifest; the scratch database is dropped."""
    with scratch_database(settings, "backup_verify") as scratch:
        return restore_backup(settings, backup, conninfo=scratch, jobs=jobs, progress=progress)


def _check_owners(conn: psycopg.Connection[Any], owners: list[str], shown: str) -> None:
    """Refuse owners the login role could not give objects to (missing, or not its role)."""
    unusable = [
        str(name)
        for (name,) in conn.execute(
            "SELECT o FROM unnest(%s::text[]) AS o WHERE NOT EXISTS"
            " (SELECT FROM pg_roles r WHERE r.rolname = o AND pg_has_role(current_user, r.oid,"
            " 'MEMBER'))",
            (owners,),
        ).fetchall()
    ]
    if unusable:
        login = conn.execute("SELECT current_user").fetchone()
        raise BackupError(
            f"the backup's objects are owned by {', '.join(unusable)}, which "
            f"{login[0] if login else 'the login role'} on {shown} cannot give them to "
            "(missing, or not a role it is a member of); pass --no-owner to make the login "
            "role own everything, or restore as a superuser"
        )


def _create_roles(conn: psycopg.Connection[Any], roles: list[str], shown: str) -> tuple[str, ...]:
    """Create the granted roles the cluster lacks (NOLOGIN); refuse, naming them, when the
    login role may not."""
    missing = [
        str(name)
        for (name,) in conn.execute(
            "SELECT r FROM unnest(%s::text[]) AS r"
            " WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r)",
            (roles,),
        ).fetchall()
    ]
    for role in missing:
        try:
            conn.execute(create_role_if_missing(role).encode())
        except psycopg.errors.InsufficientPrivilege as exc:
            raise BackupError(
                f"the backup grants to roles {shown} does not have: {', '.join(missing)}; the "
                "login role may not create them (it needs CREATEROLE): create them first "
                f"(CREATE ROLE <name> NOLOGIN) ({scrub_secrets(exc.diag.message_primary or '')})"
            ) from exc
        log.info("created role %s (NOLOGIN) on %s", role, shown)
    return tuple(missing)


def _compare(
    conn: psycopg.Connection[Any],
    held: manifest.Manifest,
    backup: Path,
    shown: str,
    *,
    exact: bool,
) -> None:
    """The restored database against the manifest: every table's row count, the ledger."""
    counts = contents.row_counts(conn)
    problems = [
        f"{table}: {held.row_counts[table]} rows in the backup, {counts[table]} restored"
        for table in held.row_counts
        if table in counts and counts[table] != held.row_counts[table]
    ]
    problems += [f"{table} was not restored" for table in held.row_counts if table not in counts]
    if exact:
        problems += [
            f"{table} is not in the backup" for table in counts if table not in held.row_counts
        ]
    restored = contents.ledger(conn)
    if restored.digests != held.ledger or list(restored.applied) != held.applied:
        differ = sorted(
            t
            for t in set(held.ledger) | set(restored.digests)
            if held.ledger.get(t) != restored.digests.get(t)
        )
        problems.append(f"the migration ledger differs ({', '.join(differ) or 'applied order'})")
    if problems:
        raise BackupError(
            f"{backup} restored into {shown}, but it does not hold what the manifest says: "
            + "; ".join(problems[:10])
        )
