"""Squash: replace the first migrations of a long history with one that builds the same thing.

``plainsql squash --to ID`` replaces every migration up to and including ``ID`` with one
migration, ``<ID's number>_squashed``, which sorts where they did:

- **forward**: the migrations are applied to a scratch database, which pg_dump (schema, the
  rows the migrations inserted, GRANTs; no owners) turns into SQL the runner can execute (as
  :func:`plainsql.migrate.baseline.runnable` does), after ``CREATE ROLE ... NOLOGIN`` for every
  role its GRANTs and policies name that is missing (roles are cluster-wide: a fresh cluster
  has never seen them);
- **rollback**: the originals' rollback files, newest first, each proven by ``verify`` before,
  in one transaction: a rollback that ran outside one loses its CONCURRENTLY; when one of them
  is irreversible, so is the squash (with their reasons);
- ``-- squashes: ID ...`` in its header names the originals: a database that applied them all
  has the squash recorded in their place by its next ``migrate`` (see
  :func:`plainsql.migrate.plan.squash_mappings`).

Nothing on disk changes until the new history is proven on scratch databases: the squash and
the originals build equal catalogs and equal dumps (schema, rows, GRANTs), and ``verify``
passes over the whole new history.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from psycopg import sql

from plainsql.config import DatabaseSource, Settings
from plainsql.errors import MigrationError
from plainsql.migrate.baseline import runnable
from plainsql.migrate.catalog import diff, snapshot
from plainsql.migrate.dump import pg_dump
from plainsql.migrate.files import (
    ROLLBACK_SUFFIX,
    MigrationFile,
    discover,
    order_key,
    resolve_id,
    without_concurrently,
)
from plainsql.migrate.runner import Migrator
from plainsql.migrate.verify import verify_migrations
from plainsql.server import connect, scratch_database, session_conninfo

# Roles named by the database's ACLs, policies and default privileges, other than the
# current user and the predefined pg_* roles.
GRANTED_ROLES = """
WITH named(oid) AS (
    SELECT (aclexplode(relacl)).grantee FROM pg_class WHERE relacl IS NOT NULL
    UNION SELECT (aclexplode(nspacl)).grantee FROM pg_namespace WHERE nspacl IS NOT NULL
    UNION SELECT (aclexplode(proacl)).grantee FROM pg_proc WHERE proacl IS NOT NULL
    UNION SELECT (aclexplode(typacl)).grantee FROM pg_type WHERE typacl IS NOT NULL
    UNION SELECT (aclexplode(attacl)).grantee FROM pg_attribute WHERE attacl IS NOT NULL
    UNION SELECT unnest(polroles) FROM pg_policy
    UNION SELECT defaclrole FROM pg_default_acl
    UNION SELECT (aclexplode(defaclacl)).grantee FROM pg_default_acl
)
SELECT r.rolname FROM pg_roles r JOIN named n ON n.oid = r.oid
WHERE r.rolname <> current_user AND r.rolname !~ '^pg_'
ORDER BY 1
"""


@dataclass(frozen=True, slots=True)
class SquashResult:
    migration_id: str
    forward: Path
    rollback: Path | None
    originals: tuple[str, ...]
    roles: tuple[str, ...]


def squash(settings: Settings, to: str, *, slug: str = "squashed") -> SquashResult:
    """Replace the migrations up to ``to`` with one, proven first; returns what was written."""
    folder = settings.migrations_dir
    files = discover(folder)
    upto = order_key(resolve_id(files, to))
    group = [m for m in files if m.order <= upto]
    rest = [m for m in files if m.order > upto]
    if len(group) < 2:
        raise MigrationError(f"squash --to {to}: there is nothing to squash before it")
    migration_id = f"{group[-1].number}_{slug}"
    conninfo = session_conninfo(settings, "plainsql squash")
    # One server for every scratch database, whatever project folder the trial uses.
    on_server = replace(
        settings,
        database_url=conninfo,
        source=DatabaseSource.ENVIRONMENT,
        transaction_pooler=False,
    )

    with scratch_database(on_server, "squash") as scratch:
        with Migrator(on_server, scratch) as migrator:
            migrator.migrate(to=group[-1].id)
        with connect(on_server, scratch, autocommit=True) as conn:
            roles = tuple(str(r) for (r,) in conn.execute(GRANTED_ROLES).fetchall())
            built = snapshot(conn)
        dumped = pg_dump(on_server, scratch, privileges=True, data=True)

    forward_text = _forward(migration_id, group, roles, runnable(dumped))
    rollback_text = _rollback(migration_id, group)

    with tempfile.TemporaryDirectory(prefix="plainsql-squash-") as tmp:
        trial = replace(on_server, project_dir=Path(tmp))
        trial.migrations_dir.mkdir(parents=True)
        for migration in rest:
            shutil.copy(migration.path, trial.migrations_dir / migration.path.name)
            if migration.rollback_path is not None:
                shutil.copy(
                    migration.rollback_path, trial.migrations_dir / migration.rollback_path.name
                )
        (trial.migrations_dir / f"{migration_id}.sql").write_text(forward_text, encoding="utf-8")
        if rollback_text is not None:
            (trial.migrations_dir / f"{migration_id}{ROLLBACK_SUFFIX}").write_text(
                rollback_text, encoding="utf-8"
            )
        _prove(trial, migration_id, built, dumped)

    for migration in group:
        migration.path.unlink()
        if migration.rollback_path is not None:
            migration.rollback_path.unlink()
    forward = folder / f"{migration_id}.sql"
    forward.write_text(forward_text, encoding="utf-8")
    rollback = None
    if rollback_text is not None:
        rollback = folder / f"{migration_id}{ROLLBACK_SUFFIX}"
        rollback.write_text(rollback_text, encoding="utf-8")
    return SquashResult(migration_id, forward, rollback, tuple(m.id for m in group), roles)


def _prove(
    trial: Settings, migration_id: str, built: dict[str, dict[str, str]], dumped: str
) -> None:
    """The squash builds what the originals built (catalog and dump), and verify passes."""
    with scratch_database(trial, "squash") as scratch:
        with Migrator(trial, scratch) as migrator:
            migrator.migrate(to=migration_id)
        with connect(trial, scratch, autocommit=True) as conn:
            differences = diff(built, snapshot(conn))
        again = pg_dump(trial, scratch, privileges=True, data=True)
    if differences:
        shown = "\n".join(d.describe("the originals", "the squash") for d in differences[:20])
        raise MigrationError(
            f"the squash does not build what the originals build ({len(differences)} "
            f"object(s) differ); nothing was changed\n{shown}"
        )
    first, second = runnable(dumped), runnable(again)
    if first != second:
        delta = difflib.unified_diff(
            first.splitlines(), second.splitlines(), "the originals", "the squash", lineterm="", n=1
        )
        raise MigrationError(
            "the squash's dump (schema, rows, GRANTs) differs from the originals'; nothing was "
            "changed\n" + "\n".join(list(delta)[:40])
        )
    report = verify_migrations(trial)
    if not report.ok:
        shown = "\n".join(problem.describe() for problem in report.problems)
        raise MigrationError(f"verify fails on the squashed history; nothing was changed\n{shown}")


def _forward(
    migration_id: str, group: list[MigrationFile], roles: tuple[str, ...], body: str
) -> str:
    ids = [m.id for m in group]
    lines = [
        f"-- {migration_id}: the {len(group)} migrations {ids[0]} .. {ids[-1]} in one, written by",
        "-- `plainsql squash` from what they build (pg_dump: schema, the rows they inserted,",
        "-- GRANTs). A database that applied them all records this one in their place.",
    ]
    lines += [f"-- squashes: {' '.join(ids[i : i + 6])}" for i in range(0, len(ids), 6)]
    reasons = [f"{m.id}: {m.irreversible}" for m in group if m.irreversible is not None]
    if reasons:
        lines.append(f"-- irreversible: squashes irreversible migrations ({'; '.join(reasons)})")
    text = "\n".join(lines) + "\n\n"
    for role in roles:
        text += (
            f"-- {role} is named by GRANTs or policies; roles are per cluster: create if missing.\n"
            f"{create_role_if_missing(role)}\n\n"
        )
    return text + body


def create_role_if_missing(role: str) -> str:
    """A statement creating ``role`` (NOLOGIN) unless the cluster has it: the squash writes it
    for each role its GRANTs name, and ``plainsql restore`` runs it for a backup's."""
    literal = sql.Literal(role).as_string()
    name = sql.Identifier(role).as_string()
    return (
        "DO $$ BEGIN\n"
        f"    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {literal}) THEN\n"
        f"        CREATE ROLE {name} NOLOGIN;\n"
        "    END IF;\nEND $$;"
    )


_TRANSACTIONAL_FALSE = re.compile(r"^--\s*transactional:\s*false\s*$", re.IGNORECASE | re.MULTILINE)


def _rollback(migration_id: str, group: list[MigrationFile]) -> str | None:
    if any(m.irreversible is not None for m in group):
        return None
    parts = [
        f"-- {migration_id} rollback: the rollbacks of the {len(group)} migrations it squashes, "
        "newest first.\n"
    ]
    for migration in reversed(group):
        body = (migration.rollback_text or "").strip()
        if not migration.transactional:
            body = _TRANSACTIONAL_FALSE.sub(
                "-- (it ran outside a transaction: here it runs in the squash's, without "
                "CONCURRENTLY)",
                without_concurrently(body),
            )
        parts.append(f"\n-- from {migration.id}{ROLLBACK_SUFFIX}\n{body}\n")
    return "".join(parts)
