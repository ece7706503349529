"""The application backed up and restored: `plainsql backup --verify`, then `restore` into an
empty database gives the same rows in every table (row-level security forced on most of them,
SECURITY DEFINER functions, the application's role) and every migration applied."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from click.testing import CliRunner, Result
from psycopg import sql

from plainsql.cli import cli

PROJECT_DIR = Path(__file__).resolve().parents[2]


def run(plainsql_database_url: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--project-dir", str(PROJECT_DIR), *args], env={"DATABASE_URL": plainsql_database_url}
    )


def counts(conninfo: str) -> dict[str, int]:
    found: dict[str, int] = {}
    with psycopg.connect(conninfo) as conn:
        for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        ).fetchall():
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            row = conn.execute(query).fetchone()
            found[name] = row[0] if row else -1
    return found


def test_the_application_backed_up_verified_and_restored(
    plainsql_database_url: str, plainsql_empty_database_url: str, tmp_path: Path
) -> None:
    assert run(plainsql_database_url, "seed").exit_code == 0
    taken = run(plainsql_database_url, "backup", "--out", str(tmp_path), "--verify")
    assert taken.exit_code == 0, taken.output
    backup = Path(taken.output.splitlines()[-1])

    restored = run(plainsql_empty_database_url, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    expected = counts(plainsql_database_url)
    assert counts(plainsql_empty_database_url) == expected
    assert expected["projects"] > 0  # the seeds' rows came through the forced policies
    status = json.loads(run(plainsql_empty_database_url, "status", "--json").output)
    assert status["migrations"]
    assert all(m["applied"] and not m["edited"] and not m["dirty"] for m in status["migrations"])
