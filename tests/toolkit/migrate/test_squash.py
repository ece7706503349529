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
def fresh_cluster(server_folder: Path) -> Iterator[str]:
    """A new embedded cluster: it has never seen any role the application grants to."""
    pgdata = server_folder / "pgdata"
    state = embedded.start(pgdata)
    try:
        yield embedded.url_for(state, "postgres")
    finally:
        embedded.stop(pgdata)


def test_squashing_the_first_half_builds_the_same_and_old_databases_migrate_on(
    tmp_path: Path,
    plainsql_settings: Settings,
    plainsql_empty_database_url: str,
    fresh_cluster: str,
) -> None:
    originals = copy_project(tmp_path / "originals")
    project = copy_project(tmp_path / "project")
    ids = [m.id for m in discover(project / "migrations")]
    half = ids[len(ids) // 2 - 1]

    # A database that applied the original history, before the squash.
    assert run(project, plainsql_empty_database_url, "migrate").exit_code == 0

    squashed = run(project, plainsql_empty_database_url, "squash", "--to", half)
    assert squashed.exit_code == 0, squashed.output
    after = [m.id for m in discover(project / "migrations")]
    squash_id = f"{half[:4]}_squashed"
    assert after == [squash_id, *ids[len(ids) // 2 :]]
    assert (project / "migrations" / f"{squash_id}.rollback.sql").is_file()

    assert run(project, plainsql_empty_database_url, "verify").exit_code == 0

    # Fresh databases, on this server and on a cluster that never saw the application.
    settings = replace(
        plainsql_settings,
        database_url=plainsql_empty_database_url,
        source=DatabaseSource.ENVIRONMENT,
    )
    for server in (plainsql_empty_database_url, fresh_cluster):
        on = replace(settings, database_url=server)
        with (
            scratch_database(on, "old", conninfo=server) as old,
            scratch_database(on, "new", conninfo=server) as new,
        ):
            assert diff(build(on, originals, old), build(on, project, new)) == []

    # The database that applied the originals migrates on with the squashed history.
    status = run(project, plainsql_empty_database_url, "status")
    assert "FILE MISSING" not in status.output
    migrated = run(project, plainsql_empty_database_url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert f"recorded {squash_id} as applied in place of the {len(ids) // 2} migrations" in (
        migrated.stdout
    )
    with psycopg.connect(plainsql_empty_database_url) as conn:
        applied: list[Any] = [
            r[0] for r in conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
        ]
    assert sorted(applied) == sorted(after)
    assert run(project, plainsql_empty_database_url, "drift").exit_code == 0
    again = run(project, plainsql_empty_database_url, "migrate")
    assert "nothing to apply" in again.stdout
    # Rolling back one step still undoes the newest migration, not the squash.
    back = run(project, plainsql_empty_database_url, "rollback")
    assert f"rolled back {after[-1]}" in back.stdout


def test_a_squash_keeps_rows_and_grants_creates_missing_roles_and_refuses_half_applied(
    tmp_path: Path, fresh_cluster: str
) -> None:
    project = tmp_path / "project"
    (project / "migrations").mkdir(parents=True)
    migrations = {
        "0001_kinds": (
            "-- 0001_kinds: kinds, readable by app_reader.\n"
            "DO $$ BEGIN\n"
            "    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_reader') THEN\n"
            "        CREATE ROLE app_reader NOLOGIN;\n"
            "    END IF;\nEND $$;\n"
            "CREATE TABLE kinds (id int PRIMARY KEY, name text NOT NULL);\n"
            "INSERT INTO kinds VALUES (1, 'a'), (2, 'b');\n"
            "GRANT SELECT ON kinds TO app_reader;\n",
            "DROP TABLE kinds;\n",
        ),
        "0002_kind_note": (
            "-- 0002_kind_note: a note.\nALTER TABLE kinds ADD COLUMN note text;\n",
            "ALTER TABLE kinds DROP COLUMN note;\n",
        ),
        "0003_later": ("-- 0003_later: later.\nCREATE TABLE later ();\n", "DROP TABLE later;\n"),
    }
    for migration_id, (forward, rollback) in migrations.items():
        (project / "migrations" / f"{migration_id}.sql").write_text(forward)
        (project / "migrations" / f"{migration_id}.rollback.sql").write_text(rollback)

    def url(dbname: str) -> str:
        return fresh_cluster.replace("/postgres?", f"/{dbname}?")

    with psycopg.connect(fresh_cluster, autocommit=True) as admin:
        for dbname in ("app", "partial", "fresh"):
            admin.execute(f"CREATE DATABASE {dbname}")
        assert run(project, url("partial"), "migrate", "--to", "0001").exit_code == 0

        squashed = run(project, url("app"), "squash", "--to", "0002")
        assert squashed.exit_code == 0, squashed.output
        text = (project / "migrations" / "0002_squashed.sql").read_text()
        assert "-- squashes: 0001_kinds 0002_kind_note\n" in text
        assert 'CREATE ROLE "app_reader" NOLOGIN;' in text
        assert "INSERT INTO public.kinds (id, name, note) VALUES (1, 'a', NULL);" in text

        refused = run(project, url("partial"), "migrate")
        assert refused.exit_code == 1
        assert "applied 1 of them but not 0002_kind_note" in refused.stderr

        admin.execute("DROP DATABASE partial WITH (FORCE)")
        admin.execute("DROP ROLE app_reader")  # as on a cluster that never saw it
        built = run(project, url("fresh"), "migrate")
        assert built.exit_code == 0, built.output
    with psycopg.connect(url("fresh")) as conn:
        assert conn.execute("SELECT id, name FROM kinds ORDER BY id").fetchall() == [
            (1, "a"),
            (2, "b"),
        ]
        granted = conn.execute("SELECT has_table_privilege('app_reader', 'kinds', 'SELECT')")
        assert granted.fetchone() == (True,)
