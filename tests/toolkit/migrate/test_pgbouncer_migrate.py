"""Migrations behind PgBouncer in transaction mode: only over the direct URL.

The migration lock is a session-level advisory lock, which through a transaction pooler
would stay on whichever server connection took it: ``plainsql migrate`` (and the other
commands that need a session of their own) refuse a declared pooler without ``DIRECT_URL``,
saying what to set; with it they work, and two runners at once still apply each migration
once. ``plainsql status`` only reads, so it works through the pooler; a pooler that loses
prepared statements is explained, never shown as a traceback. The real CLI, in subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from ..fixtures import write_migration

pytestmark = pytest.mark.standalone


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for number, table in (("0001", "notes"), ("0002", "tags"), ("0003", "links")):
        write_migration(
            tmp_path,
            f"{number}_{table}",
            # A pause inside each migration, so two runners started together overlap.
            f"-- {number}_{table}: the {table} table.\n"
            f"CREATE TABLE {table} (id bigint PRIMARY KEY);\nSELECT pg_sleep(0.3);\n",
            f"DROP TABLE {table};\n",
        )
    return tmp_path


def _start(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "PLAINSQL_")) and k not in ("DATABASE_URL", "DIRECT_URL")
    }
    return subprocess.Popen(
        [sys.executable, "-m", "plainsql", "--project-dir", str(project), *args],
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _plainsql(project: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = _start(project, env, *args)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def _tables(direct: str) -> list[str]:
    with psycopg.connect(direct) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    return [str(name) for (name,) in rows]


@pytest.mark.parametrize(
    "command", [["migrate"], ["rollback"], ["verify"], ["drift"], ["backup"], ["stats"]]
)
def test_session_commands_through_a_declared_pooler_without_a_direct_url_are_refused(
    project: Path, pgbouncer: tuple[str, str], command: list[str]
) -> None:
    pooled, direct = pgbouncer
    code, _, err = _plainsql(project, {"DATABASE_URL": f"{pooled}?pgbouncer=true"}, *command)
    assert code == 1
    assert "DIRECT_URL" in err
    assert "transaction pooler" in err
    assert "Traceback" not in err
    assert _tables(direct) == []  # nothing was run, not even the ledger


def test_migrate_over_the_direct_url_applies_each_migration_once_with_two_runners(
    project: Path, pgbouncer: tuple[str, str]
) -> None:
    pooled, direct = pgbouncer
    env = {"DATABASE_URL": pooled, "PLAINSQL_TRANSACTION_POOLER": "true", "DIRECT_URL": direct}
    runners = [_start(project, env, "migrate") for _ in range(2)]
    outcomes = [(r.communicate(timeout=120), r.returncode) for r in runners]
    assert [code for _, code in outcomes] == [0, 0], [err for (_, err), _ in outcomes]
    outputs = "".join(out for (out, _), _ in outcomes)
    for migration in ("0001_notes", "0002_tags", "0003_links"):
        assert outputs.count(f"applied {migration}") == 1, outputs
    with psycopg.connect(direct) as conn:
        rows = conn.execute(
            "SELECT migration_id, count(*) FROM _yoyo_migration GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [("0001_notes", 1), ("0002_tags", 1), ("0003_links", 1)]
    assert {"notes", "tags", "links"} <= set(_tables(direct))
    # status reads only: through the pooler, without the direct URL, it works.
    code, out, err = _plainsql(project, {"DATABASE_URL": f"{pooled}?pgbouncer=true"}, "status")
    assert code == 0, err
    assert "3 applied, 0 pending" in out


def test_status_through_a_pooler_that_loses_prepared_statements_explains_it(
    project: Path, pgbouncer: tuple[str, str]
) -> None:
    """Told the pooler keeps prepared statements (PgBouncer 1.21+) while this one cannot: the
    second run meets the statements the first left on the server connection. It says why and
    what to set, in one line; with the pooler declared as it is, every run works."""
    pooled, direct = pgbouncer
    code, _, err = _plainsql(project, {"DATABASE_URL": direct}, "migrate")
    assert code == 0, err
    claimed = {
        "DATABASE_URL": f"{pooled}?pgbouncer=true",
        "PLAINSQL_POOLER_PREPARED_STATEMENTS": "true",
    }
    runs = [_plainsql(project, claimed, "status") for _ in range(3)]
    failed = [err for code, _, err in runs if code != 0]
    assert failed, "no run met another's prepared statement: the fault was not observed"
    for err in failed:
        assert "Traceback" not in err
        assert "prepared statement" in err
        assert "PLAINSQL_TRANSACTION_POOLER" in err
        assert "PLAINSQL_POOLER_PREPARED_STATEMENTS" in err
    for _ in range(3):
        code, out, err = _plainsql(project, {"DATABASE_URL": f"{pooled}?pgbouncer=true"}, "status")
        assert code == 0, err
        assert "3 applied, 0 pending" in out


def test_an_undeclared_pooler_refusing_the_startup_options_is_explained(
    project: Path, pgbouncer: tuple[str, str]
) -> None:
    """PgBouncer refuses libpq's ``options`` (which carries plainsql's statement_timeout)
    unless told to ignore them: the message names the setting that stops sending them."""
    pooled, _ = pgbouncer
    code, _, err = _plainsql(project, {"DATABASE_URL": pooled}, "status")
    assert code == 1
    assert "unsupported startup parameter" in err
    assert "PLAINSQL_TRANSACTION_POOLER" in err
    assert "Traceback" not in err
