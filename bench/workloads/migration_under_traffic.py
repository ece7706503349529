"""W8: a migration under traffic: the application's longest call while a migration waits.

8 workers read and write a filled table (a point SELECT then an UPDATE, each on its own
autocommit psycopg connection) while another session holds the table (an open transaction
that read it: ACCESS SHARE) for 3 seconds. A migration adding a column (it needs ACCESS
EXCLUSIVE) starts just after the holder and is run by plainsql's runner twice, each time on
a fresh database of its own:

- before: ``ddl-lock-timeout = 10s``, the runner's fixed ``lock_timeout`` until now: the
  migration queues behind the holder for its 3 s, and every worker's call queues behind the
  migration: the longest call is about the holder's 3 s;
- after: ``ddl-lock-timeout = 500ms`` (the default): the migration gives up after 500 ms, is
  rolled back and retried with backoff, and the workers wait at most one timeout at a time.
  The goal: the longest call at most the DDL lock timeout plus 0.2 s.

The figure of each contender is the longest worker call that overlapped the migration (the
"calls/s" column means nothing here). A smoke run holds the lock for 1 s.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

from bench.harness import BenchContext, Measurement, Result
from plainsql.config import DatabaseSource, Settings
from plainsql.migrate.runner import Migrator
from plainsql.server import scratch_database

WORKERS = 8
ROWS = 1_000
HOLD_SECONDS = 3.0
SMOKE_HOLD_SECONDS = 1.0
BEFORE_MS = 10_000
AFTER_MS = 500

MIGRATION = (
    "-- 0002_note: a note on every row (ADD COLUMN needs ACCESS EXCLUSIVE, for a moment).\n"
    "ALTER TABLE bench_traffic ADD COLUMN note text;\n"
)


def _write_project(folder: Path) -> None:
    migrations = folder / "migrations"
    migrations.mkdir()
    (migrations / "0001_traffic.sql").write_text(
        "-- 0001_traffic: the table the workers read and write.\n"
        "CREATE TABLE bench_traffic (id integer PRIMARY KEY, n integer NOT NULL);\n"
        f"INSERT INTO bench_traffic SELECT g, 0 FROM generate_series(1, {ROWS}) g;\n"
    )
    (migrations / "0001_traffic.rollback.sql").write_text("DROP TABLE bench_traffic;\n")
    (migrations / "0002_note.sql").write_text(MIGRATION)
    (migrations / "0002_note.rollback.sql").write_text(
        "ALTER TABLE bench_traffic DROP COLUMN note;\n"
    )


class _Workers:
    """8 threads calling until stopped; each call's (start, duration)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.calls: list[tuple[float, float]] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(w,)) for w in range(WORKERS)]
        for thread in self.threads:
            thread.start()

    def _work(self, worker: int) -> None:
        calls: list[tuple[float, float]] = []
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                i = 0
                while not self.stop.is_set():
                    key = (worker * 97 + i) % ROWS + 1
                    started = time.perf_counter()
                    conn.execute("SELECT n FROM bench_traffic WHERE id = %s", (key,)).fetchone()
                    calls.append((started, time.perf_counter() - started))
                    started = time.perf_counter()
                    conn.execute("UPDATE bench_traffic SET n = n + 1 WHERE id = %s", (key,))
                    calls.append((started, time.perf_counter() - started))
                    i += 1
        except BaseException as exc:  # reported: a worker error is a failed scenario
            self.errors.append(exc)
        self.calls += calls

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def _scenario(settings: Settings, hold: float) -> tuple[float, float, int]:
    """One run on a fresh database: (longest call during the migration, the migration's
    time, calls made during it)."""
    with scratch_database(settings, "traffic") as conninfo:
        settings = replace(settings, database_url=conninfo)
        with Migrator(settings, conninfo) as migrator:
            migrator.migrate(to="0001_traffic")
        workers = _Workers(conninfo)
        holder: psycopg.Connection[Any] = psycopg.connect(conninfo, application_name="holder")
        try:
            time.sleep(0.3)  # the workers are connected and calling
            holder.execute("SELECT count(*) FROM bench_traffic").fetchone()
            release = threading.Timer(hold, holder.commit)
            release.start()
            started = time.perf_counter()
            with Migrator(settings, conninfo) as migrator:
                migrator.migrate()
            ended = time.perf_counter()
            release.join()
            time.sleep(0.2)
        finally:
            workers.finish()
            holder.close()
        if workers.errors:
            raise workers.errors[0]
        during = [d for s, d in workers.calls if s + d >= started and s <= ended]
        return max(during, default=0.0), ended - started, len(during)


def run(ctx: BenchContext) -> list[Result]:
    hold = SMOKE_HOLD_SECONDS if ctx.smoke else HOLD_SECONDS
    with tempfile.TemporaryDirectory(prefix="plainsql-bench-traffic-") as folder:
        _write_project(Path(folder))
        base = replace(
            ctx.settings,
            project_dir=Path(folder),
            database_url=ctx.conninfo,
            source=DatabaseSource.ENVIRONMENT,
        )
        figures = {}
        for label, ms in (("before", BEFORE_MS), ("after", AFTER_MS)):
            figures[label] = _scenario(replace(base, ddl_lock_timeout_ms=ms), hold)
    after, before = figures["after"], figures["before"]
    print(
        f"W8: holder {hold:g} s; migration took {before[1]:.2f} s before "
        f"(lock_timeout {BEFORE_MS / 1000:g}s), {after[1]:.2f} s after (ddl-lock-timeout "
        f"{AFTER_MS}ms, retried); goal: longest call <= {AFTER_MS / 1000 + 0.2:.1f} s"
    )
    return [
        Result(
            f"W8 migration under traffic: longest worker call while it ran ({WORKERS} workers, "
            f"holder {hold:g} s)",
            "calls",
            Measurement(f"after: ddl-lock-timeout {AFTER_MS}ms, retried", after[0], after[2], 0),
            Measurement(
                f"before: lock_timeout {BEFORE_MS // 1000}s, no retry", before[0], before[2], 0
            ),
        )
    ]
