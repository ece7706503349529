"""plainsql.runtime.database_async and its sync twin: units of work, pinned settings, errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import IsolationLevel, sql
from psycopg.pq import TransactionStatus

from plainsql import open_async_pool, open_pool
from plainsql.config import Settings
from plainsql.errors import (
    CommitUncertain,
    ConnectionLost,
    PermissionDenied,
    PoolExhausted,
    PreparedStatementLost,
    QueryError,
    SerializationFailure,
    UniqueViolation,
)
from plainsql.queries import load_async_queries
from plainsql.runtime._deadline import GRACE
from plainsql.runtime.database import Database
from plainsql.runtime.database_async import AsyncDatabase


@pytest.fixture
def small(plainsql_settings: Settings, plainsql_database_url: str) -> Settings:
    """A pool of one connection with a short timeout, and a table of its own."""
    with psycopg.connect(plainsql_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE runtime_t (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO runtime_t VALUES (1, 0)")
    # The toolkit default: no transaction role (the application's pyproject sets one).
    return replace(
        plainsql_settings, pool_min_size=1, pool_max_size=1, pool_timeout=0.5, transaction_role=None
    )


@pytest.fixture
async def db(small: Settings) -> AsyncIterator[AsyncDatabase]:
    async with open_async_pool(small) as pool:
        yield AsyncDatabase(pool, small)


def _terminate(database_url: str, pid: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_a_unit_commits_at_the_end_and_rolls_back_on_an_error(db: AsyncDatabase) -> None:
    async with db.transaction() as conn:
        await conn.execute("UPDATE runtime_t SET n = 1")

    async def change_then_fail() -> None:
        async with db.transaction() as conn:
            await conn.execute("UPDATE runtime_t SET n = 2")
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        await change_then_fail()
    async with db.connection() as conn:
        row = await (await conn.execute("SELECT n FROM runtime_t")).fetchone()
    assert row == (1,)


async def test_a_raw_driver_error_inside_a_unit_comes_out_as_plainsql_s(
    db: AsyncDatabase,
) -> None:
    with pytest.raises(UniqueViolation) as caught:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO runtime_t VALUES (1, 0)")
    assert caught.value.constraint == "runtime_t_pkey"
    assert isinstance(caught.value.__cause__, psycopg.errors.UniqueViolation)


async def test_the_isolation_level_is_pinned_whatever_the_database_default(
    small: Settings, plainsql_database_url: str, plainsql_database: str
) -> None:
    with psycopg.connect(plainsql_database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "ALTER DATABASE {} SET default_transaction_isolation = 'repeatable read'"
            ).format(sql.Identifier(plainsql_database))
        )
    async with open_async_pool(small) as pool:
        db = AsyncDatabase(pool, small)
        async with db.connection() as conn:
            shown = await (await conn.execute("SHOW default_transaction_isolation")).fetchone()
        assert shown == ("repeatable read",), "the database default did change"
        async with db.transaction() as conn:
            level = await (await conn.execute("SHOW transaction_isolation")).fetchone()
        assert level == ("read committed",)
        async with db.transaction(isolation=IsolationLevel.SERIALIZABLE) as conn:
            level = await (await conn.execute("SHOW transaction_isolation")).fetchone()
        assert level == ("serializable",)
        async with db.transaction() as conn:  # the stricter level did not stick
            level = await (await conn.execute("SHOW transaction_isolation")).fetchone()
        assert level == ("read committed",)


async def test_a_read_only_unit_refuses_writes_and_the_next_unit_can_write(
    db: AsyncDatabase,
) -> None:
    with pytest.raises(QueryError) as caught:
        async with db.transaction(read_only=True) as conn:
            await conn.execute("UPDATE runtime_t SET n = 5")
    assert caught.value.sqlstate == "25006"  # read_only_sql_transaction
    async with db.transaction() as conn:
        await conn.execute("UPDATE runtime_t SET n = 6")


async def test_the_acting_user_is_set_for_the_unit_only(db: AsyncDatabase) -> None:
    setting = db.settings.acting_user_setting
    async with db.transaction(acting_user="user-ada") as conn:
        inside = await (
            await conn.execute("SELECT current_setting(%s, true)", (setting,))
        ).fetchone()
    async with db.transaction() as conn:  # the same (only) connection of the pool
        after = await (
            await conn.execute("SELECT current_setting(%s, true)", (setting,))
        ).fetchone()
    assert inside == ("user-ada",)
    assert after in ((None,), ("",))


@pytest.fixture
def unit_role(plainsql_database_url: str) -> Iterator[str]:
    """A NOLOGIN role of this test's own (roles are cluster-wide) that may read runtime_t."""
    role = f"runtime_role_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plainsql_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON runtime_t TO {}").format(sql.Identifier(role)))
    yield role
    with psycopg.connect(plainsql_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def test_a_unit_acts_as_the_transaction_role_and_the_connection_does_not_keep_it(
    small: Settings, unit_role: str
) -> None:
    acting = replace(small, transaction_role=unit_role)
    async with open_async_pool(acting) as pool:
        db = AsyncDatabase(pool, acting)
        async with db.transaction(acting_user="user-ada") as conn:
            cursor = await conn.execute(
                "SELECT current_user, current_setting(%s), (SELECT n FROM runtime_t)",
                (acting.acting_user_setting,),
            )
            assert await cursor.fetchone() == (unit_role, "user-ada", 0)
        with pytest.raises(PermissionDenied) as caught:
            async with db.transaction() as conn:
                await conn.execute("UPDATE runtime_t SET n = 1")
        assert caught.value.sqlstate == "42501"
        async with db.connection() as conn:  # the same (only) connection, as the login role
            cursor = await conn.execute("SELECT current_user = session_user")
            assert await cursor.fetchone() == (True,)
            await conn.execute("UPDATE runtime_t SET n = 2")


async def test_a_single_call_with_an_acting_user_runs_as_the_role_in_one_unit(
    small: Settings, unit_role: str
) -> None:
    acting = replace(small, transaction_role=unit_role)
    async with open_async_pool(acting) as pool:
        db = AsyncDatabase(pool, acting)
        async with db.connection(acting_user="user-bob") as conn:
            cursor = await conn.execute(
                "SELECT current_user, current_setting(%s)", (acting.acting_user_setting,)
            )
            assert await cursor.fetchone() == (unit_role, "user-bob")
            assert conn.info.transaction_status == TransactionStatus.INTRANS


async def test_a_transaction_role_the_login_role_cannot_take_fails_at_begin(
    small: Settings,
) -> None:
    acting = replace(small, transaction_role="no_such_role_anywhere")
    async with open_async_pool(acting) as pool:
        db = AsyncDatabase(pool, acting)
        with pytest.raises(QueryError) as caught:
            async with db.transaction():
                pass
        assert "no_such_role_anywhere" in str(caught.value)


async def test_no_free_connection_in_time_is_pool_exhausted_naming_the_pool(
    db: AsyncDatabase,
) -> None:
    async with db.transaction():
        with pytest.raises(PoolExhausted) as caught:
            await asyncio.wait_for(db.transaction().__aenter__(), timeout=30)
    assert caught.value.size == 1
    assert "pool 'plainsql' (size 1)" in str(caught.value)


async def test_a_connection_killed_inside_a_unit_is_connection_lost_then_work_goes_on(
    db: AsyncDatabase, plainsql_database_url: str
) -> None:

    async def killed_midway() -> None:
        async with db.transaction() as conn:
            await asyncio.to_thread(_terminate, plainsql_database_url, conn.info.backend_pid)
            await conn.execute("UPDATE runtime_t SET n = 7")

    with pytest.raises(ConnectionLost) as caught:
        await killed_midway()
    assert "rolled back" in str(caught.value)
    assert isinstance(caught.value.__cause__, psycopg.Error)
    async with db.transaction() as conn:  # the pool replaced the dead connection
        row = await (await conn.execute("SELECT n FROM runtime_t")).fetchone()
    assert row == (0,)


async def test_a_connection_that_died_while_idle_is_replaced_without_an_error(
    db: AsyncDatabase, plainsql_database_url: str
) -> None:
    async with db.transaction() as conn:
        pid = conn.info.backend_pid
    await asyncio.to_thread(_terminate, plainsql_database_url, pid)
    async with db.transaction() as conn:  # BEGIN fails on the dead one: retried once
        assert conn.info.backend_pid != pid
        await conn.execute("UPDATE runtime_t SET n = 8")


async def test_retry_runs_a_unit_again_after_a_serialization_failure(
    db: AsyncDatabase, plainsql_database_url: str
) -> None:
    attempts = 0

    async def unit() -> int:
        nonlocal attempts
        attempts += 1
        async with db.transaction(isolation=IsolationLevel.REPEATABLE_READ) as conn:
            await conn.execute("SELECT n FROM runtime_t WHERE id = 1")  # the snapshot
            if attempts == 1:  # someone else updates the row meanwhile
                await asyncio.to_thread(_bump, plainsql_database_url)
            await conn.execute("UPDATE runtime_t SET n = n + 10 WHERE id = 1")
        return attempts

    result, retries = await db.retry(unit, attempts=3)
    assert (result, retries) == (2, 1)
    with psycopg.connect(plainsql_database_url) as conn:
        assert conn.execute("SELECT n FROM runtime_t").fetchone() == (11,)


async def test_retry_gives_up_after_its_attempts(db: AsyncDatabase) -> None:
    async def always_fails() -> None:
        raise SerializationFailure("could not serialize access", query_name="x", sqlstate="40001")

    with pytest.raises(SerializationFailure):
        await db.retry(always_fails, attempts=2)


def _bump(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE runtime_t SET n = n + 1 WHERE id = 1")


def test_the_sync_runtime_behaves_alike(small: Settings) -> None:
    with open_pool(small) as pool:
        db = Database(pool, small)
        with db.transaction(acting_user="user-bob") as conn:
            conn.execute("UPDATE runtime_t SET n = 3")
            setting = conn.execute(
                "SELECT current_setting(%s, true)", (small.acting_user_setting,)
            ).fetchone()
        assert setting == ("user-bob",)
        with pytest.raises(UniqueViolation), db.transaction() as conn:
            conn.execute("INSERT INTO runtime_t VALUES (1, 0)")
        with db.connection() as conn:
            assert conn.execute("SELECT n FROM runtime_t").fetchone() == (3,)


async def test_a_connection_lost_inside_a_unit_is_connection_lost_wherever_it_died(
    db: AsyncDatabase, plainsql_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "q.sql").write_text(
        "-- name: count_rows()$\n-- How many rows.\nSELECT count(*) FROM runtime_t;\n"
    )
    queries = load_async_queries(tmp_path / "q.sql")

    async def killed_before(statement: str) -> None:
        async with db.transaction() as conn:
            await asyncio.to_thread(_terminate, plainsql_database_url, conn.info.backend_pid)
            if statement == "named query":
                await queries.count_rows(conn)
            else:
                await conn.execute("SELECT 1")

    for statement in ("named query", "plain statement"):
        with pytest.raises(ConnectionLost) as caught:
            await killed_before(statement)
        assert type(caught.value) is ConnectionLost, statement
        assert isinstance(caught.value.__cause__, psycopg.Error)


async def test_a_read_only_unit_that_loses_its_connection_at_commit_is_not_uncertain(
    db: AsyncDatabase, plainsql_database_url: str
) -> None:

    async def lost_before_commit(read_only: bool) -> None:
        async with db.transaction(read_only=read_only) as conn:
            await conn.execute("SELECT n FROM runtime_t")
            await asyncio.to_thread(_terminate, plainsql_database_url, conn.info.backend_pid)

    for read_only, expected in ((True, ConnectionLost), (False, CommitUncertain)):
        with pytest.raises(ConnectionLost) as caught:
            await lost_before_commit(read_only)
        assert type(caught.value) is expected, read_only


async def test_a_wait_for_a_free_connection_is_bounded_by_the_statement_deadline(
    small: Settings,
) -> None:
    # The pool would let a caller wait ten minutes; the statement deadline (1 s + the grace)
    # is what a caller is promised.
    patient = replace(small, pool_timeout=600.0, statement_timeout_ms=1000)
    async with open_async_pool(patient) as pool:
        db = AsyncDatabase(pool, patient)
        async with db.transaction():
            with pytest.raises(PoolExhausted) as caught:
                await asyncio.wait_for(db.transaction().__aenter__(), timeout=120)
    assert f"within {1 + GRACE:g} s" in str(caught.value)


def test_a_prepared_statement_the_session_already_holds_is_explained(small: Settings) -> None:
    """What a transaction pooler does to a client (another client's ``_pg3_0`` on the server
    connection), done by hand on the real server: the error names the cause and the settings."""
    with open_pool(small) as pool:
        db = Database(pool, small)
        with db.connection() as conn:
            conn.execute("PREPARE _pg3_0 AS SELECT 1")
        with pytest.raises(PreparedStatementLost) as caught, db.transaction() as conn:
            conn.execute("SELECT %s::int", (1,), prepare=True)
        assert 'prepared statement "_pg3_0" already exists' in str(caught.value)
        assert "PLAINSQL_TRANSACTION_POOLER" in str(caught.value)
        with db.connection() as conn:
            conn.execute("DEALLOCATE ALL")
            conn.execute("SELECT %s::int", (1,), prepare=True)  # psycopg prepares it ...
            row = conn.execute("SELECT name FROM pg_prepared_statements").fetchone()
            assert row is not None
            conn.pgconn.exec_(f"DEALLOCATE {row[0]}".encode())  # ... and a pooler loses it
        with pytest.raises(PreparedStatementLost) as caught, db.transaction() as conn:
            conn.execute("SELECT %s::int", (1,))
        assert f'prepared statement "{row[0]}" does not exist' in str(caught.value)
