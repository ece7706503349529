"""Behind PgBouncer in transaction mode: service calls and `plainsql status` work with prepares off.

The distribution's PgBouncer (``.ci/run`` installs it) is started by the test, on a port of
its own, as the unprivileged ``nobody`` (it refuses to run as root), in front of the local
PostgreSQL server over TCP. A database of the test's own is migrated directly, then used
only through PgBouncer. Outside CI, a machine without pgbouncer or without that server skips
this test, saying why; in CI both must be there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from plainsql import (
    AsyncDatabase,
    Settings,
    load_async_queries,
    load_settings,
    open_async_pool,
)
from plainsql.config import DatabaseSource
from plainsql.migrate.runner import Migrator
from plainsql.testing import unique_name
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.agents import AgentsService

pytestmark = pytest.mark.standalone

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
WORKERS = 8
CALLS = 50


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def bouncer() -> Iterator[tuple[str, str]]:
    """(URL through PgBouncer, direct URL) of a migrated database of this test's own."""
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if binary is None:
        _missing("pgbouncer is not installed (apt-get install pgbouncer)")
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.Error:
        _missing(f"no PostgreSQL answers at {SERVER}")
    assert binary is not None
    name = unique_name("plainsql_bouncer")
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    direct = f"postgresql://postgres@127.0.0.1:5432/{name}"
    port = _free_port()
    # Not under pytest's tmp_path: its parents are closed to the unprivileged user.
    folder = Path(tempfile.mkdtemp(prefix="plainsql-bouncer-"))
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{name} = host=127.0.0.1 port=5432 dbname={name}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"unix_socket_dir =\nauth_type = trust\nauth_file = {folder}/users.txt\n"
        "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 100\n"
        # libpq's `options` (plainsql's statement_timeout) is not a parameter PgBouncer
        # forwards: set statement_timeout on the role or database behind a pooler instead.
        "ignore_startup_parameters = options,extra_float_digits\n"
        f"logfile = {folder}/pgbouncer.log\npidfile = {folder}/pgbouncer.pid\n"
    )
    for path in (folder, *folder.iterdir()):
        path.chmod(0o777)
    process = subprocess.Popen(
        [binary, "-u", "nobody", str(folder / "pgbouncer.ini")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}/{name}"
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.Error:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (
                        (folder / "pgbouncer.log").read_text()
                        if (folder / "pgbouncer.log").exists()
                        else ""
                    )
                    pytest.fail(f"pgbouncer did not start: {log[-2000:]}", pytrace=False)
                time.sleep(0.2)
        settings = replace(load_settings(), database_url=direct, source=DatabaseSource.ENVIRONMENT)
        with Migrator(settings, direct) as migrator:
            migrator.migrate()
        yield url, direct
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _through(url: str) -> Settings:
    return replace(
        load_settings(),
        database_url=url,
        source=DatabaseSource.ENVIRONMENT,
        prepared_statements=False,
        pool_min_size=WORKERS,
        pool_max_size=WORKERS,
    )


async def test_service_calls_through_pgbouncer_in_transaction_mode_all_succeed(
    bouncer: tuple[str, str],
) -> None:
    url, direct = bouncer
    with psycopg.connect(direct, autocommit=True) as conn:
        for w in range(WORKERS):
            conn.execute(
                "INSERT INTO users (id, name, email) VALUES (%s, %s, %s)",
                (f"bouncer-{w}", f"Worker {w}", f"worker{w}@example.com"),
            )
    settings = _through(url)
    queries = load_async_queries(settings.sql_dir)
    failures: list[BaseException] = []
    async with open_async_pool(settings) as pool:
        agents = AgentsService(AsyncDatabase(pool, settings), AsyncTypedQueries(queries))

        async def worker(w: int) -> None:
            user = f"bouncer-{w}"
            for i in range(CALLS // 2):
                try:
                    await agents.create_agent(f"agent {i}", "be brief", acting_user_id=user)
                    listed = await agents.list_agents(page_size=500, acting_user_id=user)
                    assert len(listed.items) == i + 1
                except Exception as exc:  # counted, then asserted to be none
                    failures.append(exc)

        await asyncio.wait_for(asyncio.gather(*(worker(w) for w in range(WORKERS))), 120)
    assert failures == []


def test_plainsql_status_works_through_pgbouncer(bouncer: tuple[str, str]) -> None:
    url, _ = bouncer
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PLAINSQL_PREPARED_STATEMENTS": "false",
    }
    result = subprocess.run(
        [sys.executable, "-m", "plainsql", "status"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "applied" in result.stdout
    assert "Traceback" not in result.stderr
