"""Migrations under traffic: short DDL lock waits, retried, each wait naming the holder.

A session holds a lock on a table (an open transaction that read it) while workers read and
write the table; a migration that changes the table waits ``ddl-lock-timeout`` at a time,
is rolled back (or, non-transactional, retries the statement that waited) and succeeds once
the holder lets go. No timing is asserted: the figures are in ``make bench``
(bench/workloads/migration_under_traffic.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from plainsql.cli import cli
from plainsql.config import DatabaseSource, Settings, duration_ms
from plainsql.errors import MigrationError
from plainsql.migrate.runner import Migrator
from plainsql.testing import TestServer

from ..fixtures import write_migration

WORKERS = 8


@pytest.fixture
def settings(
    plainsql_server: TestServer, plainsql_empty_database_url: str, tmp_path: Path
) -> Settings:
    """A project with a filled table ``item``, applied; ``ddl-lock-timeout`` 300 ms."""
    write_migration(
        tmp_path,
        "0001_item",
        "-- 0001_item: the table the workers use.\n"
        "CREATE TABLE item (id integer PRIMARY KEY, n integer NOT NULL);\n"
        "INSERT INTO item SELECT g, 0 FROM generate_series(1, 100) g;\n",
        "DROP TABLE item;\n",
    )
    settings = replace(
        plainsql_server.settings,
        project_dir=tmp_path,
        database_url=plainsql_empty_database_url,
        source=DatabaseSource.ENVIRONMENT,
        ddl_lock_timeout_ms=300,
    )
    with Migrator(settings) as migrator:
        migrator.migrate()
    return settings


class Records(logging.Handler):
    """The ``plainsql.migrate`` log records, collected across threads."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("plainsql.migrate")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


class Holder:
    """A session with an open transaction that read ``item``: its ACCESS SHARE lock makes
    any ALTER TABLE item wait, as a long report query in the application would."""

    def __init__(self, url: str, query: str = "SELECT count(*) FROM item") -> None:
        self.conn = psycopg.connect(url, application_name="test-holder")
        self.conn.execute(query.encode())
        self.pid = self.conn.info.backend_pid

    def release(self) -> None:
        self.conn.commit()
        self.conn.close()


