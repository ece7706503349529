"""The runtime through PgBouncer in transaction mode (``transaction-pooler`` declared).

Debian's PgBouncer (1.18, which cannot keep prepared statements) runs in front of an embedded
cluster of the session's own (the root conftest's ``pgbouncer``), with fewer server
connections than the tests have clients, so units of work share server connections. A small
project of the test's own is migrated through the direct URL; then everything goes through
the pooler: units with an acting user and a role, a retried unit, a pipelined batch, the
statement timeout the server enforces, the client's deadline when PgBouncer itself freezes,
session-level statements refused, and a lost prepared statement explained.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import IsolationLevel, sql

from plainsql import (
    AsyncDatabase,
    Database,
    load_async_queries,
    load_queries,
    load_settings,
    open_async_pool,
    open_pool,
)
from plainsql.config import Settings
from plainsql.errors import (
    DeadlineExceeded,
    PreparedStatementLost,
    QueryCanceled,
    SessionRequired,
)
from plainsql.migrate.runner import Migrator
from plainsql.server import session_conninfo
from plainsql.testing import unique_name

from ..fixtures import write_migration

pytestmark = pytest.mark.standalone

CLIENTS = 8  # against 4 server connections per database in PgBouncer
SETTING = "plainsql.acting_user"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_migration(
        tmp_path,
        "0001_counters",
        "-- 0001_counters: counters a unit of work reads and writes.\n"
        "CREATE TABLE counters (id integer PRIMARY KEY, n integer NOT NULL);\n",
        "DROP TABLE counters;\n",
    )
    (tmp_path / "sql" / "counters").mkdir(parents=True)
    (tmp_path / "sql" / "counters" / "counters.sql").write_text(
        "-- name: add_counter(id, n)*!\n-- Adds counters, as one pipelined batch.\n"
        "INSERT INTO counters (id, n) VALUES (:id, :n);\n\n"
        "-- name: count_counters()$\n-- The number of counters.\n"
        "SELECT count(*) FROM counters;\n"
    )
    return tmp_path


@pytest.fixture
def settings(project: Path, pgbouncer: tuple[str, str]) -> Settings:
    """The project's settings, DATABASE_URL through PgBouncer (``?pgbouncer=true``) and
    DIRECT_URL the server's own; migrated through the direct URL."""
    pooled, direct = pgbouncer
    env = {
        "DATABASE_URL": f"{pooled}?pgbouncer=true",
        "DIRECT_URL": direct,
        "PLAINSQL_POOL_MIN_SIZE": str(CLIENTS),
        "PLAINSQL_POOL_MAX_SIZE": str(CLIENTS),
    }
    loaded = load_settings(env, project_dir=project)
    assert loaded.transaction_pooler
    assert loaded.database_url == pooled
    with Migrator(loaded) as migrator:  # its own default: the direct URL
        assert migrator.conninfo == direct
        migrator.migrate()
    return loaded


