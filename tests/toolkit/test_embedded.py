"""embedded.py: the embedded server starts on demand, is reused, stops, and keeps its data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from plainsql import embedded


@pytest.fixture
def pgdata(server_folder: Path) -> Iterator[Path]:
    data = server_folder / "pgdata"
    yield data
    embedded.stop(data)


@pytest.mark.slow
def test_started_server_is_reused_and_keeps_data_across_restarts(pgdata: Path) -> None:
    assert not embedded.status(pgdata).running

    first = embedded.start(pgdata)
    assert first.running
    with psycopg.connect(embedded.url_for(first), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")

    again = embedded.start(pgdata)
    assert again.pid == first.pid, "a running server must be reused, not started twice"

    assert embedded.stop(pgdata) is True
    assert not embedded.status(pgdata).running
    assert first.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(first.pid, 0)

    restarted = embedded.start(pgdata)
    assert restarted.pid != first.pid
    with psycopg.connect(embedded.url_for(restarted)) as conn:
        row = conn.execute("SELECT note FROM kept").fetchone()
    assert row == ("still here",)


def test_stopping_a_server_that_is_not_running_says_so(tmp_path: Path) -> None:
    assert embedded.stop(tmp_path / "never-started") is False


def _preloaded(state: embedded.EmbeddedStatus) -> bool:
    with psycopg.connect(embedded.url_for(state), autocommit=True) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
    return row is not None and embedded.PRELOAD in str(row[0])


@pytest.mark.slow
def test_db_start_restarts_an_older_running_server_once_to_load_pg_stat_statements(
    server_folder: Path,
) -> None:
    project = server_folder / "project"
    (project / "migrations").mkdir(parents=True)
    pgdata = project / ".plainsql" / "pgdata"
    try:
        assert _preloaded(embedded.start(pgdata)), "a new data folder preloads the module"
        # A data folder from before: the setting gone, its server running without the module.
        with psycopg.connect(embedded.url_for(embedded.status(pgdata)), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET shared_preload_libraries")
        embedded.stop(pgdata)
        embedded._start(pgdata, None, register=False)
        before = embedded.status(pgdata)
        assert not _preloaded(before)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_URL"))}
        command = [sys.executable, "-m", "plainsql", "db", "start"]
        first = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        assert first.returncode == 0, first.stderr
        assert "restarted the embedded PostgreSQL once to load pg_stat_statements" in first.stdout
        after = embedded.status(pgdata)
        assert after.pid != before.pid
        assert _preloaded(after)

        second = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        assert second.returncode == 0, second.stderr
        assert "restarted" not in second.stdout
        assert embedded.status(pgdata).pid == after.pid
    finally:
        embedded.stop(pgdata)
