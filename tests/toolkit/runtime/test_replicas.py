"""Read replicas on a real streaming standby: routing, read-your-writes by WAL position, health.

The fixture (``plainsql.testing.streaming_pair``) starts an embedded primary, migrates a small
project of its own into it (notes, and ``served_by_standby()``, which says whether the server
running the query is a standby), and makes a standby of it with ``pg_basebackup -R`` (both run
as the embedded wheel's unprivileged user when the tests run as root). Replay is paused on the
standby (``pg_wal_replay_pause()``) where a test needs it behind the primary. Waits are
bounded polls for something a user would see (a read served by the standby), never timing
asserts.
These tests start their own servers, so they run once, in ``make test-standalone``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from click.testing import CliRunner

from plainsql import (
    AsyncDatabase,
    Database,
    Queries,
    Scope,
    Settings,
    embedded,
    load_async_queries,
    load_queries,
    load_settings,
    open_async_pool,
    open_async_replicas,
    open_pool,
    open_replicas,
)
from plainsql.cli import cli
from plainsql.testing import StreamingPair, streaming_pair

from ..fixtures import write_notes_project

pytestmark = [pytest.mark.standalone, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")]

T = TypeVar("T")
PASSWORD = "pw-never-logged-5c1d"
WAIT = 60.0  # a generous bound on waiting for replay or a poll; never a measured figure


@dataclass(frozen=True)
class Pair:
    servers: StreamingPair  # the primary and its standby
    project: Path  # the notes project, migrated into the primary

    @property
    def primary_url(self) -> str:
        return self.servers.primary_url

    @property
    def standby_url(self) -> str:
        return self.servers.standby_url


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """An embedded primary with the notes project migrated, and a streaming standby of it."""
    project = write_notes_project(tmp_path_factory.mktemp("replicas") / "project")
    with streaming_pair(load_settings(environ={}, project_dir=project), "notes") as servers:
        yield Pair(servers, project)


def settings_for(pair: Pair, standby_url: str | None = None, **changes: Any) -> Settings:
    """The project's settings: the primary, the standby as its one replica, a quick poll."""
    base = load_settings(environ={"DATABASE_URL": pair.primary_url}, project_dir=pair.project)
    replicas = (standby_url or pair.standby_url,)
    return replace(base, replica_urls=replicas, replica_poll_ms=50, **changes)


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    async with open_async_pool(settings) as pool, open_async_replicas(settings) as replicas:
        yield AsyncDatabase(pool, settings, replicas=replicas)


def queries(pair: Pair) -> Queries:
    return load_async_queries(pair.project / "sql")


