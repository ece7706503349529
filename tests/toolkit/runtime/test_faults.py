"""Faults on a server of the test's own (a second embedded cluster): restarts, crashes, a freeze.

8 callers run units of work in a loop while the server is restarted (fast shutdown) or its
postmaster and backends are killed (SIGKILL). Every failed call must raise one of plainsql's
connection errors (no raw driver exception, no catch-all), the first call after the server
is back must succeed, and no caller may hang (a generous guard, not a timing assertion).
A frozen server (SIGSTOP to the postmaster and every backend) cannot enforce its own
statement_timeout: every caller, sync or async, must get a plainsql error within the
client-side deadline (statement timeout + 5 s) plus 5 s, and calls must succeed after SIGCONT.
These tests start their own server, so they run once, in ``make test-standalone``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from plainsql import embedded, open_async_pool, open_pool
from plainsql.config import DatabaseSource, Settings, load_settings
from plainsql.errors import (
    CommitUncertain,
    ConnectionLost,
    DatabaseUnavailable,
    DeadlineExceeded,
    PoolExhausted,
)
from plainsql.runtime._deadline import deadline_seconds
from plainsql.runtime.database import Database
from plainsql.runtime.database_async import AsyncDatabase

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
        transaction_role=None,  # a bare cluster: no migration made the project's role
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


# --- a frozen server ------------------------------------------------------------------------

STATEMENT_TIMEOUT_MS = 1_000
ALLOWANCE = 5.0  # what the issue allows beyond the deadline


def _freeze(pgdata: Path, sig: signal.Signals) -> None:
    """SIGSTOP / SIGCONT the postmaster and every backend (each has a session of its own)."""
    pid = embedded.status(pgdata).pid
    assert pid is not None
    for victim in [pid, *_children(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, sig)


def _frozen_settings(pgdata: Path) -> Settings:
    return replace(_settings(pgdata), statement_timeout_ms=STATEMENT_TIMEOUT_MS)


def _wait_until_answering(settings: Settings) -> None:
    assert settings.database_url is not None
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(settings.database_url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class _Calls:
    """What the callers saw while the server was frozen: each failure and how long it took."""

    def __init__(self) -> None:
        self.frozen_at = 0.0
        self.failures: list[tuple[int, BaseException, float, float]] = []
        self.lock = threading.Lock()

    def record(self, caller: int, exc: BaseException, started: float) -> None:
        with self.lock:
            self.failures.append((caller, exc, started, time.monotonic()))

    def check(self, limit: float) -> None:
        assert self.failures, "the freeze made no call fail"
        assert {caller for caller, *_ in self.failures} == set(range(CALLERS)), (
            "every caller must see the freeze as a plainsql error"
        )
        for _, exc, started, ended in self.failures:
            assert ended >= self.frozen_at, f"{exc!r} before the freeze"
            assert isinstance(exc, EXPECTED), repr(exc)
            assert exc.__cause__ is not None
            waited = ended - max(started, self.frozen_at)
            assert waited <= limit, f"{exc!r} came after {waited:.1f} s (limit {limit:.1f} s)"
        seen = sorted({f"{type(exc).__name__}: {exc}" for _, exc, *_ in self.failures})
        # A call cut off during its COMMIT is CommitUncertain, caused by DeadlineExceeded.
        assert any(
            isinstance(exc, DeadlineExceeded) or isinstance(exc.__cause__, DeadlineExceeded)
            for _, exc, *_ in self.failures
        ), f"no call in flight hit the client-side deadline; seen: {seen}"


async def test_a_frozen_server_fails_every_async_caller_within_the_deadline(
    cluster: Path,
) -> None:
    settings = _frozen_settings(cluster)
    limit = deadline_seconds(settings) + ALLOWANCE
    calls = _Calls()
    stop = asyncio.Event()
    async with open_async_pool(settings) as pool:
        db = AsyncDatabase(pool, settings)

        async def caller(number: int) -> None:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    async with db.transaction(acting_user="frozen") as conn:
                        await conn.execute("SELECT pg_sleep(0.01)")
                except EXPECTED as exc:
                    calls.record(number, exc, started)
                await asyncio.sleep(0.005)

        tasks = [asyncio.create_task(caller(n)) for n in range(CALLERS)]
        await asyncio.sleep(0.5)
        _freeze(cluster, signal.SIGSTOP)
        calls.frozen_at = time.monotonic()
        try:
            await asyncio.sleep(deadline_seconds(settings) + 3)
        finally:
            _freeze(cluster, signal.SIGCONT)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)  # no caller hangs
        calls.check(limit)
        await asyncio.to_thread(_wait_until_answering, settings)
        async with db.transaction() as conn:  # calls succeed again
            cursor = await conn.execute("SELECT 1")
            assert await cursor.fetchone() == (1,)


def test_a_frozen_server_fails_every_sync_caller_within_the_deadline(cluster: Path) -> None:
    settings = _frozen_settings(cluster)
    limit = deadline_seconds(settings) + ALLOWANCE
    calls = _Calls()
    stop = threading.Event()
    with open_pool(settings) as pool:
        db = Database(pool, settings)

        def caller(number: int) -> None:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    with db.transaction(acting_user="frozen") as conn:
                        conn.execute("SELECT pg_sleep(0.01)")
                except EXPECTED as exc:
                    calls.record(number, exc, started)
                time.sleep(0.005)

        threads = [threading.Thread(target=caller, args=(n,), daemon=True) for n in range(CALLERS)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        _freeze(cluster, signal.SIGSTOP)
        calls.frozen_at = time.monotonic()
        try:
            time.sleep(deadline_seconds(settings) + 3)
        finally:
            _freeze(cluster, signal.SIGCONT)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a caller hangs"
        calls.check(limit)
        _wait_until_answering(settings)
        with db.transaction() as conn:  # calls succeed again
            assert conn.execute("SELECT 1").fetchone() == (1,)
