"""Rollbacks proven: apply, roll back and re-apply every migration on a scratch database.

For each migration in order: snapshot the catalog, apply it, roll it back, check the
catalog equals the snapshot, apply it again and check it builds what it built the first
time (the first apply is measured: the lock report of every statement, from
:mod:`plainsql.migrate.lockreport`). At the end every migration is rolled back and the schema
must equal the fresh database's (the runner's bookkeeping aside). A migration declared
``-- irreversible:`` is applied and not rolled back; the final check then stops at the
newest such migration. Everything runs through the real runner
(:class:`plainsql.migrate.runner.Migrator`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from plainsql.config import Settings
from plainsql.errors import MigrationError
from plainsql.migrate.catalog import Difference, Snapshot, diff, snapshot
from plainsql.migrate.lockreport import StatementLocks, measure
from plainsql.migrate.runner import Migrator
from plainsql.server import connect, scratch_database


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """A migration whose rollback (or re-apply) does not give back the schema it should."""

    migration_id: str
    what: str
    differences: tuple[Difference, ...] = ()
    first: str = "before"
    second: str = "after"

    def describe(self) -> str:
        lines = [f"{self.migration_id}: {self.what}"]
        lines += [f"  {d.describe(self.first, self.second)}" for d in self.differences]
        return "\n".join(lines)


@dataclass(slots=True)
class VerifyReport:
    checked: list[str] = field(default_factory=list)
    problems: list[VerifyProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    locks: list[StatementLocks] = field(default_factory=list)  # the lock report, in order

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_migrations(
    settings: Settings, progress: Callable[[str], None] | None = None
) -> VerifyReport:
    """Prove every migration's rollback on a scratch database; nothing else is touched."""
    report = VerifyReport()
    say = progress or (lambda _line: None)
    with (
        scratch_database(settings, "verify") as conninfo,
        Migrator(settings, conninfo) as migrator,
        connect(settings, conninfo, autocommit=True) as conn,
    ):
        floor: Snapshot = snapshot(conn)
        floor_id: str | None = None
        current = "all migrations"
        try:
            for migration in migrator.files:
                current = migration.id
                before = snapshot(conn)
                report.locks += measure(migrator, conn, migration)
                after = snapshot(conn)
                if migration.irreversible is not None:
                    report.notes.append(
                        f"{migration.id} is irreversible ({migration.irreversible}): "
                        "applied, not rolled back"
                    )
                    floor, floor_id = after, migration.id
                    report.checked.append(migration.id)
                    continue
                migrator.rollback(steps=1)
                differences = diff(before, snapshot(conn))
                if differences:
                    report.problems.append(
                        VerifyProblem(
                            migration.id,
                            "its rollback does not restore the schema",
                            tuple(differences),
                            "the schema before it",
                            "the schema after its rollback",
                        )
                    )
                migrator.migrate(to=migration.id)
                differences = diff(after, snapshot(conn))
                if differences:
                    report.problems.append(
                        VerifyProblem(
                            migration.id,
                            "applied again after its rollback, it builds a different schema",
                            tuple(differences),
                            "the first apply",
                            "the second apply",
                        )
                    )
                report.checked.append(migration.id)
                say(f"verified {migration.id}")
            current = "the final rollback"
            if floor_id is None:
                migrator.rollback(everything=True)
            else:
                migrator.rollback(to=floor_id)
        except MigrationError as exc:
            report.problems.append(VerifyProblem(current, f"stopped: {exc}"))
            return report
        differences = diff(floor, snapshot(conn))
        if differences:
            where = f"down to {floor_id}" if floor_id else "everything"
            report.problems.append(
                VerifyProblem(
                    "all migrations",
                    f"after rolling back {where}, the schema is not as it was",
                    tuple(differences),
                    "the fresh database" if floor_id is None else f"the schema after {floor_id}",
                    "the schema after the rollbacks",
                )
            )
    return report
