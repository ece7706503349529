"""The query cache and the read deduplication (runtime/cache_async.py, runtime/_reuse.py).

A small project of its own: teams' notes under row-level security, whose policy calls a
SECURITY DEFINER SQL function reading ``members`` (so the cache must watch a table the query
never names), a PL/pgSQL function whose reads the server cannot tell, and a role the policy
applies to. ``plainsql cache migration`` writes the trigger migration once per module; the
migrations build one database the module's tests share, each with notes of its own teams.
Every write another process makes is waited for by its notification, never by a clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from click.testing import CliRunner

import plainsql
from plainsql import AsyncDatabase, Database, Settings, errors, naming
from plainsql.cli import cli
from plainsql.config import DatabaseSource
from plainsql.migrate.runner import Migrator
from plainsql.server import scratch_database
from plainsql.testing import TestServer, unique_name

from ..fixtures import write_migration

ROLE = "plainsql_test_cache_member"  # roles are the cluster's: this suite's own name
SETTING = "app.user_id"

MIGRATION = f"""\
-- 0001_notes: teams' notes, readable by the team's members (a policy through a function).
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        CREATE ROLE {ROLE} NOLOGIN;
    END IF;
END $$;
CREATE TABLE teams (
    name text NOT NULL,
    CONSTRAINT teams_pkey PRIMARY KEY (name)
);
CREATE TABLE members (
    team text NOT NULL,
    user_id text NOT NULL,
    CONSTRAINT members_pkey PRIMARY KEY (team, user_id),
    CONSTRAINT members_team_fkey FOREIGN KEY (team) REFERENCES teams (name) ON DELETE CASCADE
);
CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY,
    team text NOT NULL,
    body text NOT NULL,
    CONSTRAINT notes_pkey PRIMARY KEY (id)
);
CREATE INDEX notes_team_idx ON notes (team);
CREATE FUNCTION acting_user() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('{SETTING}', true), '') $$;
CREATE FUNCTION is_member(checked_team text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path TO public, pg_temp
    AS $$ SELECT EXISTS (
        SELECT 1 FROM members WHERE team = checked_team AND user_id = acting_user()
    ) $$;
CREATE FUNCTION note_count() RETURNS bigint LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN (SELECT count(*) FROM notes); END $$;
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_members_read ON notes FOR SELECT TO {ROLE} USING (is_member(team));
CREATE POLICY notes_members_write ON notes FOR UPDATE TO {ROLE} USING (is_member(team));
GRANT SELECT, INSERT, UPDATE, DELETE ON notes, members TO {ROLE};
"""
ROLLBACK = """\
DROP FUNCTION note_count();
DROP TABLE notes;
DROP FUNCTION is_member(text);
DROP FUNCTION acting_user();
DROP TABLE members;
DROP TABLE teams;
"""
QUERIES = """\
-- name: list_notes_by_team(team)
-- The team's notes, oldest first (its members only: the policy).
-- plainsql: cache ttl=60s
SELECT id, body FROM notes WHERE team = :team ORDER BY id;

-- name: count_notes()$
-- How many notes the acting user may read (counted by a PL/pgSQL function).
-- plainsql: cache ttl=60s tables=notes
SELECT note_count() AS notes;

-- name: get_note_by_body(team, body)^
-- The team's note with this body, or nothing.
-- plainsql: cache ttl=60s
SELECT id, body FROM notes WHERE team = :team AND body = :body;

-- name: get_note_by_id(id)^
-- The note with this id, or nothing (not cached: the deduplication's read).
SELECT id, body FROM notes WHERE id = :id;

-- name: get_any_note()^
-- One note at random (VOLATILE: never deduplicated).
SELECT id, body FROM notes ORDER BY random() LIMIT 1;

-- name: get_hundred_per_note_by_team(team)$
-- 100 divided by the team's notes (not cached): fails (division by zero) while it has none.
SELECT 100 / count(*) AS hundred_per_note FROM notes WHERE team = :team;

-- name: update_note_body(id, body)!
-- Changes a note's body.
UPDATE notes SET body = :body WHERE id = :id;
"""


def run_cli(project: Path, url: str, *args: str) -> Any:
    return CliRunner().invoke(
        cli, ["--project-dir", str(project), *args], env={"DATABASE_URL": url}
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cache_project")
    (folder / "pyproject.toml").write_text(
        f'[tool.plainsql]\nacting-user-setting = "{SETTING}"\ntransaction-role = "{ROLE}"\n'
    )
    write_migration(folder, "0001_notes", MIGRATION, ROLLBACK)
    (folder / "sql" / "notes").mkdir(parents=True)
    (folder / "sql" / "notes" / "notes.sql").write_text(QUERIES)
    return folder


@pytest.fixture(scope="module")
def database(project: Path, plainsql_server: TestServer) -> Iterator[str]:
    """The module's database: the project's migrations with the cache's trigger migration,
    written by ``plainsql cache migration`` (checked in test_cache_setup.py)."""
    with scratch_database(
        plainsql_server.settings, "cache", conninfo=plainsql_server.admin_conninfo
    ) as url:
        done = run_cli(project, url, "cache", "migration")
        assert done.exit_code == 0, done.output
        with Migrator(project_settings(plainsql_server, project, url), url) as migrator:
            migrator.migrate()
        yield url


def project_settings(server: TestServer, project: Path, url: str) -> Settings:
    return replace(
        server.settings,
        project_dir=project,
        database_url=url,
        source=DatabaseSource.ENVIRONMENT,
        direct_url=None,
        transaction_pooler=False,
        migrations_path=Path("migrations"),
        sql_path=Path("sql"),
        acting_user_setting=SETTING,
        transaction_role=ROLE,
    )


@pytest.fixture
def settings(plainsql_server: TestServer, project: Path, database: str) -> Settings:
    return project_settings(plainsql_server, project, database)


@pytest.fixture
def team(database: str) -> Iterator[str]:
    """A team of this test's own, whose members are 'ann' and 'bea', with two notes."""
    name = unique_name("team")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO teams (name) VALUES (%s)", (name,))
        conn.execute(
            "INSERT INTO members (team, user_id) VALUES (%s, 'ann'), (%s, 'bea')", (name, name)
        )
        conn.execute(
            "INSERT INTO notes (team, body) VALUES (%s, 'first'), (%s, 'second')", (name, name)
        )
    yield name
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DELETE FROM notes WHERE team = %s", (name,))
        conn.execute("DELETE FROM teams WHERE name = %s", (name,))


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    async with plainsql.open_async_pool(settings) as pool:
        yield AsyncDatabase(pool, settings)


@pytest.fixture
def q(settings: Settings) -> Any:
    return plainsql.load_async_queries(settings.sql_dir, settings=settings)


async def notes_of(db: AsyncDatabase, q: Any, team: str, user: str) -> list[str]:
    rows = await db.unit(acting_user=user, read_only=True).run(
        q.notes.list_notes_by_team, team=team
    )
    return [row["body"] for row in rows]


def another_process_runs(url: str, statement: str, *params: str) -> None:
    """``statement`` committed by a Python process of its own (a plain psycopg connection)."""
    code = (
        "import psycopg, sys; "
        "psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2], sys.argv[3:])"
    )
    subprocess.run([sys.executable, "-c", code, url, statement, *params], check=True, timeout=60)


# -- 1. deduplication -------------------------------------------------------------------------


def statement_calls(url: str, name: str) -> int:
    """The calls pg_stat_statements counted in this database for the statements named ``name``."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT s.query, s.calls FROM plainsql.pg_stat_statements AS s"
            " WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    return sum(int(calls) for text, calls in rows if name in naming.names_in(text))


@pytest.fixture
def counted(database: str, settings: Settings) -> str:
    """The database, its pg_stat_statements entries forgotten (created where the embedded
    server preloads it; elsewhere the test is skipped: this suite never reconfigures a server)."""
    from plainsql import stats

    try:
        with stats.open_stats(settings, database) as (conn, schema):
            stats.reset(conn, schema)
    except errors.StatsUnavailable:
        with psycopg.connect(database, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA plainsql")
                conn.execute("SELECT plainsql.pg_stat_statements_reset()")
            except psycopg.Error as exc:
                pytest.skip(f"pg_stat_statements is not loaded on this server: {exc}")
    return database


async def test_a_deduplicated_read_runs_once(
    counted: str, db: AsyncDatabase, q: Any, team: str
) -> None:
    with psycopg.connect(counted) as conn:
        row = conn.execute("SELECT min(id) FROM notes WHERE team = %s", (team,)).fetchone()
    note = row[0] if row else None
    get = q.notes.get_note_by_id
    with plainsql.deduplicate_reads() as scope:
        found = [
            await db.unit(acting_user="ann", read_only=True).run(get, id=note) for _ in range(3)
        ]
    assert [f["body"] for f in found] == ["first"] * 3
    assert (scope.ran, scope.reused) == (1, 2)
    assert statement_calls(counted, "notes.get_note_by_id") == 1
    # Without a scope, each call runs: the counter counts every one.
    for _ in range(3):
        await db.unit(acting_user="ann", read_only=True).run(get, id=note)
    assert statement_calls(counted, "notes.get_note_by_id") == 4


async def test_a_write_in_the_scope_empties_it(
    db: AsyncDatabase, q: Any, team: str, database: str
) -> None:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT min(id) FROM notes WHERE team = %s", (team,)).fetchone()
    note = row[0] if row else None
    with plainsql.deduplicate_reads() as scope:
        before = await db.unit(acting_user="ann", read_only=True).run(
            q.notes.get_note_by_id, id=note
        )
        async with db.transaction(acting_user="ann") as conn:
            await q.notes.update_note_body(conn, id=note, body="rewritten")
        after = await db.unit(acting_user="ann", read_only=True).run(
            q.notes.get_note_by_id, id=note
        )
    assert (before["body"], after["body"]) == ("first", "rewritten")
    assert scope.ran == 2
    assert scope.reused == 0


async def test_a_volatile_read_runs_every_time(db: AsyncDatabase, q: Any, team: str) -> None:
    with plainsql.deduplicate_reads() as scope:
        for _ in range(3):
            await db.unit(acting_user="ann", read_only=True).run(q.notes.get_any_note)
    assert (scope.ran, scope.reused, scope.cleared) == (0, 0, 3)


async def test_deduplication_keys_on_the_acting_user_and_parameters(
    db: AsyncDatabase, q: Any, team: str
) -> None:
    with plainsql.deduplicate_reads() as scope:
        assert await notes_of(db, q, team, "ann") == ["first", "second"]
        assert await notes_of(db, q, team, "zoe") == []  # not a member: not ann's result
        assert await notes_of(db, q, team + "x", "ann") == []
        assert await notes_of(db, q, team, "ann") == ["first", "second"]
    assert (scope.ran, scope.reused) == (3, 1)


# -- 2. invalidation ---------------------------------------------------------------------------


async def test_another_process_write_invalidates_once_notified(
    db: AsyncDatabase, q: Any, team: str, database: str
) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        assert await notes_of(db, q, team, "ann") == ["first", "second"]
        assert await notes_of(db, q, team, "ann") == ["first", "second"]
        assert cache.stats()["notes.list_notes_by_team"].hits == 1
        seen = cache.notifications
        another_process_runs(database, "INSERT INTO notes (team, body) VALUES (%s, 'third')", team)
        await cache.wait_for_notification(seen)
        assert await notes_of(db, q, team, "ann") == ["first", "second", "third"]
        counts = cache.stats()["notes.list_notes_by_team"]
        assert (counts.hits, counts.misses, counts.invalidations) == (1, 2, 1)


async def test_a_write_through_psql_invalidates(
    db: AsyncDatabase, q: Any, team: str, database: str
) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("no psql client on this machine")
    async with plainsql.open_async_cache(db, q) as cache:
        assert await notes_of(db, q, team, "bea") == ["first", "second"]
        seen = cache.notifications
        statement = f"UPDATE notes SET body = 'from psql' WHERE team = '{team}' AND body = 'first'"
        command = [psql, database, "-v", "ON_ERROR_STOP=1", "-c", statement]
        subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: ASYNC221
        await cache.wait_for_notification(seen)
        assert await notes_of(db, q, team, "bea") == ["from psql", "second"]
        assert cache.stats()["notes.list_notes_by_team"].misses == 2


async def test_a_dropped_listener_empties_the_cache(
    db: AsyncDatabase, q: Any, team: str, database: str
) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        assert await notes_of(db, q, team, "ann") == ["first", "second"]
        assert len(cache.store) == 1
        drops = cache.drops
        with psycopg.connect(database, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (cache.listener_pid,))
            await cache.wait_for_drop(drops)
            assert len(cache.store) == 0
            # Written while the cache may not listen: no notification will ever tell it.
            admin.execute(
                "UPDATE notes SET body = 'unheard' WHERE team = %s AND body = 'first'", (team,)
            )
        assert await notes_of(db, q, team, "ann") == ["unheard", "second"]
        await cache.wait_until_listening()
        assert await notes_of(db, q, team, "ann") == ["unheard", "second"]
        assert await notes_of(db, q, team, "ann") == ["unheard", "second"]
        counts = cache.stats()["notes.list_notes_by_team"]
        assert counts.hits >= 1  # it serves again once it listens again


async def test_a_hit_takes_no_connection(db: AsyncDatabase, q: Any, team: str) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        assert await notes_of(db, q, team, "ann") == ["first", "second"]
        before = db.pool.get_stats().get("requests_num", 0)
        for _ in range(5):
            assert await notes_of(db, q, team, "ann") == ["first", "second"]
        assert cache.stats()["notes.list_notes_by_team"].hits == 5
        # unit.one(): a kept row is returned, a kept "no row" raises the declared error.
        unit, get = db.unit(acting_user="ann", read_only=True), q.notes.get_note_by_body
        for _ in range(2):
            row = await unit.one(LookupError("none"), get, team=team, body="second")
            assert row["body"] == "second"
            with pytest.raises(LookupError, match="none"):
                await unit.one(LookupError("none"), get, team=team, body="absent")
        assert db.pool.get_stats().get("requests_num", 0) == before + 2  # the two misses
        counts = cache.stats()["notes.get_note_by_body"]
        assert (counts.hits, counts.misses) == (2, 2)


# -- 3. users ----------------------------------------------------------------------------------


async def test_user_b_never_receives_a_result_cached_for_user_a(
    db: AsyncDatabase, q: Any, team: str
) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        assert await notes_of(db, q, team, "ann") == ["first", "second"]
        assert await notes_of(db, q, team, "ann") == ["first", "second"]  # a hit
        assert await notes_of(db, q, team, "zoe") == []  # same query and parameters
        # The login role (no transaction role) sees every row: its own entry, never ann's.
        login = db.with_transaction_role(None)
        rows = await login.unit(acting_user="zoe", read_only=True).run(
            q.notes.list_notes_by_team, team=team
        )
        assert [r["body"] for r in rows] == ["first", "second"]
        assert await notes_of(db, q, team, "zoe") == []
        counts = cache.stats()["notes.list_notes_by_team"]
        assert (counts.hits, counts.misses) == (2, 3)


async def test_a_removed_member_stops_seeing_cached_rows_once_notified(
    db: AsyncDatabase, q: Any, team: str, database: str
) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        assert await notes_of(db, q, team, "bea") == ["first", "second"]
        assert await notes_of(db, q, team, "bea") == ["first", "second"]
        seen = cache.notifications
        # members is read by the policy's function only: the cache watches it all the same.
        another_process_runs(
            database, "DELETE FROM members WHERE team = %s AND user_id = 'bea'", team
        )
        await cache.wait_for_notification(seen)
        assert await notes_of(db, q, team, "bea") == []
        assert await notes_of(db, q, team, "ann") == ["first", "second"]


async def test_a_cascade_invalidates(db: AsyncDatabase, q: Any, team: str, database: str) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        assert await notes_of(db, q, team, "ann") == ["first", "second"]
        seen = cache.notifications
        # teams is read by no cached query: its delete cascades to members, which notifies.
        another_process_runs(database, "DELETE FROM teams WHERE name = %s", team)
        await cache.wait_for_notification(seen)
        assert "public.teams" not in cache.tables.values()
        assert await notes_of(db, q, team, "ann") == []


# -- what the server cannot tell, and the bounds ----------------------------------------------


async def test_listed_tables_make_an_unknown_read_cacheable(
    db: AsyncDatabase, q: Any, team: str, database: str
) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        assert "notes.count_notes" in cache.reads
        assert any(
            "note_count() is LANGUAGE plpgsql" in r
            for r in cache.reads["notes.count_notes"].unknown
        )
        count = db.unit(acting_user="ann", read_only=True)
        first = await count.run(q.notes.count_notes)
        assert await count.run(q.notes.count_notes) == first
        seen = cache.notifications
        another_process_runs(database, "INSERT INTO notes (team, body) VALUES (%s, 'more')", team)
        await cache.wait_for_notification(seen)
        assert await count.run(q.notes.count_notes) == first + 1


async def test_a_query_whose_reads_cannot_be_known_is_refused(
    db: AsyncDatabase, tmp_path: Path, settings: Settings
) -> None:
    (tmp_path / "counts.sql").write_text(
        "-- name: count_notes()$\n-- How many.\n-- plainsql: cache ttl=5s\n"
        "SELECT note_count() AS n;\n"
    )
    unknown = plainsql.load_async_queries(tmp_path, settings=settings)
    with pytest.raises(errors.CacheError) as caught:
        async with plainsql.open_async_cache(db, unknown):
            pass
    message = str(caught.value)
    assert "counts.sql:1: count_notes: not cacheable" in message
    assert "note_count() is LANGUAGE plpgsql" in message
    assert "tables=" in message


async def test_a_table_without_its_trigger_refuses_to_open(
    db: AsyncDatabase, q: Any, database: str
) -> None:
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute("ALTER TABLE members DISABLE TRIGGER plainsql_cache_notify")
        try:
            with pytest.raises(
                errors.CacheError,
                match=r"table public\.members \(read by notes\.count_notes, "
                r"notes\.get_note_by_body, notes\.list_notes_by_team\) has no "
                "plainsql_cache_notify trigger",
            ):
                async with plainsql.open_async_cache(db, q):
                    pass
        finally:
            admin.execute("ALTER TABLE members ENABLE ALWAYS TRIGGER plainsql_cache_notify")
    assert q.driver_adapter.cache is None


async def test_the_cache_is_bounded_and_counts_its_evictions(
    db: AsyncDatabase, q: Any, team: str
) -> None:
    async with plainsql.open_async_cache(db, q, max_entries=2) as cache:
        for user in ("ann", "bea", "zoe", "ann"):
            await notes_of(db, q, team, user)
        assert len(cache.store) == 2
        counts = cache.stats()["notes.list_notes_by_team"]
        assert (counts.misses, counts.evictions) == (4, 2)  # ann was evicted by zoe


async def test_a_read_write_unit_neither_serves_nor_keeps(
    db: AsyncDatabase, q: Any, team: str
) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        async with db.transaction(acting_user="ann") as conn:
            await q.notes.list_notes_by_team(conn, team=team)
            await conn.execute("UPDATE notes SET body = 'mine' WHERE team = %s", (team,))
            rows = await q.notes.list_notes_by_team(conn, team=team)
            assert [r["body"] for r in rows] == ["mine", "mine"]  # its own write, not a cache
        assert len(cache.store) == 0
        assert cache.stats()["notes.list_notes_by_team"].misses == 0


async def test_the_counters_reach_plainsql_cache_stats(
    db: AsyncDatabase, q: Any, team: str, database: str
) -> None:
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute("DELETE FROM plainsql.cache_stats")
    async with plainsql.open_async_cache(db, q):
        for _ in range(3):
            await notes_of(db, q, team, "ann")
    with psycopg.connect(database, autocommit=True) as admin:
        row = admin.execute(
            "SELECT hits, misses FROM plainsql.cache_stats"
            " WHERE query_name = 'notes.list_notes_by_team'"
        ).fetchone()
    assert row == (2, 1)


async def test_plainsql_stats_shows_the_cache_counters(
    counted: str, db: AsyncDatabase, q: Any, team: str, project: Path
) -> None:
    with psycopg.connect(counted, autocommit=True) as admin:
        admin.execute("DELETE FROM plainsql.cache_stats")
    async with plainsql.open_async_cache(db, q):
        for user in ("ann", "ann", "ann", "bea"):
            await notes_of(db, q, team, user)
    shown = run_cli(project, counted, "stats", "--json")
    assert shown.exit_code == 0, shown.output
    [entry] = json.loads(shown.output)["cache"]
    assert entry["name"] == "notes.list_notes_by_team"
    assert (entry["hits"], entry["misses"], entry["evictions"]) == (2, 2, 0)
    assert entry["hit_ratio"] == 0.5
    text = run_cli(project, counted, "stats").output
    assert "query cache (plainsql.cache_stats" in text
    assert any(
        line.split()[:3] == ["notes.list_notes_by_team", "2", "2"] for line in text.splitlines()
    )


def test_the_sync_cache_serves_and_is_invalidated(
    settings: Settings, team: str, database: str
) -> None:
    q: Any = plainsql.load_queries(settings.sql_dir, settings=settings)
    with (
        plainsql.open_pool(settings) as pool,
        plainsql.open_cache(Database(pool, settings), q) as cache,
    ):
        db = Database(pool, settings)
        read = db.unit(acting_user="ann", read_only=True)
        assert [r["body"] for r in read.run(q.notes.list_notes_by_team, team=team)] == [
            "first",
            "second",
        ]
        assert [r["body"] for r in read.run(q.notes.list_notes_by_team, team=team)] == [
            "first",
            "second",
        ]
        seen = cache.notifications
        another_process_runs(database, "DELETE FROM notes WHERE team = %s AND body = 'first'", team)
        cache.wait_for_notification(seen)
        assert [r["body"] for r in read.run(q.notes.list_notes_by_team, team=team)] == ["second"]
        counts = cache.stats()["notes.list_notes_by_team"]
        assert (counts.hits, counts.misses) == (1, 2)


async def test_the_cache_logs_tables_queries_and_counts_never_values(
    db: AsyncDatabase, q: Any, team: str, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="plainsql.cache")
    user = "acting-user-5e1f"  # neither it nor the team (a parameter) may reach a record
    async with plainsql.open_async_cache(db, q) as cache:
        with plainsql.deduplicate_reads():
            await db.unit(acting_user=user, read_only=True).run(
                q.notes.list_notes_by_team, team=team
            )
        seen = cache.notifications
        another_process_runs(database, "UPDATE notes SET body = body WHERE team = %s", team)
        await cache.wait_for_notification(seen)
        drops = cache.drops
        with psycopg.connect(database, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (cache.listener_pid,))
        await cache.wait_for_drop(drops)
        await cache.wait_until_listening()
    records = [r for r in caplog.records if r.name == "plainsql.cache"]
    messages = [r.getMessage() for r in records]
    assert (
        "query cache open: 3 queries, 2 tables watched (public.members, public.notes), "
        "at most 10000 results"
    ) in messages
    assert "notes.list_notes_by_team: a read" in messages
    assert any(
        m.startswith("public.notes written (server process ")
        and m.endswith(
            "entries of notes.count_notes, notes.get_note_by_body, notes.list_notes_by_team dropped"
        )
        for m in messages
    ), messages
    dropped = [r for r in records if "listening connection dropped" in r.getMessage()]
    assert [r.levelno for r in dropped] == [logging.WARNING]
    assert any(m.startswith("the query cache listens again (server process ") for m in messages)
    assert messages[-1] == "query cache closed"
    for record in caplog.records:
        assert user not in record.getMessage()
        assert team not in record.getMessage()
        assert team not in repr(vars(record))


# -- 4. concurrent identical reads (single flight) --------------------------------------------
#
# A read is held on the server by a lock on members, which the notes policy's function reads
# while the read runs (after its snapshot was taken): the test sees it waiting in
# pg_stat_activity, and lets it go by releasing the lock. Timeouts guard against a hang only.

HANG_GUARD = 60.0
T = TypeVar("T")
# What pg_stat_statements shows of each query (the text it first saw for it may be that of
# the PREPARE with which the cache or the scope asked the server about it: no name in it).
BY_ID = "FROM notes WHERE id = $1"
BY_TEAM = "FROM notes WHERE team = $1 ORDER BY id"
HUNDRED = "count(*) AS hundred_per_note"


def executions(url: str, fragment: str) -> int:
    """The calls pg_stat_statements counted in this database for the statements holding
    ``fragment`` (only those that completed: a failed or cancelled one is not counted)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(s.calls), 0) FROM plainsql.pg_stat_statements AS s"
            " WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND strpos(s.query, %s) > 0",
            (fragment,),
        ).fetchone()
    return int(row[0]) if row else 0


