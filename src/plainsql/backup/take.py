"""Take a backup: pg_dump of the whole database (the migration ledger with it), a manifest beside.

One REPEATABLE READ, read-only transaction exports its snapshot; pg_dump dumps exactly that
snapshot (``--snapshot``), and the same transaction reads every table's row count, the ledger
and the roles the database names for the manifest. So the manifest describes the dump, not
the database a moment later. The dump is written under a hidden ``.partial`` name with umask
077 (mode 0600, a directory 0700) and renamed when it and its manifest are complete: a failed
run leaves nothing that looks like a backup, and ``--keep`` never counts one.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from psycopg import IsolationLevel

from plainsql.backup import contents, manifest
from plainsql.backup.restore import RestoreResult, verify_backup
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
from plainsql.errors import BackupError
from plainsql.server import session_conninfo

log = logging.getLogger("plainsql.backup")

DEFAULT_DIR = "backups"
FORMATS = {"custom": ".dump", "directory": ".dumpdir"}

_NAME = re.compile(r"^(?P<db>.+)_(?P<at>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?(?P<ext>\.dump|\.dumpdir)$")


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A backup written (and its manifest), what it holds, what ``keep`` pruned."""

    path: Path
    manifest: Path
    tables: int
    rows: int
    applied: int
    size: int
    pruned: tuple[Path, ...]
    verified: RestoreResult | None


def default_folder(settings: Settings) -> Path:
    return settings.project_dir / DEFAULT_DIR


def _prepare(folder: Path, default: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ignore = folder / ".gitignore"
    if default and not ignore.exists():
        # Backups hold every row: never commit one, in whatever repository the project is.
        ignore.write_text("# written by plainsql backup: backups are never committed\n*\n")


def _free_name(folder: Path, database: str, at: datetime, ext: str) -> Path:
    stem = f"{database}_{at:%Y%m%dT%H%M%SZ}"
    candidate, n = folder / f"{stem}{ext}", 1
    while candidate.exists() or manifest.manifest_path(candidate).exists():
        n += 1
        candidate = folder / f"{stem}-{n}{ext}"
    return candidate


def take_backup(
    settings: Settings,
    *,
    out: Path | None = None,
    fmt: str = "custom",
    jobs: int = 1,
    keep: int | None = None,
    verify: bool = False,
    progress: Progress | None = None,
) -> BackupResult:
    """Back up the configured database into ``out`` (default: ``backups/`` in the project);
    see the module docstring. With ``verify``, prove it on a scratch database; with ``keep``,
    then delete all but the newest ``keep`` backups of this database in the folder."""
    if fmt not in FORMATS:
        raise BackupError(f"unknown backup format {fmt!r}: use one of {', '.join(FORMATS)}")
    say = progress or silent
    conninfo = session_conninfo(settings, "plainsql backup (pg_dump)")
    shown = describe_target(conninfo)
    folder = default_folder(settings) if out is None else out
    _prepare(folder, default=out is None)

    with contents.reader(settings, conninfo, autocommit=False) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        major = server_major(contents.version_num(conn))
        tools = find_tools(major)
        row = conn.execute(
            "SELECT pg_export_snapshot(), current_database(), current_setting('server_version')"
        ).fetchone()
        assert row is not None
        snapshot, database, server_version = str(row[0]), str(row[1]), str(row[2])
        at = datetime.now(UTC)
        final = _free_name(folder, database, at, FORMATS[fmt])
        partial = folder / f".{final.name}.partial"
        total = len(contents.tables(conn))
        on_line = table_progress("dumping contents of table ", "dumping", total, say)
        args = [
            str(tools.pg_dump),
            f"--format={fmt}",
            f"--file={partial}",
            f"--snapshot={snapshot}",
            f"--lock-wait-timeout={contents.LOCK_WAIT_TIMEOUT}",
            "--verbose",
            "--no-password",
        ]
        if fmt == "directory" and jobs > 1:
            args.append(f"--jobs={jobs}")
        log.info("backing up %s to %s", shown, final)
        say(f"backing up {shown} ({total} tables) with pg_dump {tools.major}")
        try:
            with client_target(conninfo) as (dbname, env):
                running = Running([*args, *dbname], env, on_line)
                try:
                    # Read in the dump's snapshot while pg_dump runs.
                    counts = contents.row_counts(conn)
                    held = contents.ledger(conn)
                    granted, owners = contents.granted_roles(conn), contents.owners(conn)
                    running.wait(f"backing up {shown}")
                finally:
                    running.stop()
            conn.rollback()
            record = manifest.Manifest(
                format=fmt,
                created_at=at.isoformat(timespec="seconds"),
                database=database,
                server_version=server_version,
                pg_dump_major=tools.major,
                files=manifest.digests(partial),
                row_counts=counts,
                applied=list(held.applied),
                ledger=held.digests,
                granted_roles=granted,
                owners=owners,
            )
            _private(partial)
            os.replace(partial, final)
        except BaseException:
            _remove(partial)
            raise
    written = manifest.write(final, record)
    size = manifest.size(final)
    say(f"wrote {final.name}: {total} tables, {record.rows} rows, {size} bytes")
    log.info("backed up %s: %d tables, %d rows, %d bytes", shown, total, record.rows, size)

    verified = None
    if verify:
        say(f"verifying {final.name} on a scratch database")
        verified = verify_backup(settings, final, jobs=jobs, progress=progress)
        say(f"verified {final.name}: every table's row count and the migration ledger match")
    pruned = prune(folder, database, keep) if keep is not None else ()
    for path in pruned:
        say(f"pruned {path.name}")
    return BackupResult(
        final, written, total, record.rows, len(record.applied), size, pruned, verified
    )


def _private(path: Path) -> None:
    """Mode 0600 for files, 0700 for folders (pg_dump already ran with umask 077)."""
    if path.is_dir():
        path.chmod(0o700)
        for inner in path.rglob("*"):
            inner.chmod(0o700 if inner.is_dir() else 0o600)
    else:
        path.chmod(0o600)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def backups_of(folder: Path, database: str) -> list[Path]:
    """The backups of ``database`` in ``folder`` (plainsql's names, with a manifest), oldest
    first."""
    found: list[tuple[str, int, Path]] = []
    for path in folder.iterdir() if folder.is_dir() else ():
        matched = _NAME.match(path.name)
        if matched and matched["db"] == database and manifest.manifest_path(path).is_file():
            found.append((matched["at"], int(matched["n"] or 1), path))
    return [path for _at, _n, path in sorted(found)]


def prune(folder: Path, database: str, keep: int) -> tuple[Path, ...]:
    """Delete all but the newest ``keep`` backups of ``database`` in ``folder``."""
    if keep < 1:
        raise BackupError("--keep must keep at least one backup")
    old = backups_of(folder, database)[:-keep]
    for path in old:
        _remove(path)
        manifest.manifest_path(path).unlink(missing_ok=True)
        log.info("pruned %s", path)
    return tuple(old)
