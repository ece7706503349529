"""Faults on a server of the test's own (a second embedded cluster): restarts and crashes.

8 callers run units of work in a loop while the server is restarted (fast shutdown) or its
postmaster and backends are killed (SIGKILL). Every failed call must raise one of plainsql's
connection errors (no raw driver exception, no catch-all), the first call after the server
is back must succeed, and no caller may hang (a generous guard, not a timing assertion).
These tests start their own server, so they run once, in ``make test-standalone``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from plainsql import embedded
from plainsql.config import DatabaseSource, Settings, load_settings
from plainsql.errors import CommitUncertain, ConnectionLost, DatabaseUnavailable, PoolExhausted
from plainsql.pool import open_async_pool
from plainsql.runtime_async import AsyncDatabase

pytestmark = [pytest.mark.standalone, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")]

CALLERS = 8
EXPECTED = (ConnectionLost, CommitUncertain, PoolExhausted, DatabaseUnavailable)


@pytest.fixture
def cluster() -> Iterator[Path]:
    """A second embedded cluster, outside pytest's own temporary folders (a pytest started
    meanwhile, such as the separate project's, makes those private to root again)."""
    folder = Path(tempfile.mkdtemp(prefix="plainsql-faults-"))
    folder.chmod(0o755)
    pgdata = folder / "pgdata"
    embedded.start(pgdata)
    try:
        yield pgdata
    finally:
        embedded.stop(pgdata)
        shutil.rmtree(folder, ignore_errors=True)


def _settings(pgdata: Path) -> Settings:
    url = embedded.url_for(embedded.status(pgdata), "postgres")
    return replace(
        load_settings(),
        database_url=url,
        source=DatabaseSource.ENVIRONMENT,
        pool_min_size=CALLERS,
        pool_max_size=CALLERS,
        pool_timeout=2.0,
        connect_timeout=2,
    )


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _restart(pgdata: Path) -> None:
    embedded.stop(pgdata)
    embedded.start(pgdata)


def _crash_and_start(pgdata: Path) -> None:
    """SIGKILL the postmaster and every backend (each has a session of its own), then start."""
    pid = embedded.status(pgdata).pid
    assert pid is not None
    for victim in [*_children(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while embedded.status(pgdata).running and time.monotonic() < deadline:
        time.sleep(0.1)
    embedded.start(pgdata)


async def _run_through(settings: Settings, pgdata: Path, fault: Callable[[Path], None]) -> None:
    outcomes: list[object] = []
    stop = asyncio.Event()
    async with open_async_pool(settings) as pool:
        db = AsyncDatabase(pool, settings)

        async def caller() -> None:
            while not stop.is_set():
                try:
                    async with db.transaction(acting_user="fault-test") as conn:
                        await conn.execute("SELECT pg_sleep(0.01)")
                    outcomes.append("ok")
                except EXPECTED as exc:
                    outcomes.append(exc)
                await asyncio.sleep(0.005)

        tasks = [asyncio.create_task(caller()) for _ in range(CALLERS)]
        await asyncio.sleep(0.5)
        await asyncio.to_thread(fault, pgdata)
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)  # no caller hangs

        failures = [o for o in outcomes if o != "ok"]
        assert failures, "the fault made no call fail: it was not observed"
        assert all(isinstance(f, EXPECTED) for f in failures)
        assert all(f.__cause__ is not None for f in failures if isinstance(f, BaseException))
        async with db.transaction() as conn:  # the first call now succeeds
            cursor = await conn.execute("SELECT 1")
            assert await cursor.fetchone() == (1,)


async def test_a_fast_shutdown_restart_fails_calls_with_plainsql_errors_only(
    cluster: Path,
) -> None:
    await asyncio.wait_for(_run_through(_settings(cluster), cluster, _restart), timeout=120)


async def test_a_killed_server_fails_calls_with_plainsql_errors_only(cluster: Path) -> None:
    await asyncio.wait_for(_run_through(_settings(cluster), cluster, _crash_and_start), timeout=120)
