"""Squash: the first half of the application's migrations become one, proven equal."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from plainsql import embedded
from plainsql.cli import cli
from plainsql.config import DatabaseSource, Settings
from plainsql.migrate.catalog import diff, snapshot
from plainsql.migrate.files import discover
from plainsql.migrate.runner import Migrator
from plainsql.server import scratch_database

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def run(project: Path, url: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--project-dir", str(project), *args], env={"DATABASE_URL": url}
    )


def copy_project(target: Path) -> Path:
    (target / "migrations").mkdir(parents=True)
    for path in (REPO / "migrations").glob("*.sql"):
        shutil.copy(path, target / "migrations" / path.name)
    return target


def build(settings: Settings, project: Path, conninfo: str) -> dict[str, dict[str, str]]:
    """The catalog of a database at ``conninfo`` built by ``project``'s migrations."""
    with Migrator(replace(settings, project_dir=project), conninfo) as migrator:
        migrator.migrate()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return snapshot(conn)


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[str]:
    """A new embedded cluster: it has never seen any role the application grants to."""
    pgdata = tmp_path / "fresh" / "pgdata"
    state = embedded.start(pgdata)
    try:
        yield embedded.url_for(state, "postgres")
    finally:
        embedded.stop(pgdata)


def test_squashing_the_first_half_builds_the_same_and_old_databases_migrate_on(
    tmp_path: Path,
    plainsql_settings: Settings,
    empty_database_url: str,
    fresh_cluster: str,
) -> None:
    originals = copy_project(tmp_path / "originals")
    project = copy_project(tmp_path / "project")
    ids = [m.id for m in discover(project / "migrations")]
    half = ids[len(ids) // 2 - 1]

    # A database that applied the original history, before the squash.
    assert run(project, empty_database_url, "migrate").exit_code == 0

    squashed = run(project, empty_database_url, "squash", "--to", half)
    assert squashed.exit_code == 0, squashed.output
    after = [m.id for m in discover(project / "migrations")]
    squash_id = f"{half[:4]}_squashed"
    assert after == [squash_id, *ids[len(ids) // 2 :]]
    assert (project / "migrations" / f"{squash_id}.rollback.sql").is_file()

    assert run(project, empty_database_url, "verify").exit_code == 0

    # Fresh databases, on this server and on a cluster that never saw the application.
    settings = replace(
        plainsql_settings, database_url=empty_database_url, source=DatabaseSource.ENVIRONMENT
    )
    for server in (empty_database_url, fresh_cluster):
        on = replace(settings, database_url=server)
        with (
            scratch_database(on, "old", conninfo=server) as old,
            scratch_database(on, "new", conninfo=server) as new,
        ):
            assert diff(build(on, originals, old), build(on, project, new)) == []

    # The database that applied the originals migrates on with the squashed history.
    status = run(project, empty_database_url, "status")
    assert "FILE MISSING" not in status.output
    migrated = run(project, empty_database_url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert f"recorded {squash_id} as applied in place of the {len(ids) // 2} migrations" in (
        migrated.stdout
    )
    with psycopg.connect(empty_database_url) as conn:
        applied: list[Any] = [
            r[0] for r in conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
        ]
    assert sorted(applied) == sorted(after)
    assert run(project, empty_database_url, "drift").exit_code == 0
    again = run(project, empty_database_url, "migrate")
    assert "nothing to apply" in again.stdout
    # Rolling back one step still undoes the newest migration, not the squash.
    back = run(project, empty_database_url, "rollback")
    assert f"rolled back {after[-1]}" in back.stdout