def test_units_carry_their_acting_user_and_role_through_the_pooler(
    settings: Settings, pgbouncer: tuple[str, str]
) -> None:
    role = unique_name("bouncer_role")
    with psycopg.connect(pgbouncer[1], autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    settings = replace(settings, transaction_role=role)
    seen: list[tuple[str, str, str]] = []

    async def run() -> list[tuple[str, str | None]]:
        async with open_async_pool(settings) as pool:
            db = AsyncDatabase(pool, settings)

            async def client(c: int) -> None:
                for i in range(10):
                    user = f"user-{c}-{i}"
                    async with db.transaction(acting_user=user) as conn:
                        cur = await conn.execute(
                            "SELECT current_user, current_setting(%s), %s::text",
                            (SETTING, user),
                        )
                        row = await cur.fetchone()
                        assert row is not None
                        seen.append(row)

            await asyncio.wait_for(asyncio.gather(*(client(c) for c in range(CLIENTS))), 120)
            after = []
            for _ in range(CLIENTS):  # outside a unit: nothing of the units stayed behind
                async with db.connection() as conn:
                    cur = await conn.execute(
                        "SELECT current_user, current_setting(%s, true)", (SETTING,)
                    )
                    found = await cur.fetchone()
                    assert found is not None
                    after.append(found)
            return after

    after = asyncio.run(run())
    assert len(seen) == CLIENTS * 10
    assert all(current == role and acting == user for current, acting, user in seen)
    assert all(current == "postgres" and acting in (None, "") for current, acting in after)


def test_a_retried_unit_through_the_pooler(settings: Settings, pgbouncer: tuple[str, str]) -> None:
    """The first attempt loses to a concurrent update (REPEATABLE READ): retry() runs it again."""
    with psycopg.connect(pgbouncer[1], autocommit=True) as direct:
        direct.execute("INSERT INTO counters (id, n) VALUES (1, 0)")
        attempts = 0
        with open_pool(settings) as pool:
            db = Database(pool, settings)

            def unit() -> int:
                nonlocal attempts
                attempts += 1
                with db.transaction(isolation=IsolationLevel.REPEATABLE_READ) as conn:
                    row = conn.execute("SELECT n FROM counters WHERE id = 1").fetchone()
                    assert row is not None
                    if attempts == 1:  # another client commits meanwhile
                        direct.execute("UPDATE counters SET n = n + 100 WHERE id = 1")
                    conn.execute("UPDATE counters SET n = %s WHERE id = 1", (row[0] + 1,))
                    return int(row[0]) + 1

            result, retries = db.retry(unit)
        final = direct.execute("SELECT n FROM counters WHERE id = 1").fetchone()
    assert (result, retries, attempts) == (101, 1, 2)
    assert final == (101,)


def test_a_pipelined_batch_through_the_pooler(settings: Settings) -> None:
    queries = load_async_queries(settings.sql_dir)

    async def run() -> int:
        async with open_async_pool(settings) as pool:
            db = AsyncDatabase(pool, settings)

            async def batch(c: int) -> None:
                rows = [{"id": c * 1000 + i, "n": i} for i in range(200)]
                async with db.transaction(acting_user=f"batch-{c}") as conn:
                    await queries.counters.add_counter(conn, rows)

            await asyncio.wait_for(asyncio.gather(*(batch(c) for c in range(CLIENTS))), 120)
            async with db.connection() as conn:
                return int(await queries.counters.count_counters(conn))

    assert asyncio.run(run()) == CLIENTS * 200


def test_the_server_enforces_a_units_statement_timeout_through_the_pooler(
    settings: Settings,
) -> None:
    """PgBouncer forwards no startup options: the timeout travels with each unit's BEGIN, so
    the server itself cancels a runaway statement (not only the client's deadline)."""
    settings = replace(settings, statement_timeout_ms=700)
    queries = load_queries(settings.sql_dir)
    with open_pool(settings) as pool:
        db = Database(pool, settings)
        for _ in range(CLIENTS):
            with db.transaction(acting_user="timed") as conn:
                row = conn.execute("SELECT current_setting('statement_timeout')").fetchone()
                assert row == ("700ms",)
                assert queries.counters.count_counters(conn) == 0
        with pytest.raises(QueryCanceled) as caught, db.transaction() as conn:
            conn.execute("SELECT pg_sleep(30)")
    assert "statement timeout" in str(caught.value)


def test_a_frozen_pooler_fails_the_statement_at_the_client_deadline(
    settings: Settings, pgbouncer_pid: int
) -> None:
    """PgBouncer stopped (SIGSTOP) mid-unit: nothing reaches the server, which cannot cancel
    anything; the client's deadline (statement_timeout + 5 s) does, and once PgBouncer runs
    again the next unit works."""
    settings = replace(settings, statement_timeout_ms=300, pool_min_size=1, pool_max_size=2)
    with open_pool(settings) as pool:
        db = Database(pool, settings)

        def frozen_call() -> None:
            with db.transaction() as conn:
                os.kill(pgbouncer_pid, signal.SIGSTOP)
                conn.execute("SELECT 1")

        try:
            with pytest.raises(DeadlineExceeded):
                frozen_call()
        finally:
            os.kill(pgbouncer_pid, signal.SIGCONT)
        with db.transaction() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_session_level_statements_are_refused_through_the_pooler(settings: Settings) -> None:
    with open_pool(settings) as pool:
        db = Database(pool, settings)
        for statement in (
            "LISTEN jobs",
            "SELECT pg_advisory_lock(42)",
            "SET search_path = public",
            "  -- a comment first\nlisten jobs",
        ):
            with pytest.raises(SessionRequired) as caught, db.connection() as conn:
                conn.execute(statement)
            assert "DIRECT_URL" in str(caught.value)
        with db.transaction() as conn:  # what ends with the transaction is fine
            conn.execute("SET LOCAL search_path = public")
            conn.execute("SELECT pg_advisory_xact_lock(42)")
            conn.execute("NOTIFY nobody_listens")


def test_listen_works_on_the_session_conninfo_while_notify_goes_through_the_pooler(
    settings: Settings,
) -> None:
    listener_url = session_conninfo(settings, "LISTEN")
    assert listener_url == settings.direct_url
    with psycopg.connect(listener_url, autocommit=True) as listener:
        listener.execute("LISTEN jobs")
        with open_pool(settings) as pool, Database(pool, settings).transaction() as conn:
            conn.execute("SELECT pg_notify('jobs', 'job-1')")
        got = [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
    assert got == ["job-1"]


def test_without_a_direct_url_session_work_is_refused_naming_it(settings: Settings) -> None:
    bare = replace(settings, direct_url=None)
    with pytest.raises(SessionRequired) as caught:
        Migrator(bare)
    assert "DIRECT_URL" in str(caught.value)
    assert "migrations" in str(caught.value)


def test_prepared_statements_a_pooler_loses_are_explained(settings: Settings) -> None:
    """Told the pooler keeps prepared statements (as PgBouncer 1.21+ can), while this 1.18 does
    not: the next client's ``_pg3_0`` collides with the one the last client left behind on the
    same server connection, and the error says why and what to set."""
    claimed = replace(settings, pooler_prepared_statements=True, pool_min_size=1, pool_max_size=1)
    with open_pool(claimed) as pool, Database(pool, claimed).transaction() as conn:
        conn.execute("SELECT %s::int", (1,), prepare=True)
    # That client is gone; its _pg3_0 stays on the server connection PgBouncer hands out next.
    with open_pool(claimed) as pool:
        db = Database(pool, claimed)
        with pytest.raises(PreparedStatementLost) as caught, db.transaction() as conn:
            conn.execute("SELECT %s::int", (1,), prepare=True)
    message = str(caught.value)
    assert 'prepared statement "_pg3_0" already exists' in message
    assert "PLAINSQL_TRANSACTION_POOLER" in message
    assert "PLAINSQL_POOLER_PREPARED_STATEMENTS" in message
