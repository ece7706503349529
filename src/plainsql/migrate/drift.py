"""Drift: how a live database's schema differs from what its applied migrations build.

The live database (the configured one) is compared with a scratch database migrated up to
the newest migration the live one has applied, through the same catalog snapshot that
``plainsql verify`` uses. Pending migrations are not drift: they are listed apart. Hand-made
changes (an index added in psql, a column altered by a hotfix) are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plainsql.config import Settings
from plainsql.errors import MigrationError
from plainsql.migrate import plan
from plainsql.migrate.catalog import Difference, diff, snapshot
from plainsql.migrate.files import order_key
from plainsql.migrate.runner import Migrator
from plainsql.server import connect, scratch_database, session_conninfo


@dataclass(slots=True)
class DriftReport:
    compared_to: str | None  # the newest applied migration, None when nothing is applied
    differences: list[Difference] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def find_drift(settings: Settings, conninfo: str | None = None) -> DriftReport:
    """Compare the database at ``conninfo`` (default: the configured one) with the migrations."""
    live = session_conninfo(settings, "plainsql drift") if conninfo is None else conninfo
    with Migrator(settings, live) as live_migrator:
        recorded = live_migrator.ledger.read()
        # A squash whose originals are applied counts as applied (migrate records it so).
        mappings = plan.squash_mappings(live_migrator.files, recorded)
        applied = plan.mapped(recorded, mappings).applied
        missing = live_migrator.missing_files()
        if missing:
            raise MigrationError(
                f"the database has applied {', '.join(missing)}, which migrations/ does not "
                "have: restore the files before comparing"
            )
        files = live_migrator.files
    newest = max(applied, key=order_key) if applied else None
    report = DriftReport(newest)
    report.pending = [m.id for m in files if m.id not in applied]
    gaps = [
        mid for mid in report.pending if newest is not None and order_key(mid) < order_key(newest)
    ]
    if gaps:
        report.notes.append(
            f"{', '.join(gaps)} not applied although {newest} is: the comparison applies them"
        )
    with connect(settings, live, autocommit=True) as conn:
        live_snapshot = snapshot(conn)
    with scratch_database(settings, "drift") as scratch:
        if newest is not None:
            with Migrator(settings, scratch) as migrator:
                migrator.migrate(to=newest)
        with connect(settings, scratch, autocommit=True) as conn:
            built = snapshot(conn)
    report.differences = diff(built, live_snapshot)
    return report