class Traffic:
    """8 workers reading and writing ``item`` until stopped; every error kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.errors: list[BaseException] = []
        self.calls = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.work, args=(w,)) for w in range(WORKERS)]
        for thread in self.threads:
            thread.start()

    def work(self, worker: int) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                i = 0
                while not self.stop.is_set():
                    key = (worker * 13 + i) % 100 + 1
                    conn.execute("SELECT n FROM item WHERE id = %s", (key,)).fetchone()
                    conn.execute("UPDATE item SET n = n + 1 WHERE id = %s", (key,))
                    self.calls += 1
                    i += 1
        except BaseException as exc:  # every error counts: the test says none happened
            self.errors.append(exc)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def migrate_in_thread(settings: Settings) -> tuple[threading.Thread, list[BaseException]]:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with Migrator(settings) as migrator:
                migrator.migrate()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, failures


def wait_for(records: Records, text: str, count: int = 1) -> None:
    """Until ``count`` log lines contain ``text`` (a guard against hanging, not a timing)."""
    deadline = time.monotonic() + 60
    while sum(text in line for line in records.lines) < count:
        assert time.monotonic() < deadline, f"no {count} log line(s) with {text!r}: {records.lines}"
        time.sleep(0.05)


def test_a_migration_waits_short_and_retries_while_workers_run(
    settings: Settings, records: Records
) -> None:
    write_migration(
        settings.project_dir,
        "0002_item_note",
        "-- 0002_item_note: a note on each item; records the lock_timeout it ran with.\n"
        "CREATE TABLE ran_with AS SELECT current_setting('lock_timeout') AS lock_timeout;\n"
        "ALTER TABLE item ADD COLUMN note text;\n",
        "ALTER TABLE item DROP COLUMN note;\nDROP TABLE ran_with;\n",
    )
    url = settings.database_url
    assert url is not None
    holder = Holder(url)
    traffic = Traffic(url)
    migration, failures = migrate_in_thread(settings)
    try:
        wait_for(records, f"pid {holder.pid}", count=2)  # it waited, retried, waited again
    finally:
        holder.release()
        migration.join()
        traffic.finish()

    assert failures == []
    assert traffic.errors == []
    assert traffic.calls > 0
    waits = [line for line in records.lines if "waited 300ms" in line]
    assert len(waits) >= 2
    assert all(f"pid {holder.pid}" in line for line in waits), waits
    assert "application_name 'test-holder'" in waits[0]
    assert "SELECT count(*) FROM item" in waits[0]
    assert "ALTER TABLE item ADD COLUMN note text;" in waits[0]
    with psycopg.connect(url) as conn:
        # The create of ran_with was rolled back with each try: one table, one row.
        assert conn.execute("SELECT lock_timeout FROM ran_with").fetchall() == [("300ms",)]
        assert conn.execute("SELECT count(note) FROM item").fetchone() == (0,)


def test_a_non_transactional_migration_retries_only_the_statement_that_waited(
    settings: Settings, records: Records
) -> None:
    write_migration(
        settings.project_dir,
        "0002_item_index",
        "-- 0002_item_index: an index built without blocking writes, then a note column.\n"
        "-- transactional: false\n"
        "CREATE TABLE tally (id integer PRIMARY KEY);\n"
        "INSERT INTO tally VALUES (1);\n"
        "ALTER TABLE item ADD COLUMN note text;\n"
        "CREATE INDEX CONCURRENTLY item_n_idx ON item (n);\n",
        "DROP INDEX CONCURRENTLY item_n_idx;\nALTER TABLE item DROP COLUMN note;\n"
        "DROP TABLE tally;\n",
    )
    url = settings.database_url
    assert url is not None
    holder = Holder(url)
    traffic = Traffic(url)
    migration, failures = migrate_in_thread(settings)
    try:
        wait_for(records, f"pid {holder.pid}")
    finally:
        holder.release()
        migration.join()
        traffic.finish()

    assert failures == []
    assert traffic.errors == []
    assert "statement 3 of 4 not done" in next(r for r in records.lines if "waited" in r)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT id FROM tally").fetchall() == [(1,)]  # ran once
        row = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'item_n_idx'::regclass"
        ).fetchone()
        assert row == (True,)
        applied = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY 1").fetchall()
        assert applied == [("0001_item",), ("0002_item_index",)]


def test_out_of_retries_the_error_names_the_holder(settings: Settings, records: Records) -> None:
    write_migration(
        settings.project_dir,
        "0002_item_note",
        "-- 0002_item_note: a note on each item.\nALTER TABLE item ADD COLUMN note text;\n",
        "ALTER TABLE item DROP COLUMN note;\n",
    )
    url = settings.database_url
    assert url is not None
    holder = Holder(url, "SELECT count(*) FROM item WHERE 'hunter2' <> ''")
    try:
        with (
            Migrator(replace(settings, ddl_retry_seconds=0)) as migrator,
            pytest.raises(MigrationError) as caught,
        ):
            migrator.migrate()
    finally:
        holder.release()
    message = str(caught.value)
    assert "migrations/0002_item_note.sql:2:1" in message
    assert "lock timeout" in message
    assert f"last held by pid {holder.pid} (application_name 'test-holder'" in message
    assert "nothing of this migration was kept" in message
    # The holder's query is shown, its string literals hidden (they may carry values).
    assert "query: \"SELECT count(*) FROM item WHERE '...' <> '...'\"" in message
    assert "hunter2" not in message + "".join(records.lines)
    with Migrator(settings) as migrator:
        assert migrator.migrate() == ["0002_item_note"]  # the holder is gone: it goes through


def test_the_cli_sets_the_ddl_lock_timeout_and_refuses_a_bad_one(
    settings: Settings, plainsql_empty_database_url: str
) -> None:
    write_migration(
        settings.project_dir,
        "0002_ran_with",
        "-- 0002_ran_with: records the lock_timeout the migration ran with.\n"
        "CREATE TABLE ran_with AS SELECT current_setting('lock_timeout') AS lock_timeout;\n",
        "DROP TABLE ran_with;\n",
    )
    args = ["--project-dir", str(settings.project_dir), "migrate", "--ddl-lock-timeout"]
    env = {"DATABASE_URL": plainsql_empty_database_url}
    bad = CliRunner().invoke(cli, [*args, "soon"], env=env)
    assert bad.exit_code == 2
    assert "--ddl-lock-timeout must be a duration like 500ms, 2s or 1min, got 'soon'" in bad.output
    good = CliRunner().invoke(cli, [*args, "2s"], env=env)
    assert good.exit_code == 0, good.output
    with psycopg.connect(plainsql_empty_database_url) as conn:
        assert conn.execute("SELECT lock_timeout FROM ran_with").fetchall() == [("2s",)]


@pytest.mark.parametrize(
    ("raw", "ms"), [("500ms", 500), ("2s", 2000), ("1min", 60_000), ("250", 250), (750, 750)]
)
def test_the_setting_reads_durations(raw: object, ms: int) -> None:
    assert duration_ms("ddl-lock-timeout", raw) == ms


def test_a_concurrent_index_that_timed_out_is_built_again_not_left_invalid(
    settings: Settings, records: Records
) -> None:
    write_migration(
        settings.project_dir,
        "0002_item_n_idx",
        "-- 0002_item_n_idx: find items by n, writes going on.\n-- transactional: false\n"
        "CREATE INDEX CONCURRENTLY item_n_idx ON item (n);\n",
        "DROP INDEX CONCURRENTLY item_n_idx;\n",
    )
    url = settings.database_url
    assert url is not None
    # CONCURRENTLY takes its table lock (a writer does not block it), records the index as
    # INVALID, then waits for the transactions writing the table (this one) to end: that wait
    # times out too, and leaves the INVALID index behind.
    holder = Holder(url, "UPDATE item SET n = n WHERE id = 1")
    migration, failures = migrate_in_thread(settings)
    try:
        wait_for(records, f"pid {holder.pid}")
    finally:
        holder.release()
        migration.join()
    assert failures == []
    with psycopg.connect(url) as conn:
        indexes = conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'item'::regclass"
            " ORDER BY 1"
        ).fetchall()
    assert indexes == [("item_n_idx", True), ("item_pkey", True)]
    assert "statement 1 of 1 not done" in next(r for r in records.lines if "waited" in r)
