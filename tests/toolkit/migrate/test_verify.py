"""`plainsql verify` proves each rollback restores the schema, and names what it leaves behind."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from plainsql.cli import cli
from plainsql.config import DatabaseSource, Settings
from plainsql.migrate.verify import verify_migrations
from plainsql.testing import TestServer

from ..fixtures import write_migration


@pytest.fixture
def settings(plainsql_server: TestServer, tmp_path: Path) -> Settings:
    (tmp_path / "migrations").mkdir()
    return replace(
        plainsql_server.settings,
        project_dir=tmp_path,
        database_url=plainsql_server.admin_conninfo,
        source=DatabaseSource.ENVIRONMENT,
    )


TABLE = (
    "-- 0001_t: a table.\nCREATE TABLE t (id bigint PRIMARY KEY, x text);\n",
    "DROP TABLE t;\n",
)


def test_verify_names_the_index_a_rollback_forgets(settings: Settings) -> None:
    write_migration(settings.project_dir, "0001_t", *TABLE)
    write_migration(
        settings.project_dir,
        "0002_t_x",
        "-- 0002_t_x: look t up by x.\nCREATE INDEX t_x_idx ON t (x);\n"
        "COMMENT ON INDEX t_x_idx IS 'by x';\n",
        "-- forgot the index\nCOMMENT ON TABLE t IS NULL;\n",
    )
    report = verify_migrations(settings)
    assert not report.ok
    assert [p.migration_id for p in report.problems][:1] == ["0002_t_x"]
    text = report.problems[0].describe()
    assert "0002_t_x: its rollback does not restore the schema" in text
    assert (
        "index public.t_x_idx: in the schema after its rollback, not in the schema before it"
        in (text)
    )

    result = CliRunner().invoke(
        cli,
        ["--project-dir", str(settings.project_dir), "verify"],
        env={"DATABASE_URL": settings.database_url},
    )
    assert result.exit_code == 1
    assert "index public.t_x_idx" in result.output


def test_verify_catches_a_changed_column_and_a_leftover_enum(settings: Settings) -> None:
    write_migration(settings.project_dir, "0001_t", *TABLE)
    write_migration(
        settings.project_dir,
        "0002_mood",
        "-- 0002_mood: a mood for t.\nCREATE TYPE mood AS ENUM ('ok');\n"
        "ALTER TABLE t ADD COLUMN mood mood;\nALTER TABLE t ALTER COLUMN x SET DEFAULT 'a';\n",
        "ALTER TABLE t DROP COLUMN mood;\n",
    )
    report = verify_migrations(settings)
    text = "\n".join(p.describe() for p in report.problems)
    assert "type public.mood: in the schema after its rollback" in text
    assert "column public.t.x differs: default (none) -> \"'a'::text\"" in text


def test_verify_passes_good_rollbacks_and_respects_irreversible(settings: Settings) -> None:
    write_migration(settings.project_dir, "0001_t", *TABLE)
    write_migration(
        settings.project_dir,
        "0002_seed",
        "-- 0002_seed: a fixed row.\n-- irreversible: rows may be referenced by then\n"
        "INSERT INTO t (id, x) VALUES (1, 'one');\n",
        None,
    )
    write_migration(
        settings.project_dir,
        "0003_u",
        "-- 0003_u: u.\nCREATE TABLE u (id bigint PRIMARY KEY);\n"
        "CREATE INDEX u_id_idx ON u (id);\n",
        "DROP TABLE u;\n",
    )
    report = verify_migrations(settings)
    assert report.ok, [p.describe() for p in report.problems]
    assert report.checked == ["0001_t", "0002_seed", "0003_u"]
    assert any("0002_seed is irreversible" in note for note in report.notes)


def test_verify_stops_at_a_rollback_that_fails_and_names_it(settings: Settings) -> None:
    write_migration(settings.project_dir, "0001_t", *TABLE)
    write_migration(
        settings.project_dir,
        "0002_u",
        "-- 0002_u: u.\nCREATE TABLE u (id bigint PRIMARY KEY);\n",
        "-- 0002_u rollback.\nDROP TABLE uu;\n",
    )
    report = verify_migrations(settings)
    assert [p.migration_id for p in report.problems] == ["0002_u"]
    text = report.problems[0].describe()
    assert "stopped: rollback of migrations/0002_u.rollback.sql failed at " in text
    assert "migrations/0002_u.rollback.sql:2:1 (statement 1 of 1)" in text