class MembersLocked:
    """``LOCK TABLE members`` held by a connection of the test's own (taken once a cache
    opened: it reads members when it opens), and what waits on it."""

    def __init__(self, database: str) -> None:
        self.admin = psycopg.connect(database)
        self.locked = False

    def lock(self) -> None:
        if not self.locked:
            self.admin.execute("LOCK TABLE members IN ACCESS EXCLUSIVE MODE")
            self.locked = True

    async def held(self, read: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """``read`` started, once it waits on the lock (taken now if not yet): on the server."""
        self.lock()
        waiting = len(self.waiting())
        task = asyncio.create_task(read)
        await self.until_waiting(waiting + 1)
        return task

    async def led(
        self, read: Callable[[], Coroutine[Any, Any, T]], waiters: int
    ) -> tuple[asyncio.Task[T], list[asyncio.Task[T]]]:
        """A leader running ``read()``, held on the server, and ``waiters`` identical reads
        started after it, each of which has looked (and found the leader's read under way)."""
        leader = await self.held(read())
        started = [asyncio.create_task(read()) for _ in range(waiters)]
        await asyncio.sleep(0)  # each runs to its first wait: for the leader, holding nothing
        return leader, started

    def waiting(self) -> list[int]:
        """The server processes waiting for a lock in this database (the reads held)."""
        with psycopg.connect(self.admin.info.dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database() ORDER BY pid"
            ).fetchall()
        return [int(pid) for (pid,) in rows]

    async def until_waiting(self, count: int) -> list[int]:
        """Once ``count`` reads wait on the lock (they reached the server)."""
        async with asyncio.timeout(HANG_GUARD):
            while True:
                pids = self.waiting()  # a server's state: nothing to wait on but a poll
                if len(pids) >= count:
                    return pids
                await asyncio.sleep(0.02)

    def until_waiting_sync(self, count: int) -> list[int]:
        deadline = time.monotonic() + HANG_GUARD
        while len(pids := self.waiting()) < count:
            assert time.monotonic() < deadline, "the reads never reached the server"
            time.sleep(0.02)
        return pids

    def release(self) -> None:
        if not self.admin.closed:
            self.admin.rollback()
            self.admin.close()


@pytest.fixture
def members_locked(database: str) -> Iterator[MembersLocked]:
    locked = MembersLocked(database)
    try:
        yield locked
    finally:
        locked.release()


def note_id(database: str, team: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT min(id) FROM notes WHERE team = %s", (team,)).fetchone()
    assert row is not None
    return int(row[0])


async def guarded(*awaitables: Awaitable[Any]) -> list[Any]:
    """The results (or errors) of ``awaitables`` run together, within the hang guard."""
    async with asyncio.timeout(HANG_GUARD):
        return await asyncio.gather(*awaitables, return_exceptions=True)


async def test_concurrent_identical_reads_of_a_scope_run_once(
    counted: str, db: AsyncDatabase, q: Any, team: str, members_locked: MembersLocked
) -> None:
    note = note_id(counted, team)
    unit = db.unit(acting_user="ann", read_only=True)
    with plainsql.deduplicate_reads() as scope:
        # The scope meets the query for the first time: the leader's unit asks the server
        # whether it is a read, then reads, held by the lock.
        requests = db.pool.get_stats().get("requests_num", 0)
        leader, waiters = await members_locked.led(
            lambda: unit.run(q.notes.get_note_by_id, id=note), 4
        )
        assert db.pool.get_stats().get("requests_num", 0) == requests + 1  # the leader's only
        members_locked.release()
        found = await guarded(leader, *waiters)
    assert [row["body"] for row in found] == ["first"] * 5
    assert (scope.ran, scope.reused) == (1, 4)
    assert executions(counted, BY_ID) == 1
    found[0]["body"] = "changed by its caller"
    assert found[1]["body"] == "first"  # each caller has its own copy


async def test_concurrent_identical_misses_of_the_cache_query_the_server_once(
    counted: str, db: AsyncDatabase, q: Any, team: str
) -> None:
    async def request() -> list[str]:
        with plainsql.deduplicate_reads():  # each request its own scope: the cache joins them
            return await notes_of(db, q, team, "ann")

    async with plainsql.open_async_cache(db, q) as cache:
        requests = db.pool.get_stats().get("requests_num", 0)
        found = await guarded(*(request() for _ in range(6)))
        assert found == [["first", "second"]] * 6
        assert db.pool.get_stats().get("requests_num", 0) == requests + 1  # the leader's
        counts = cache.stats()["notes.list_notes_by_team"]
        assert (counts.misses, counts.hits) == (1, 5)
    assert executions(counted, BY_TEAM) == 1


async def test_concurrent_reads_never_share_a_result_across_users_roles_or_parameters(
    counted: str, db: AsyncDatabase, q: Any, team: str
) -> None:
    login = db.with_transaction_role(None)  # the login role: no policy applies to it
    reads = [
        notes_of(db, q, team, "ann"),
        notes_of(db, q, team, "zoe"),  # not a member
        notes_of(db, q, team + "-other", "ann"),
        login.unit(acting_user="zoe", read_only=True).run(q.notes.list_notes_by_team, team=team),
        notes_of(db, q, team, "ann"),
        notes_of(db, q, team, "zoe"),
    ]
    async with plainsql.open_async_cache(db, q):
        with plainsql.deduplicate_reads():
            ann, zoe, other, by_login, ann_again, zoe_again = await guarded(*reads)
    assert ann == ann_again == ["first", "second"]
    assert zoe == zoe_again == other == []
    assert [row["body"] for row in by_login] == ["first", "second"]
    assert executions(counted, BY_TEAM) == 4


async def test_a_read_failing_for_everyone_fails_for_each_caller_and_keeps_nothing(
    counted: str, db: AsyncDatabase, q: Any, team: str
) -> None:
    empty = unique_name("team")  # no note: 100 / 0
    unit = db.unit(acting_user="ann", read_only=True)
    read = q.notes.get_hundred_per_note_by_team
    with plainsql.deduplicate_reads() as scope:
        failed = await guarded(*(unit.run(read, team=empty) for _ in range(4)))
        # Each caller's error comes from its own unit (the waiters ran the read themselves).
        assert all(isinstance(e, errors.QueryError) and e.sqlstate == "22012" for e in failed)
        assert len({id(e) for e in failed}) == 4
        assert (scope.ran, scope.reused) == (0, 0)
        assert await unit.run(read, team=team) == 50  # another team: the read works
        another_process_runs(counted, "INSERT INTO teams (name) VALUES (%s)", empty)
        another_process_runs(
            counted, "INSERT INTO members (team, user_id) VALUES (%s, 'ann')", empty
        )
        another_process_runs(counted, "INSERT INTO notes (team, body) VALUES (%s, 'one')", empty)
        try:
            assert await unit.run(read, team=empty) == 100  # no failure was kept: it runs
            assert await unit.run(read, team=empty) == 100  # and now it is reused
        finally:
            another_process_runs(counted, "DELETE FROM notes WHERE team = %s", empty)
            another_process_runs(counted, "DELETE FROM teams WHERE name = %s", empty)
    assert (scope.ran, scope.reused) == (2, 1)
    assert executions(counted, HUNDRED) == 2


async def test_the_waiters_of_a_leader_that_fails_run_the_read_themselves(
    counted: str, db: AsyncDatabase, q: Any, team: str, members_locked: MembersLocked
) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        leader, waiters = await members_locked.led(lambda: notes_of(db, q, team, "ann"), 3)
        [pid] = members_locked.waiting()
        with psycopg.connect(counted, autocommit=True) as admin:
            admin.execute("SELECT pg_cancel_backend(%s)", (pid,))
        with pytest.raises(errors.QueryCanceled):
            async with asyncio.timeout(HANG_GUARD):
                await leader
        # The leader's error is its own: each waiter now runs the read, in its own unit.
        await members_locked.until_waiting(3)
        members_locked.release()
        assert await guarded(*waiters) == [["first", "second"]] * 3
        assert await notes_of(db, q, team, "ann") == ["first", "second"]  # kept: a hit
        counts = cache.stats()["notes.list_notes_by_team"]
        assert (counts.misses, counts.hits) == (4, 1)
    assert executions(counted, BY_TEAM) == 3  # the cancelled one: not


async def test_a_cancelled_leader_or_waiter_neither_hangs_nor_cancels_the_others(
    counted: str, db: AsyncDatabase, q: Any, team: str, members_locked: MembersLocked
) -> None:
    note = note_id(counted, team)
    unit = db.unit(acting_user="bea", read_only=True)
    with plainsql.deduplicate_reads() as scope:
        leader, waiters = await members_locked.led(
            lambda: unit.run(q.notes.get_note_by_id, id=note), 3
        )
        waiters[0].cancel()  # a waiter gives up: nobody else notices
        [gone] = await guarded(waiters[0])
        assert isinstance(gone, asyncio.CancelledError)
        assert not leader.done()
        leader.cancel()  # the leader gives up: its waiters run the read themselves
        [gone] = await guarded(leader)
        assert isinstance(gone, asyncio.CancelledError)
        await members_locked.until_waiting(2)
        members_locked.release()
        found = await guarded(*waiters[1:])
        assert [row["body"] for row in found] == ["first", "first"]
        again = await unit.run(q.notes.get_note_by_id, id=note)
        assert again["body"] == "first"
    assert (scope.ran, scope.reused) == (2, 1)
    assert executions(counted, BY_ID) == 2


async def test_a_read_begun_after_a_write_in_the_scope_never_gets_an_earlier_result(
    counted: str, db: AsyncDatabase, q: Any, team: str, members_locked: MembersLocked
) -> None:
    note = note_id(counted, team)
    unit = db.unit(acting_user="ann", read_only=True)
    login = db.with_transaction_role(None)  # writes without the policy: members stays locked
    with plainsql.deduplicate_reads() as scope:
        before = await members_locked.held(unit.run(q.notes.get_note_by_id, id=note))
        async with login.transaction(acting_user="ann") as conn:
            await q.notes.update_note_body(conn, id=note, body="rewritten")
        # It reaches the server: it never waits for `before`.
        after = await members_locked.held(unit.run(q.notes.get_note_by_id, id=note))
        members_locked.release()
        found_before, found_after = await guarded(before, after)
        assert found_before["body"] == "first"  # its snapshot was taken before the write
        assert found_after["body"] == "rewritten"
        again = await unit.run(q.notes.get_note_by_id, id=note)
        assert again["body"] == "rewritten"  # the earlier read's result was not kept
    assert scope.reused == 1
    assert executions(counted, BY_ID) == 2


async def test_a_read_begun_after_a_write_was_heard_never_gets_an_earlier_result(
    counted: str, db: AsyncDatabase, q: Any, team: str, members_locked: MembersLocked
) -> None:
    async with plainsql.open_async_cache(db, q) as cache:
        before = await members_locked.held(notes_of(db, q, team, "ann"))
        seen = cache.notifications
        another_process_runs(counted, "INSERT INTO notes (team, body) VALUES (%s, 'third')", team)
        await cache.wait_for_notification(seen)
        after = await members_locked.held(notes_of(db, q, team, "ann"))  # it reaches the server
        members_locked.release()
        assert await guarded(before, after) == [
            ["first", "second"],
            ["first", "second", "third"],
        ]
        assert await notes_of(db, q, team, "ann") == ["first", "second", "third"]
        counts = cache.stats()["notes.list_notes_by_team"]
        assert (counts.misses, counts.hits) == (2, 1)
    assert executions(counted, BY_TEAM) == 2


def test_the_sync_cache_runs_concurrent_identical_misses_once(
    counted: str, settings: Settings, team: str, members_locked: MembersLocked
) -> None:
    q: Any = plainsql.load_queries(settings.sql_dir, settings=settings)
    found: list[Any] = []
    with plainsql.open_pool(settings) as pool:
        unit = Database(pool, settings).unit(acting_user="ann", read_only=True)

        def read() -> None:
            found.append([r["body"] for r in unit.run(q.notes.list_notes_by_team, team=team)])

        with plainsql.open_cache(Database(pool, settings), q) as cache:
            threads = [threading.Thread(target=read) for _ in range(5)]
            members_locked.lock()
            threads[0].start()
            members_locked.until_waiting_sync(1)
            for thread in threads[1:]:
                thread.start()
            # Not needed for the outcome (a thread that looks once the leader landed finds its
            # result kept): it lets the others reach their wait before the leader lands.
            time.sleep(0.2)
            members_locked.release()
            for thread in threads:
                thread.join(HANG_GUARD)
                assert not thread.is_alive()
            assert found == [["first", "second"]] * 5
            counts = cache.stats()["notes.list_notes_by_team"]
            assert (counts.misses, counts.hits) == (1, 4)
    assert executions(counted, BY_TEAM) == 1
