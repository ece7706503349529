"""`plainsql drift` lists what a live database has that its migrations do not build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner

from plainsql.cli import cli
from plainsql.config import Settings
from plainsql.migrate.drift import find_drift
from plainsql.migrate.runner import Migrator

REPO = Path(__file__).resolve().parents[3]


def test_a_migrated_database_has_no_drift(plainsql_settings: Settings) -> None:
    report = find_drift(plainsql_settings)
    assert report.ok, [d.describe() for d in report.differences]
    assert report.pending == []


def test_hand_made_changes_are_drift(
    plainsql_settings: Settings, plainsql_conn: psycopg.Connection[Any], plainsql_database_url: str
) -> None:
    plainsql_conn.execute("CREATE INDEX users_name_idx ON users (name)")
    plainsql_conn.execute("ALTER TABLE users ALTER COLUMN image SET DEFAULT 'x.png'")
    plainsql_conn.execute("DROP TRIGGER users_set_updated_at ON users")
    plainsql_conn.commit()
    result = CliRunner().invoke(
        cli, ["--project-dir", str(REPO), "drift"], env={"DATABASE_URL": plainsql_database_url}
    )
    assert result.exit_code == 1
    assert "index public.users_name_idx: in the database, not in the migrations" in result.output
    assert "column public.users.image differs: default (none) -> \"'x.png'::text\"" in (
        result.output
    )
    assert "trigger public.users.users_set_updated_at: in the migrations" in result.output


def test_pending_migrations_are_not_drift(
    plainsql_settings: Settings, plainsql_conn: psycopg.Connection[Any]
) -> None:
    with Migrator(plainsql_settings) as migrator:
        ids = [m.id for m in migrator.files]
        assert migrator.rollback(steps=1) == [ids[-1]]
    report = find_drift(plainsql_settings)
    assert report.ok, [d.describe() for d in report.differences]
    assert report.pending == [ids[-1]]
    assert report.compared_to == ids[-2]
