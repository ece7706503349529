"""plainsql's log records (stdlib logging, ``plainsql.*`` loggers) on a real server.

A dead connection discarded and its unit retried, a statement cut off at its deadline, a
migration runner waiting for the lock, a unit retried after a serialization failure: each
leaves a record a user can filter by logger name, and no record carries a parameter value
or the password of the connection string.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import replace

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from plainsql import AsyncDatabase, Settings, open_async_pool
from plainsql.errors import DeadlineExceeded, SerializationFailure
from plainsql.migrate.lock import LOCK_KEY, migration_lock
from plainsql.runtime.connection_async import AsyncPlainConnection

# A value sent as a query parameter and an acting user: neither may reach a log record.
PARAMETER = "param-value-4f1c"
ACTING_USER = "acting-user-9d2e"
FALLBACK_PASSWORD = "pw-not-logged-7a3b"


@pytest.fixture
def secret_url(plainsql_database_url: str) -> tuple[str, str]:
    """The test database's URL with a password in it (the server's own, or one a trust
    server ignores), and that password."""
    password = conninfo_to_dict(plainsql_database_url).get("password")
    if password:
        return plainsql_database_url, str(password)
    return make_conninfo(plainsql_database_url, password=FALLBACK_PASSWORD), FALLBACK_PASSWORD


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="plainsql")
    return caplog


@pytest.fixture
async def db(
    plainsql_settings: Settings, secret_url: tuple[str, str], logged: pytest.LogCaptureFixture
) -> AsyncIterator[AsyncDatabase]:
    settings = replace(
        plainsql_settings,
        database_url=secret_url[0],
        pool_min_size=1,
        pool_max_size=1,
        transaction_role=None,
    )
    async with open_async_pool(settings, name="logged") as pool:
        yield AsyncDatabase(pool, settings)


def _records(caplog: pytest.LogCaptureFixture, name: str = "plainsql") -> list[logging.LogRecord]:
    """The records of logger ``name`` and its children, the fixtures' setup included."""
    every = caplog.get_records("setup") + caplog.get_records("call")
    return [r for r in every if r.name == name or r.name.startswith(f"{name}.")]


def _assert_nothing_secret(caplog: pytest.LogCaptureFixture, password: str) -> None:
    records = _records(caplog)
    assert records
    for record in records:
        text = record.getMessage()
        for secret in (password, PARAMETER, ACTING_USER):
            assert secret not in text, f"{record.name}: {text}"


def _terminate(database_url: str, pid: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_a_dead_connection_discarded_and_its_unit_retried_is_logged(
    db: AsyncDatabase,
    logged: pytest.LogCaptureFixture,
    plainsql_database_url: str,
    secret_url: tuple[str, str],
) -> None:
    async with db.transaction(acting_user=ACTING_USER) as conn:
        await conn.execute("SELECT %s::text", (PARAMETER,))
        pid = conn.info.backend_pid
    await asyncio.to_thread(_terminate, plainsql_database_url, pid)
    async with db.transaction(acting_user=ACTING_USER) as conn:
        cursor = await conn.execute("SELECT %s::text", (PARAMETER,))
        assert await cursor.fetchone() == (PARAMETER,)
    retried = _records(logged, "plainsql.database")
    assert [r.levelno for r in retried] == [logging.WARNING]
    assert "'logged': a dead connection was discarded" in retried[0].getMessage()
    assert "the unit is retried on another connection" in retried[0].getMessage()
    opened = [r.getMessage() for r in _records(logged, "plainsql.pool")]
    assert any(m.startswith("pool 'logged' open on ") for m in opened)
    assert sum("new connection" in m for m in opened) == 2  # the first, and its replacement
    _assert_nothing_secret(logged, secret_url[1])


async def test_a_statement_cut_off_at_its_deadline_is_logged(
    db: AsyncDatabase, logged: pytest.LogCaptureFixture, secret_url: tuple[str, str]
) -> None:
    async with db.connection() as conn:
        assert isinstance(conn, AsyncPlainConnection)
        conn.deadline = 0.3  # the server's statement_timeout is far longer
        with pytest.raises(DeadlineExceeded):
            await conn.execute("SELECT pg_sleep(30), %s::text", (PARAMETER,))
    cut = _records(logged, "plainsql.deadline")
    assert [r.levelno for r in cut] == [logging.WARNING]
    assert "cut off a statement past its deadline" in cut[0].getMessage()
    assert "pg_sleep" not in cut[0].getMessage()
    _assert_nothing_secret(logged, secret_url[1])


async def test_a_unit_retried_after_a_serialization_failure_is_logged(
    db: AsyncDatabase, logged: pytest.LogCaptureFixture, secret_url: tuple[str, str]
) -> None:
    failures = 1

    async def transfer() -> str:
        nonlocal failures
        async with db.transaction(acting_user=ACTING_USER) as conn:
            if failures:
                failures -= 1
                raise SerializationFailure("could not serialize", query_name="transfer")
            await conn.execute("SELECT %s::text", (PARAMETER,))
        return "done"

    assert await db.retry(transfer) == ("done", 1)
    retried = _records(logged, "plainsql.database")
    assert [r.levelno for r in retried] == [logging.INFO]
    assert "transfer" in retried[0].getMessage()
    assert "retry 1 of 2" in retried[0].getMessage()
    _assert_nothing_secret(logged, secret_url[1])


def test_a_runner_waiting_for_the_migration_lock_is_logged(
    plainsql_settings: Settings,
    logged: pytest.LogCaptureFixture,
    plainsql_empty_database_url: str,
    secret_url: tuple[str, str],
) -> None:
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as holder:
        holder.execute("SET application_name = 'deploy-42'")
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        said: list[str] = []
        release = threading.Timer(
            0.5, holder.execute, ("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        )
        release.start()
        try:
            with migration_lock(
                plainsql_settings,
                plainsql_empty_database_url,
                timeout=60,
                application_name="plainsql-test",
                on_wait=said.append,
            ):
                pass
        finally:
            release.join()
    records = _records(logged, "plainsql.migrate")
    messages = [r.getMessage() for r in records]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    assert messages[0].startswith("waiting for the migration lock, held by pid ")
    assert "application_name 'deploy-42'" in messages[0]
    assert messages[0] == said[0]  # the CLI prints what is logged
    assert messages[1].startswith("took the migration lock after ")
    _assert_nothing_secret(logged, secret_url[1])
