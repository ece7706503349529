"""The migration lock: a second runner waits, then gives up naming who holds the lock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from plainsql.cli import cli
from plainsql.migrate.lock import LOCK_KEY


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_t.sql").write_text("-- 0001_t: t.\nCREATE TABLE t ();\n")
    (tmp_path / "migrations" / "0001_t.rollback.sql").write_text("DROP TABLE t;\n")
    return tmp_path


def test_a_waiting_runner_times_out_naming_the_lock_holder(
    project: Path, plainsql_empty_database_url: str
) -> None:
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as holder:
        holder.execute("SET application_name = 'deploy-42'")
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        pid = holder.info.backend_pid
        result = CliRunner().invoke(
            cli,
            ["--project-dir", str(project), "migrate", "--lock-timeout", "0.5"],
            env={"DATABASE_URL": plainsql_empty_database_url},
        )
    assert result.exit_code == 1
    assert "deploy-42" in result.output
    assert f"pid {pid}" in result.output
    with psycopg.connect(plainsql_empty_database_url) as conn:
        row = conn.execute("SELECT to_regclass('t') IS NULL").fetchone()
    assert row == (True,)


def test_runners_on_different_databases_do_not_wait_for_each_other(
    project: Path, plainsql_empty_database_url: str, plainsql_database_url: str
) -> None:
    with psycopg.connect(plainsql_database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        result = CliRunner().invoke(
            cli,
            ["--project-dir", str(project), "migrate", "--lock-timeout", "0"],
            env={"DATABASE_URL": plainsql_empty_database_url},
        )
    assert result.exit_code == 0, result.output
    assert "applied 0001_t" in result.output


def test_a_waiting_runner_says_who_it_waits_for_then_goes_on(
    project: Path, plainsql_empty_database_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PLAINSQL_"))}
    env["DATABASE_URL"] = plainsql_empty_database_url
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as holder:
        holder.execute("SET application_name = 'deploy-42'")
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        runner = subprocess.Popen(
            [sys.executable, "-m", "plainsql", "--project-dir", str(project), "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert runner.stderr is not None
        line = runner.stderr.readline()  # blocks until the runner finds the lock taken
        assert line.startswith("waiting for the migration lock, held by pid "), line
        assert f"pid {holder.info.backend_pid}, application_name 'deploy-42'" in line
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        out, err = runner.communicate(timeout=60)
    assert runner.returncode == 0, err
    assert "applied 0001_t" in out
