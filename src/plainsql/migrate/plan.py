"""The plan: what to apply or roll back, each migration's state, and the rails that refuse.

Pure functions of the files on disk and a :class:`~plainsql.migrate.ledger.Recorded`
snapshot: nothing here talks to the database, so a dry run and a real run plan alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from plainsql.config import Settings
from plainsql.errors import MigrationError
from plainsql.migrate.files import (
    ROLLBACK_SUFFIX,
    MigrationFile,
    next_number,
    number_of,
    order_key,
    resolve_id,
)
from plainsql.migrate.ledger import DirtyRecord, Recorded


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


def edited(migration: MigrationFile, recorded: Recorded) -> tuple[str, ...]:
    """File names of an applied migration whose contents changed since it was recorded."""
    sums = recorded.checksums.get(migration.id)
    if sums is None or migration.id not in recorded.applied:
        return ()
    changed = []
    if migration.sha256() != sums[0]:
        changed.append(migration.path.name)
    if migration.rollback_sha256() != sums[1]:
        changed.append(migration.id + ROLLBACK_SUFFIX)
    return tuple(changed)


def states(files: list[MigrationFile], recorded: Recorded) -> list[MigrationState]:
    """Every migration on disk with its state."""
    return [
        MigrationState(
            id=m.id,
            path=m.path,
            rollback_path=m.rollback_path,
            applied=m.id in recorded.applied,
            applied_at=recorded.applied.get(m.id),
            edited=edited(m, recorded),
            checksum_recorded=m.id in recorded.checksums,
            dirty=recorded.dirty.get(m.id),
            irreversible=m.irreversible,
        )
        for m in files
    ]


def missing_files(files: list[MigrationFile], recorded: Recorded) -> list[str]:
    """Ids the database has applied that have no file on disk (and no squash replacing them)."""
    on_disk = {m.id for m in files}
    squashed = {mid for m in files for mid in m.squashes}
    return [mid for mid in recorded.applied if mid not in on_disk and mid not in squashed]


def squash_mappings(
    files: list[MigrationFile], recorded: Recorded
) -> list[tuple[MigrationFile, tuple[str, ...]]]:
    """Squash migrations to record as applied, each with the applied ids it replaces: those
    whose originals the database applied, all of them. A database that applied only some
    is refused (it must finish them with the old files first)."""
    found = []
    for migration in files:
        originals = migration.squashes
        if not originals or migration.id in recorded.applied:
            continue
        done = [mid for mid in originals if mid in recorded.applied]
        if not done:
            continue
        if len(done) < len(originals):
            missing = [mid for mid in originals if mid not in recorded.applied]
            raise MigrationError(
                f"{migration.id} squashes {len(originals)} migrations; the database applied "
                f"{len(done)} of them but not {', '.join(missing)}: apply those with the files "
                "from before the squash (check out the commit before it and run "
                "`plainsql migrate`), then migrate with the squashed history"
            )
        found.append((migration, tuple(done)))
    return found


def mapped(recorded: Recorded, mappings: list[tuple[MigrationFile, tuple[str, ...]]]) -> Recorded:
    """``recorded`` as it will read once ``mappings`` are written (for a dry run)."""
    if not mappings:
        return recorded
    applied = dict(recorded.applied)
    checksums = dict(recorded.checksums)
    for migration, originals in mappings:
        times = [t for t in (applied[mid] for mid in originals) if t is not None]
        when = max(times) if times else None
        for mid in originals:
            applied.pop(mid, None)
            checksums.pop(mid, None)
        applied[migration.id] = when
        checksums[migration.id] = (migration.sha256(), migration.rollback_sha256())
    return Recorded(applied, checksums, recorded.dirty, recorded.invalid_indexes)


def pending(
    files: list[MigrationFile], recorded: Recorded, to: str | None = None
) -> list[MigrationFile]:
    """The migrations to apply, in order (up to and including ``to``)."""
    limit = order_key(resolve_id(files, to)) if to else None
    todo = []
    for migration in files:
        if limit is not None and migration.order > limit:
            break
        if migration.id not in recorded.applied:
            todo.append(migration)
    return todo


def to_roll_back(
    files: list[MigrationFile],
    recorded: Recorded,
    *,
    steps: int | None = 1,
    to: str | None = None,
    everything: bool = False,
) -> list[MigrationFile]:
    """The applied migrations a rollback would undo, the last applied first.

    Migrations are undone in the reverse of the order they were applied in, which is the
    order of their ids unless one was applied with ``--allow-out-of-order``.
    """
    oldest = datetime.min.replace(tzinfo=UTC)
    done = sorted(
        (m for m in files if m.id in recorded.applied),
        key=lambda m: (recorded.applied[m.id] or oldest, m.order),
        reverse=True,
    )
    if everything:
        return done
    if to is not None:
        keep = order_key(resolve_id(files, to))
        return [m for m in done if m.order > keep]
    count = 1 if steps is None else steps
    if count < 0:
        raise MigrationError("--steps must be 0 or more")
    return done[:count]


def unrecorded(files: list[MigrationFile], recorded: Recorded) -> list[MigrationFile]:
    """Applied migrations without checksums (applied before plainsql tracked them)."""
    return [m for m in files if m.id in recorded.applied and m.id not in recorded.checksums]


def check_ready(
    settings: Settings,
    files: list[MigrationFile],
    recorded: Recorded,
    *,
    for_rollback: bool = False,
    check_files: bool = True,
    allow_out_of_order: bool = False,
) -> None:
    """Refuse to run while the database and the files disagree (dirty, missing, edited), or,
    before applying, while a file breaks a per-file rule or a pending migration sorts below
    an applied one (unless ``allow_out_of_order``)."""
    if recorded.dirty:
        mid, record = next(iter(recorded.dirty.items()))
        raise MigrationError(
            f"{mid} is dirty: {record.describe()}.{invalid_note(recorded.invalid_indexes)} "
            f"To resolve it, {resolve_hint(number_of(mid))}"
        )
    if not for_rollback:
        check_no_invalid_indexes(recorded, "migrate")
    missing = missing_files(files, recorded)
    if missing:
        raise MigrationError(
            f"{missing[0]} is applied in the database but migrations/{missing[0]}.sql is "
            "missing: restore the file (from version control) before migrating"
        )
    for migration in files:
        changed = edited(migration, recorded)
        if changed:
            when = recorded.applied.get(migration.id)
            applied = f" on {when:%Y-%m-%d %H:%M}Z" if when else ""
            names = ", ".join(settings.shown(migration.path.with_name(n)) for n in changed)
            folder = settings.shown(migration.path.parent)
            raise MigrationError(
                f"{names} changed after {migration.id} was applied{applied}. Restore the file "
                f"(git checkout -- {folder}/{changed[0]}); put schema changes in a new "
                "migration. If the edit is intentional and the database already matches it, "
                f"record the new contents with `plainsql migrate --accept-edit {migration.number}`"
            )
    if not for_rollback and not allow_out_of_order:
        check_in_order(settings, files, recorded)
    if check_files and not for_rollback:
        for migration in files:
            problems = migration.problems()
            if problems:
                line, _rule, message = problems[0]
                raise MigrationError(f"{settings.shown(migration.path)}:{line}: {message}")


def out_of_order(files: list[MigrationFile], recorded: Recorded) -> list[MigrationFile]:
    """Pending migrations that sort below the newest applied one (added on a branch while
    another branch's later migration was applied first)."""
    applied = [m for m in files if m.id in recorded.applied]
    if not applied:
        return []
    newest = max(m.order for m in applied)
    return [m for m in files if m.id not in recorded.applied and m.order < newest]


def check_in_order(settings: Settings, files: list[MigrationFile], recorded: Recorded) -> None:
    """Refuse while a pending migration sorts below an applied one, naming both."""
    late = out_of_order(files, recorded)
    if not late:
        return
    newest = max((m for m in files if m.id in recorded.applied), key=lambda m: m.order)
    names = ", ".join(settings.shown(m.path) for m in late)
    fresh = next_number(files)
    first = late[0]
    folder = settings.shown(first.path.parent)
    move = f"`git mv {folder}/{first.id}.sql {folder}/{fresh}_{first.id.split('_', 1)[1]}.sql`"
    raise MigrationError(
        f"{names} {'is not applied but sorts' if len(late) == 1 else 'are not applied but sort'} "
        f"before "
        f"{newest.id}, which is: out of order (usually a branch merged after a later migration "
        "was applied). If no database has applied it yet, give it a new number: "
        f"{move} (and its rollback file). If it does not depend on the later migrations, apply "
        "it where it is with `plainsql migrate --allow-out-of-order`"
    )


def check_reversible(todo: list[MigrationFile]) -> None:
    """Refuse a rollback that includes an irreversible migration or one without a rollback."""
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


def invalid_note(indexes: tuple[str, ...], subject: str = "It left") -> str:
    """What to say about INVALID indexes (empty when there are none)."""
    if not indexes:
        return ""
    drops = "; ".join(f"DROP INDEX CONCURRENTLY {name}" for name in indexes)
    return (
        f" {subject} INVALID index(es) {', '.join(indexes)}: they enforce and speed up nothing, "
        f"and CREATE INDEX ... IF NOT EXISTS would skip them. Drop them first ({drops})."
    )


def check_no_invalid_indexes(recorded: Recorded, doing: str) -> None:
    """Refuse ``doing`` while an INVALID index is left in the database."""
    if recorded.invalid_indexes:
        note = invalid_note(recorded.invalid_indexes, "the database holds")
        raise MigrationError(f"refusing to {doing}:{note}")


def resolve_hint(number: str) -> str:
    return (
        "finish or undo its statements by hand, then run "
        f"`plainsql migrate --resolve {number} --applied` (everything it does is in place) or "
        f"`plainsql migrate --resolve {number} --rolled-back` (nothing of it remains)"
    )
