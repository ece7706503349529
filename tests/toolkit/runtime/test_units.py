"""Units of work that do what services otherwise write out per method: declared constraint
errors, one typed query per unit, "exactly one row or this error" (plainsql.runtime)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import psycopg
import pytest

from plainsql import AsyncConn, Conn, open_async_pool, open_pool
from plainsql.config import Settings
from plainsql.errors import ConfigError, DomainError, QueryError, UniqueViolation
from plainsql.runtime.database import Database
from plainsql.runtime.database_async import AsyncDatabase, at_least_one, exactly_one


class NameTaken(DomainError):
    """Another thing has this name."""


class NoSuchThing(DomainError):
    """No thing with that id."""


# A project of its own: things with a unique name, and a deferred unique code (checked at COMMIT).
SCHEMA = (
    "CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL CONSTRAINT things_name_key UNIQUE,"
    " code int CONSTRAINT things_code_key UNIQUE DEFERRABLE INITIALLY DEFERRED)"
)
ERRORS = {"things_name_key": NameTaken, "things_code_key": NameTaken}


# Typed query functions, as typegen writes them: the connection, then keyword parameters.
async def add_thing(conn: AsyncConn, *, thing_id: int, name: str, code: int | None = None) -> int:
    cur = await conn.execute(
        "INSERT INTO things VALUES (%s, %s, %s)", (thing_id, name, code), prepare=False
    )
    return cur.rowcount


async def get_name(conn: AsyncConn, *, thing_id: int) -> str | None:
    cur = await conn.execute("SELECT name FROM things WHERE id = %s", (thing_id,))
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def rename(conn: AsyncConn, *, thing_id: int, name: str) -> int:
    cur = await conn.execute("UPDATE things SET name = %s WHERE id = %s", (name, thing_id))
    return cur.rowcount


@pytest.fixture
def settings(plainsql_settings: Settings, plainsql_database_url: str) -> Settings:
    with psycopg.connect(plainsql_database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO things VALUES (1, 'one', 1)")
    return replace(plainsql_settings, transaction_role=None, pool_max_size=2)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    async with open_async_pool(settings) as pool:
        yield AsyncDatabase(pool, settings)


async def test_a_declared_constraint_leaves_the_unit_as_its_domain_error(db: AsyncDatabase) -> None:
    declared = db.with_constraint_errors(ERRORS)
    with pytest.raises(NameTaken) as caught:
        await declared.unit().run(add_thing, thing_id=2, name="one")
    assert isinstance(caught.value.__cause__, UniqueViolation)
    assert "things_name_key" in str(caught.value)
    # ... also when the COMMIT trips a deferred constraint, and through a bare connection
    with pytest.raises(NameTaken):
        async with declared.transaction() as conn:
            await add_thing(conn, thing_id=3, name="three", code=1)
    with pytest.raises(NameTaken):
        async with declared.connection() as conn:
            await add_thing(conn, thing_id=4, name="one")
    # an undeclared constraint, and the handle it was derived from, are unchanged
    with pytest.raises(UniqueViolation):
        await declared.unit().run(add_thing, thing_id=1, name="uno")
    with pytest.raises(UniqueViolation):
        await db.unit().run(add_thing, thing_id=5, name="one")
    assert await db.unit().run(get_name, thing_id=3) is None  # nothing of a failed unit stays


async def current_user(conn: AsyncConn) -> str:
    cursor = await conn.execute("SELECT current_user")
    row = await cursor.fetchone()
    assert row is not None
    return str(row[0])


async def test_a_handle_with_another_transaction_role_acts_as_it_on_the_same_pool(
    db: AsyncDatabase,
) -> None:
    """pg_read_all_data: a predefined role of every cluster (the login role, a superuser in
    the test cluster, may SET ROLE to it), so the test creates no cluster-wide role."""
    declared = db.with_constraint_errors(ERRORS)
    reader = declared.with_transaction_role("pg_read_all_data")
    login = (await db.unit().run(current_user),)

    assert reader.pool is db.pool
    assert await reader.unit().run(current_user) == "pg_read_all_data"
    assert (await reader.with_transaction_role(None).unit().run(current_user),) == login
    assert (await db.unit().run(current_user),) == login  # the original handle is unchanged
    assert reader.constraint_errors == declared.constraint_errors
    with pytest.raises(QueryError) as caught:  # a reader writes nothing
        await reader.unit().run(add_thing, thing_id=9, name="nine")
    assert caught.value.sqlstate == "42501"


async def test_one_and_affected_raise_the_given_error_when_no_row_and_roll_back(
    db: AsyncDatabase,
) -> None:
    reading = db.unit(read_only=True)
    assert await reading.one(NoSuchThing("no 1"), get_name, thing_id=1) == "one"
    with pytest.raises(NoSuchThing, match="no 9"):
        await reading.one(NoSuchThing("no 9"), get_name, thing_id=9)
    assert await db.unit().affected(NoSuchThing("no 1"), rename, thing_id=1, name="uno") == 1
    with pytest.raises(NoSuchThing):
        await db.unit().affected(NoSuchThing("no 9"), rename, thing_id=9, name="x")
    with pytest.raises(QueryError, match="read-only transaction"):
        await reading.run(rename, thing_id=1, name="blocked")
    assert await reading.run(get_name, thing_id=1) == "uno"
    assert exactly_one(0, NoSuchThing()) == 0  # only None is "no row"
    with pytest.raises(NoSuchThing):
        exactly_one(None, NoSuchThing())
    assert at_least_one(2, NoSuchThing()) == 2
    with pytest.raises(NoSuchThing, match="none renamed"):
        at_least_one(0, NoSuchThing("none renamed"))


async def test_no_row_may_be_explained_by_a_read_in_the_same_unit(db: AsyncDatabase) -> None:
    """A conditional write that changed nothing says why: the error is read in its unit."""
    reads: list[int] = []

    async def why(conn: AsyncConn) -> DomainError:
        # in the unit: its own uncommitted write is visible
        reads.append(1)
        return NameTaken("one is taken") if await get_name(conn, thing_id=7) else NoSuchThing()

    async def add_then_rename(conn: AsyncConn, *, thing_id: int) -> int:
        await add_thing(conn, thing_id=7, name="seven")
        return await rename(conn, thing_id=thing_id, name="x")

    with pytest.raises(NameTaken):
        await db.unit().affected(why, add_then_rename, thing_id=9)
    assert reads == [1]
    assert await db.unit().run(get_name, thing_id=7) is None  # rolled back with the error
    assert await db.unit().one(why, get_name, thing_id=1) == "one"
    assert reads == [1]  # a row: nothing to explain


def test_the_sync_units_behave_alike(settings: Settings) -> None:
    def get(conn: Conn, *, thing_id: int) -> str | None:
        row = conn.execute("SELECT name FROM things WHERE id = %s", (thing_id,)).fetchone()
        return None if row is None else str(row[0])

    def add(conn: Conn, *, thing_id: int, name: str) -> int:
        return conn.execute("INSERT INTO things VALUES (%s, %s)", (thing_id, name)).rowcount

    with open_pool(settings) as pool:
        db = Database(pool, settings).with_constraint_errors(ERRORS)
        assert db.unit(read_only=True).one(NoSuchThing(), get, thing_id=1) == "one"
        with pytest.raises(NoSuchThing):
            db.unit().one(NoSuchThing(), get, thing_id=9)
        with pytest.raises(NameTaken):
            db.unit().run(add, thing_id=2, name="one")


async def _current_user(conn: AsyncConn) -> str | None:
    row = await (await conn.execute("SELECT current_user")).fetchone()
    return None if row is None else str(row[0])


async def test_a_handle_with_another_role_acts_as_it_and_keeps_the_rest(
    settings: Settings,
) -> None:
    """pg_read_all_data: a role every cluster has (PostgreSQL 14+), which a superuser login
    may SET ROLE to; it can read the table but not write it."""
    configured = replace(settings, transaction_role="pg_read_all_data")
    async with open_async_pool(configured) as pool:
        db = AsyncDatabase(pool, configured).with_constraint_errors(ERRORS)
        login = db.with_transaction_role(None)
        assert await db.unit().run(_current_user) == "pg_read_all_data"
        assert await login.unit().run(_current_user) != "pg_read_all_data"
        writer = login.with_transaction_role(None)
        await writer.unit().run(add_thing, thing_id=10, name="ten")
        reader = writer.with_transaction_role("pg_read_all_data")
        assert await reader.unit(read_only=True).run(get_name, thing_id=10) == "ten"
        with pytest.raises(QueryError) as caught:
            await reader.unit().run(add_thing, thing_id=11, name="eleven")
        assert caught.value.sqlstate == "42501", "the role's privileges, not the login's"
        with pytest.raises(NameTaken):  # the declared constraint errors come along
            await login.unit().run(add_thing, thing_id=12, name="ten")
        assert db.pool is login.pool is reader.pool
    with open_pool(settings) as sync_pool:
        sync_db = Database(sync_pool, settings).with_transaction_role("pg_read_all_data")
        with sync_db.transaction() as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("pg_read_all_data",)
    with pytest.raises(ConfigError, match="role name"):
        db.with_transaction_role("")