async def until(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """``check()``'s first true result, polled; the test fails naming ``what`` after WAIT s."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    pytest.fail(f"{what}: not within {WAIT:g} s")


async def serving(db: AsyncDatabase) -> None:
    """Wait until the standby serves reads (its monitor saw it answer, within the lag limit)."""
    assert db.replicas is not None

    async def check() -> bool:
        assert db.replicas is not None
        return all(stats.serving for stats in db.replicas.statistics())

    await until(check, "the standby serving reads")


def new_note(pair: Pair, body: str) -> int:
    """A note written on the primary directly (outside any scope); its id."""
    with psycopg.connect(pair.primary_url, autocommit=True) as conn:
        row = conn.execute("INSERT INTO notes (body) VALUES (%s) RETURNING id", (body,)).fetchone()
    assert row is not None
    return int(row[0])


def replayed(url: str, note_id: int) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM notes WHERE id = %s", (note_id,)).fetchone() is not None


async def on_standby(url: str, note_id: int) -> None:
    async def check() -> bool:
        return replayed(url, note_id)

    await until(check, f"note {note_id} replayed on the standby")


async def test_a_marked_read_is_served_by_the_standby(pair: Pair) -> None:
    q = queries(pair)
    note_id = new_note(pair, "served")
    await on_standby(pair.standby_url, note_id)
    async with database(settings_for(pair)) as db:
        await serving(db)
        marked = await db.unit().run(q.notes.get_note, note_id=note_id)
        assert marked == {"body": "served", "on_standby": True, "read_only": True}
        unmarked = await db.unit().run(q.notes.get_note_unmarked, note_id=note_id)
        assert unmarked == {"body": "served", "on_standby": False, "read_only": False}
        # A unit opened with replica=True reads on a replica too; a read-only one does not.
        async with db.transaction(replica=True) as conn:
            cursor = await conn.execute("SELECT pg_is_in_recovery()")
            assert await cursor.fetchone() == (True,)
        async with db.transaction(read_only=True) as conn:
            cursor = await conn.execute("SELECT pg_is_in_recovery()")
            assert await cursor.fetchone() == (False,)
        assert db.replicas is not None
        assert db.replicas.statistics()[0].reads >= 2


def test_the_sync_runtime_routes_alike(pair: Pair) -> None:
    note_id = new_note(pair, "served in sync")
    settings = settings_for(pair)
    q = load_queries(pair.project / "sql")
    with open_pool(settings) as pool, open_replicas(settings) as replicas:
        db = Database(pool, settings, replicas=replicas)
        deadline = time.monotonic() + WAIT
        while not (replicas.statistics()[0].serving and replayed(pair.standby_url, note_id)):
            assert time.monotonic() < deadline, "the note replayed, the standby serving"
            time.sleep(0.05)
        row = db.unit().run(q.notes.get_note, note_id=note_id)
        assert row == {"body": "served in sync", "on_standby": True, "read_only": True}
        with db.transaction(replica=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)


async def test_a_read_after_a_write_in_the_scope_sees_it_while_replay_is_paused(
    pair: Pair,
) -> None:
    q = queries(pair)
    # A lag limit no test reaches: only the scope keeps this read off the paused standby.
    async with database(settings_for(pair, replica_max_lag_ms=600_000)) as db:
        await serving(db)
        with pair.servers.replay_paused():
            scope = Scope()
            with scope.active():
                note = await db.unit().run(q.notes.create_note, body="mine")
                mine = await db.unit().run(q.notes.get_note, note_id=note["id"])
            assert mine == {"body": "mine", "on_standby": False, "read_only": True}
            assert scope.token() != ""
            # Outside the scope the paused standby serves the read, and has not the note.
            assert await db.unit().run(q.notes.get_note, note_id=note["id"]) is None


async def test_once_replayed_the_scope_reads_from_the_standby_again(pair: Pair) -> None:
    q = queries(pair)
    async with database(settings_for(pair, replica_max_lag_ms=600_000)) as db:
        await serving(db)
        scope = Scope()
        with pair.servers.replay_paused(), scope.active():
            note = await db.unit().run(q.notes.create_note, body="later")
            first = await db.unit().run(q.notes.get_note, note_id=note["id"])
            assert first is not None
            assert first["on_standby"] is False

        async def from_standby() -> dict[str, Any] | None:
            with scope.active():
                row: dict[str, Any] | None = await db.unit().run(
                    q.notes.get_note, note_id=note["id"]
                )
            return row if row is not None and row["on_standby"] else None

        again = await until(from_standby, "the scope's read served by the standby after replay")
        assert again["body"] == "later"


SCOPED_READS = """\
import json, sys, time
from plainsql import Database, Scope, load_queries, load_settings, open_pool, open_replicas

settings = load_settings()
q = load_queries(settings.sql_dir)
with open_pool(settings) as pool, open_replicas(settings) as replicas:
    db = Database(pool, settings, replicas=replicas)
    while not all(r.serving for r in replicas.statistics()):
        time.sleep(0.05)
    print("ready", flush=True)
    for line in sys.stdin:  # a request: "<token> <note id>"
        token, note_id = line.split(" ")
        with Scope.from_token(token).active():
            print(json.dumps(db.unit().run(q.notes.get_note, note_id=int(note_id))), flush=True)
"""


def test_a_scope_carried_as_a_string_to_another_process_keeps_the_guarantee(
    pair: Pair,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PLAINSQL_"))}
    env |= {
        "DATABASE_URL": pair.primary_url,
        "PLAINSQL_REPLICA_URLS": pair.standby_url,
        "PLAINSQL_REPLICA_MAX_LAG": "10min",
        "PLAINSQL_REPLICA_POLL": "50ms",
        "PLAINSQL_PROJECT_DIR": str(pair.project),
    }
    # Another process of the application (a second web worker), running before the write.
    other = subprocess.Popen(
        [sys.executable, "-c", SCOPED_READS],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdin is not None
    assert other.stdout is not None
    stdin, stdout = other.stdin, other.stdout

    def read_elsewhere(token: str, note_id: int) -> Any:
        stdin.write(f"{token} {note_id}\n")
        stdin.flush()
        return json.loads(stdout.readline())

    # This process writes with the sync runtime (the other reads with it too).
    settings = settings_for(pair, replica_max_lag_ms=600_000)
    q = load_queries(pair.project / "sql")
    try:
        assert stdout.readline() == "ready\n"
        with (
            open_pool(settings) as pool,
            open_replicas(settings) as replicas,
            pair.servers.replay_paused(),
        ):
            db = Database(pool, settings, replicas=replicas)
            scope = Scope()
            with scope.active():
                note = db.unit().run(q.notes.create_note, body="carried")
            token = scope.token()
            assert read_elsewhere(token, note["id"]) == {
                "body": "carried",
                "on_standby": False,
                "read_only": True,
            }
            # Without the token the other process reads from the paused standby.
            assert read_elsewhere("", note["id"]) is None
    finally:
        stdin.close()
        assert other.wait(timeout=60) == 0


@pytest.fixture
def second_standby(pair: Pair) -> Iterator[Path]:
    """A standby of this test's own (the test stops it)."""
    pgdata = pair.servers.folder / "second"
    embedded.start_standby(pair.servers.primary, pgdata)
    try:
        yield pgdata
    finally:
        embedded.stop(pgdata)
        shutil.rmtree(pgdata, ignore_errors=True)


async def test_a_stopped_standby_sends_reads_to_the_primary_without_an_error(
    pair: Pair, second_standby: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="plainsql.replicas")
    q = queries(pair)
    url = embedded.url_for(embedded.status(second_standby), "notes")
    url = url.replace("postgres@", f"postgres:{PASSWORD}@")  # a trust server ignores it
    note_id = new_note(pair, "kept")
    await on_standby(url, note_id)
    async with database(settings_for(pair, url)) as db:
        await serving(db)
        first = await db.unit().run(q.notes.get_note, note_id=note_id)
        assert first == {"body": "kept", "on_standby": True, "read_only": True}

        embedded.stop(second_standby)
        for _ in range(5):  # at once, and on: the first may meet a connection just closed
            row = await db.unit().run(q.notes.get_note, note_id=note_id)
            assert row == {"body": "kept", "on_standby": False, "read_only": True}
        assert db.replicas is not None
        stats = db.replicas.statistics()[0]
        assert not stats.serving
        assert "unreachable" in stats.reason
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("replica-1" in text and "unreachable" in text for text in warned)
        assert not [r for r in caplog.records if PASSWORD in r.getMessage()]

        # Taken back once it answers again.
        embedded.start_standby(pair.servers.primary, second_standby)

        async def from_standby() -> dict[str, Any] | None:
            row: dict[str, Any] | None = await db.unit().run(q.notes.get_note, note_id=note_id)
            return row if row is not None and row["on_standby"] else None

        await until(from_standby, "reads served by the restarted standby")
        served = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert any(text.startswith("replica-1 (") and "serves reads" in text for text in served)
        assert not [r for r in caplog.records if PASSWORD in r.getMessage()]


async def test_a_standby_past_the_lag_limit_sends_reads_to_the_primary(pair: Pair) -> None:
    q = queries(pair)
    async with database(settings_for(pair, replica_max_lag_ms=300)) as db:
        await serving(db)
        assert db.replicas is not None
        replicas = db.replicas
        with pair.servers.replay_paused():
            note_id = new_note(pair, "fresh")  # the primary moves on; the standby does not

            async def behind() -> bool:
                return not replicas.statistics()[0].serving

            await until(behind, "the paused standby found behind the lag limit")
            assert "behind the primary" in replicas.statistics()[0].reason
            row = await db.unit().run(q.notes.get_note, note_id=note_id)
            assert row == {"body": "fresh", "on_standby": False, "read_only": True}
        await serving(db)  # replayed: within the limit again
        row = await db.unit().run(q.notes.get_note, note_id=note_id)
        assert row == {"body": "fresh", "on_standby": True, "read_only": True}


async def test_stats_shows_each_replicas_lag_and_the_queries_it_served(pair: Pair) -> None:
    with psycopg.connect(pair.primary_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS plainsql")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA plainsql")
    env = {"DATABASE_URL": pair.primary_url, "PLAINSQL_REPLICA_URLS": pair.standby_url}

    def stats(*args: str) -> Any:
        done = CliRunner().invoke(
            cli, ["--project-dir", str(pair.project), "stats", "--json", *args], env=env
        )
        assert done.exit_code == 0, done.output
        return json.loads(done.output)

    with pair.servers.replay_paused():
        new_note(pair, "unreplayed")
        (paused,) = stats()["replicas"]
        assert paused["name"] == "replica-1"
        assert paused["state"] == "replay paused"
        assert paused["behind_bytes"] > 0

    async def caught_up() -> bool:
        (lag,) = stats()["replicas"]
        return bool(lag["state"] == "streaming" and lag["behind_bytes"] == 0)

    await until(caught_up, "the standby caught up in plainsql stats")

    q = queries(pair)
    note_id = new_note(pair, "counted")
    await on_standby(pair.standby_url, note_id)
    async with database(settings_for(pair)) as db:
        await serving(db)
        row = await db.unit().run(q.notes.get_note, note_id=note_id)
        assert row is not None
        assert row["on_standby"] is True
    served = stats("--replica", "1")
    assert served["server"] == "replica-1"
    calls = {query["name"]: query["calls"] for query in served["queries"]}
    assert calls.get("notes.get_note", 0) >= 1
    assert "notes.create_note" not in calls  # writes ran on the primary only


def test_the_docs_snippet_runs_as_written(pair: Pair) -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "replicas.md"
    (snippet,) = re.findall(r"```python\n(.*?)```", docs.read_text(), re.DOTALL)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PLAINSQL_"))}
    env |= {
        "DATABASE_URL": pair.primary_url,
        "PLAINSQL_REPLICA_URLS": pair.standby_url,
        "PLAINSQL_PROJECT_DIR": str(pair.project),
    }
    done = subprocess.run(
        [sys.executable, "-c", snippet],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "read: True\nread: True\nreplicas: ['replica-1']\n"
